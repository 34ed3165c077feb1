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
// can break running recalculations in production. After an intended
// change behind workflow.GetVersion, add recordings of the new code and
// keep the old ones: they stand for the runs still in flight.
func TestReplay(t *testing.T) {
	for _, file := range []string{
		// Recorded before lanes: one batch at a time (the "parallel-lanes"
		// change replays them at workflow.DefaultVersion).
		"testdata/group_recalculation.json",
		"testdata/group_recalculation_coalesced.json", // a second version mid-pass: the pass restarts
		// Recorded with four lanes side by side.
		"testdata/group_recalculation_lanes.json",
		"testdata/group_recalculation_lanes_coalesced.json", // the lanes drain, then the pass restarts
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
