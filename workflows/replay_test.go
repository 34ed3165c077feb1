package workflows_test

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/scimflow/scimflow/workflows"
)

// TestReplay replays histories recorded from real runs (see
// worker/history_test.go). A change that makes the workflow code
// non-deterministic for histories already in flight fails here, before it
// can break running recalculations in production. After an intended,
// versioned change, record them again.
func TestReplay(t *testing.T) {
	for _, file := range []string{
		"testdata/group_recalculation.json",
		"testdata/group_recalculation_coalesced.json", // a second version mid-pass: the pass restarts
		"testdata/member_recalculation.json",
	} {
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflowWithOptions(workflows.GroupRecalculation, workflow.RegisterOptions{Name: workflows.GroupRecalculationName})
		r.RegisterWorkflowWithOptions(workflows.MemberRecalculation, workflow.RegisterOptions{Name: workflows.MemberRecalculationName})
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
			t.Errorf("replay %s: %v", file, err)
		}
	}
}
