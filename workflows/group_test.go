package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/scimflow/scimflow/workflows"
)

// Activity stubs: the test environment needs registered functions with
// the right signatures; every test mocks their behaviour.
func startPass(context.Context, workflows.StartGroupPassInput) (workflows.StartGroupPassResult, error) {
	return workflows.StartGroupPassResult{}, nil
}
func groupBatch(context.Context, workflows.GroupBatchInput) (workflows.GroupBatchResult, error) {
	return workflows.GroupBatchResult{}, nil
}
func finishPass(context.Context, workflows.FinishGroupPassInput) (workflows.FinishGroupPassResult, error) {
	return workflows.FinishGroupPassResult{}, nil
}
func processOutbox(context.Context, workflows.OutboxInput) (workflows.OutboxResult, error) {
	return workflows.OutboxResult{}, nil
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.GroupRecalculation, workflow.RegisterOptions{Name: workflows.GroupRecalculationName})
	env.RegisterWorkflowWithOptions(workflows.MemberRecalculation, workflow.RegisterOptions{Name: workflows.MemberRecalculationName})
	env.RegisterActivityWithOptions(startPass, activity.RegisterOptions{Name: workflows.ActivityStartGroupPass})
	env.RegisterActivityWithOptions(groupBatch, activity.RegisterOptions{Name: workflows.ActivityRecalculateGroupBatch})
	env.RegisterActivityWithOptions(finishPass, activity.RegisterOptions{Name: workflows.ActivityFinishGroupPass})
	env.RegisterActivityWithOptions(processOutbox, activity.RegisterOptions{Name: workflows.ActivityProcessOutbox})
	return env
}

// fakeGroup mocks RecalculateGroupBatch over a group whose members are
// ids (in id order): each call returns the next page of its lane after
// its cursor, as the real activity does. It records every call, the page
// it returned, and how many batches ran at once.
type fakeGroup struct {
	ids []string
	// late members were added after the pass's cutoff: paged, but not
	// counted (when overcount is false).
	late      map[string]bool
	overcount bool // count late members too, as a store whose clocks disagree can

	mu         sync.Mutex
	calls      []workflows.GroupBatchInput
	pages      [][]string
	running    int // batches started and not yet returned
	maxRunning int
}

// memberIDs returns n member ids in id order, spread over the first hex
// character as UUIDs are: 0000, 0001, 1002, ..., f024 for n = 25.
func memberIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%x%03d", i*16/n, i)
	}
	return ids
}

func newGroup(n int) *fakeGroup { return &fakeGroup{ids: memberIDs(n)} }

// mock makes g answer env's batches, each taking took on the test clock.
func (g *fakeGroup) mock(env *testsuite.TestWorkflowEnvironment, took time.Duration) {
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name != workflows.ActivityRecalculateGroupBatch {
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		g.running++
		g.maxRunning = max(g.maxRunning, g.running)
	})
	env.OnActivity(workflows.ActivityRecalculateGroupBatch, mock.Anything, mock.Anything).After(took).Return(g.batch)
}

func (g *fakeGroup) batch(_ context.Context, in workflows.GroupBatchInput) (workflows.GroupBatchResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	g.calls = append(g.calls, in)
	var page []string
	for _, id := range g.ids {
		if id > in.After && id >= in.From && (in.To == "" || id < in.To) && len(page) < in.Limit {
			page = append(page, id)
		}
	}
	g.pages = append(g.pages, page)
	res := workflows.GroupBatchResult{Next: in.After, Changed: len(page), Done: len(page) < in.Limit}
	for _, id := range page {
		if !g.late[id] || g.overcount {
			res.Processed++
		}
	}
	if len(page) > 0 {
		res.Next = page[len(page)-1]
	}
	return res, nil
}

// failing is a batch that fails with err.
func (g *fakeGroup) failing(err error) func(context.Context, workflows.GroupBatchInput) (workflows.GroupBatchResult, error) {
	return func(context.Context, workflows.GroupBatchInput) (workflows.GroupBatchResult, error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.running--
		return workflows.GroupBatchResult{}, err
	}
}

// inFlight reports how many batches are running.
func (g *fakeGroup) inFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running
}

// checkCoverage checks that the batches of version, in call order, read
// every member exactly once, each page within its lane, each lane's
// cursor following its previous page.
func (g *fakeGroup) checkCoverage(t *testing.T, version int64) {
	t.Helper()
	seen := map[string]int{}
	cursor := map[[2]string]string{} // lane → its cursor
	for i, c := range g.calls {
		if c.Version != version {
			continue
		}
		lane := [2]string{c.From, c.To}
		if c.After != cursor[lane] {
			t.Errorf("batch %d on lane %q: cursor %q, want %q", i, lane, c.After, cursor[lane])
		}
		for _, id := range g.pages[i] {
			if id < c.From || (c.To != "" && id >= c.To) {
				t.Errorf("batch %d on lane %q read %s", i, lane, id)
			}
			seen[id]++
		}
		if len(g.pages[i]) > 0 {
			cursor[lane] = g.pages[i][len(g.pages[i])-1]
		}
	}
	for _, id := range g.ids {
		if seen[id] != 1 {
			t.Errorf("member %s read %d times at version %d, want once", id, seen[id], version)
		}
	}
}

// lanes returns the distinct lanes of the batches of version, by lower
// bound.
func (g *fakeGroup) lanes(version int64) [][2]string {
	var out [][2]string
	seen := map[[2]string]bool{}
	for _, c := range g.calls {
		if l := [2]string{c.From, c.To}; c.Version == version && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

// finishes records the FinishGroupPass calls of env; latest is the
// mapping version the database reports.
func finishes(env *testsuite.TestWorkflowEnvironment, latest int64) *[]workflows.FinishGroupPassInput {
	var calls []workflows.FinishGroupPassInput
	env.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.FinishGroupPassInput) (workflows.FinishGroupPassResult, error) {
			calls = append(calls, in)
			return workflows.FinishGroupPassResult{LatestVersion: latest, GroupExists: true}, nil
		})
	return &calls
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.Progress {
	t.Helper()
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var p workflows.Progress
	if err := env.GetWorkflowResult(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGroupRecalculationPagesThroughMembers(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil).Once()
	g := newGroup(25)
	g.mock(env, 0)
	finished := finishes(env, 1)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 3})
	p := result(t, env)
	// Default lanes: members 0-6 | 7-12 | 13-18 | 19-24, three batches each
	// (the last page of a lane of six is empty).
	if p.Status != workflows.StatusCompleted || p.Processed != 25 || p.Total != 25 || p.Batches != 12 || p.Passes != 1 {
		t.Errorf("result = %+v, want completed, 25 of 25 in 12 batches, 1 pass", p)
	}
	want := [][2]string{{"", "4"}, {"4", "8"}, {"8", "c"}, {"c", ""}}
	if diff := cmp.Diff(want, g.lanes(1)); diff != "" {
		t.Errorf("lanes (-want +got):\n%s", diff)
	}
	g.checkCoverage(t, 1)
	if len(*finished) != 1 || (*finished)[0].Version != 1 || (*finished)[0].Processed != 25 || (*finished)[0].Error != "" {
		t.Errorf("FinishGroupPass calls = %+v", *finished)
	}
}

// TestGroupRecalculationRunsLanesConcurrently: with three lanes, three
// batches run at once, never more, each lane paging its own range; the
// pass takes as long as its longest lane, not as the sum of its batches.
func TestGroupRecalculationRunsLanesConcurrently(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	g := newGroup(25)
	g.mock(env, time.Second)
	finishes(env, 1)
	start := env.Now()
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 2, Lanes: 3})
	p := result(t, env)
	if p.Processed != 25 || p.Batches != 15 {
		t.Errorf("result = %+v, want 25 processed in 15 batches", p)
	}
	if g.maxRunning != 3 {
		t.Errorf("at most %d batches ran at once, want 3", g.maxRunning)
	}
	want := [][2]string{{"", "5"}, {"5", "a"}, {"a", ""}}
	if diff := cmp.Diff(want, g.lanes(1)); diff != "" {
		t.Errorf("lanes (-want +got):\n%s", diff)
	}
	g.checkCoverage(t, 1)
	// Lanes of 8, 8 and 9 members in pages of 2: five rounds of 1 s.
	if took := env.Now().Sub(start); took > 6*time.Second {
		t.Errorf("the pass took %v, want about 5s: the lanes did not overlap", took)
	}
}

// TestGroupRecalculationBeforeLanes: a run that started before the
// "parallel-lanes" change goes on as it began: one batch at a time over
// the whole id range, whatever Lanes says.
func TestGroupRecalculationBeforeLanes(t *testing.T) {
	env := newEnv(t)
	env.OnGetVersion("parallel-lanes", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	g := newGroup(25)
	g.mock(env, time.Second)
	finishes(env, 1)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 10, Lanes: 4})
	p := result(t, env)
	if p.Processed != 25 || p.Batches != 3 || g.maxRunning != 1 {
		t.Errorf("result = %+v, %d batches at once; want 25 processed in 3 batches, one at a time", p, g.maxRunning)
	}
	if diff := cmp.Diff([][2]string{{"", ""}}, g.lanes(1)); diff != "" {
		t.Errorf("lanes (-want +got):\n%s", diff)
	}
	g.checkCoverage(t, 1)
}

// TestGroupRecalculationCoalesces sends a newer mapping version in the
// middle of a pass: the workflow restarts the pass with it, and closes the
// recalculations once, at the newest version.
func TestGroupRecalculationCoalesces(t *testing.T) {
	env := newEnv(t)
	var starts []int64
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.StartGroupPassInput) (workflows.StartGroupPassResult, error) {
			starts = append(starts, in.Version)
			return workflows.StartGroupPassResult{Total: 25}, nil
		})
	g := newGroup(25)
	g.mock(env, time.Second)
	finished := finishes(env, 3)
	// Two "Update Group" clicks while the first batches run.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalMappingChanged, workflows.MappingChanged{Version: 2})
		env.SignalWorkflow(workflows.SignalMappingChanged, workflows.MappingChanged{Version: 3})
	}, 1500*time.Millisecond)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 2})
	p := result(t, env)
	if diff := cmp.Diff([]int64{1, 3}, starts); diff != "" {
		t.Errorf("passes started at versions (-want +got):\n%s", diff)
	}
	if len(*finished) != 1 || (*finished)[0].Version != 3 {
		t.Errorf("passes finished: %+v, want one, at version 3", *finished)
	}
	// The second pass starts every lane over from its first member.
	g.checkCoverage(t, 3)
	if p.Processed != 25 || p.Version != 3 || p.Passes != 2 {
		t.Errorf("result = %+v, want 25 processed at version 3 in 2 passes", p)
	}
}

// TestGroupRecalculationDrainsLanesBeforeRestart: when a newer version
// arrives, the lanes start no new batch; the batches in flight finish,
// and only then does the pass restart, every lane from its start.
func TestGroupRecalculationDrainsLanesBeforeRestart(t *testing.T) {
	env := newEnv(t)
	g := newGroup(25)
	var starts []int64
	inFlightAtStart := -1
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.StartGroupPassInput) (workflows.StartGroupPassResult, error) {
			starts = append(starts, in.Version)
			if in.Version == 2 {
				inFlightAtStart = g.inFlight()
			}
			return workflows.StartGroupPassResult{Total: 25}, nil
		})
	g.mock(env, time.Second)
	finishes(env, 2)
	// Version 2 arrives during the second round of batches (1 s to 2 s).
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalMappingChanged, workflows.MappingChanged{Version: 2})
	}, 1500*time.Millisecond)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 2, Lanes: 3})
	p := result(t, env)
	if diff := cmp.Diff([]int64{1, 2}, starts); diff != "" {
		t.Errorf("passes started at versions (-want +got):\n%s", diff)
	}
	if inFlightAtStart != 0 {
		t.Errorf("%d batches were in flight when the pass restarted, want 0", inFlightAtStart)
	}
	v1 := 0
	for _, c := range g.calls {
		if c.Version == 1 {
			v1++
		}
	}
	if v1 != 6 {
		t.Errorf("%d batches at version 1, want 6: two rounds of three lanes, none started after the signal was seen", v1)
	}
	if g.maxRunning != 3 {
		t.Errorf("at most %d batches ran at once, want 3", g.maxRunning)
	}
	g.checkCoverage(t, 2)
	if p.Processed != 25 || p.Version != 2 || p.Passes != 2 {
		t.Errorf("result = %+v, want 25 processed at version 2 in 2 passes", p)
	}
}

// TestGroupRecalculationFindsNewerVersionInDatabase covers a lost signal:
// the database says a newer mapping exists when the pass ends.
func TestGroupRecalculationFindsNewerVersionInDatabase(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	newGroup(25).mock(env, 0)
	latest := []int64{2, 2}
	env.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.FinishGroupPassInput) (workflows.FinishGroupPassResult, error) {
			v := latest[0]
			latest = latest[1:]
			return workflows.FinishGroupPassResult{LatestVersion: v, GroupExists: true}, nil
		})
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1})
	if p := result(t, env); p.Version != 2 || p.Passes != 2 {
		t.Errorf("result = %+v; want a second pass at version 2", p)
	}
}

func TestGroupRecalculationRetriesAFailingBatch(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	g := newGroup(25)
	env.OnActivity(workflows.ActivityRecalculateGroupBatch, mock.Anything, mock.Anything).Return(g.failing(errors.New("connection reset by peer"))).Times(2)
	g.mock(env, 0)
	finishes(env, 1)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 25})
	if p := result(t, env); p.Processed != 25 {
		t.Errorf("result = %+v, want 25 processed", p)
	}
	env.AssertNumberOfCalls(t, workflows.ActivityRecalculateGroupBatch, 4+2) // a batch per lane, and the two failed attempts
	g.checkCoverage(t, 1)
}

func TestGroupRecalculationStopsWhenGroupIsGone(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{},
		temporal.NewNonRetryableApplicationError("Group g not found", workflows.ErrNotFound, nil))
	var recorded string
	env.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.FinishGroupPassInput) (workflows.FinishGroupPassResult, error) {
			recorded = in.Error
			return workflows.FinishGroupPassResult{}, nil
		})
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1})
	if err := env.GetWorkflowError(); err != nil {
		t.Errorf("a deleted group failed the workflow: %v", err)
	}
	env.AssertNumberOfCalls(t, workflows.ActivityStartGroupPass, 1) // not retried
	if recorded != "Group g not found" {
		t.Errorf("recorded error %q", recorded)
	}
}

// TestGroupRecalculationLaneFailureWaitsForTheOthers: when one lane finds
// the group gone, the batches of the other lanes finish before the
// failure is recorded and the workflow ends: no batch outlives it.
func TestGroupRecalculationLaneFailureWaitsForTheOthers(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	g := newGroup(25)
	env.OnActivity(workflows.ActivityRecalculateGroupBatch, mock.Anything, mock.MatchedBy(func(in workflows.GroupBatchInput) bool { return in.From == "5" })).
		Return(g.failing(temporal.NewNonRetryableApplicationError("Group g not found", workflows.ErrNotFound, nil)))
	g.mock(env, time.Second)
	inFlight := -1
	env.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.FinishGroupPassInput) (workflows.FinishGroupPassResult, error) {
			if in.Error == "Group g not found" {
				inFlight = g.inFlight()
			}
			return workflows.FinishGroupPassResult{}, nil
		})
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 2, Lanes: 3})
	if err := env.GetWorkflowError(); err != nil {
		t.Errorf("a deleted group failed the workflow: %v", err)
	}
	if inFlight != 0 {
		t.Errorf("%d batches in flight when the failure was recorded, want 0", inFlight)
	}
	if len(g.calls) != 2 {
		t.Errorf("%d batches of the other lanes ran, want 2: none started after the failure", len(g.calls))
	}
}

// TestGroupRecalculationContinuesAsNewWithLanes: a full run lets its
// batches in flight finish, then hands every lane's cursor to the next
// run, which goes on from there without a new pass.
func TestGroupRecalculationContinuesAsNewWithLanes(t *testing.T) {
	env := newEnv(t)
	cutoff := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25, Cutoff: cutoff}, nil)
	g := newGroup(25)
	g.mock(env, time.Second)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 4, BatchSize: 2, BatchesPerRun: 4, Lanes: 3})
	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("error = %v, want continue-as-new", env.GetWorkflowError())
	}
	if n := g.inFlight(); n != 0 {
		t.Errorf("%d batches in flight when the run continued as new, want 0", n)
	}
	var next workflows.GroupInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	// The fourth batch fills the run; the two others in flight finish:
	// two pages of two members in each lane.
	want := &workflows.GroupState{Target: 4, PassVersion: 4, Started: true, Total: 25, Processed: 12, Changed: 12, Batches: 6, Passes: 1,
		Lanes:  []workflows.Lane{{To: "5", Cursor: g.ids[3]}, {From: "5", To: "a", Cursor: g.ids[11]}, {From: "a", Cursor: g.ids[19]}},
		Cutoff: cutoff}
	if diff := cmp.Diff(want, next.State, cmpopts.IgnoreFields(workflows.GroupState{}, "StartedAt", "PassStartedAt")); diff != "" {
		t.Fatalf("carried state (-want +got):\n%s", diff)
	}
	if next.Version != 4 || next.Lanes != 3 {
		t.Errorf("next input = %+v, want version 4, 3 lanes", next)
	}
	// The next run picks up every lane where the first stopped.
	env2 := newEnv(t)
	g.mock(env2, time.Second)
	finished := finishes(env2, 4)
	next.BatchesPerRun = 0
	env2.ExecuteWorkflow(workflows.GroupRecalculationName, next)
	p := result(t, env2)
	if p.Processed != 25 || p.Batches != 15 {
		t.Errorf("continued run: %+v, want 25 processed in 15 batches", p)
	}
	env2.AssertNotCalled(t, workflows.ActivityStartGroupPass, mock.Anything, mock.Anything)
	g.checkCoverage(t, 4)
	for _, c := range g.calls {
		if !c.Cutoff.Equal(cutoff) {
			t.Errorf("batch %+v: cutoff %v, want the pass's %v", c, c.Cutoff, cutoff)
		}
	}
	if len(*finished) != 1 || (*finished)[0].Processed != 25 {
		t.Errorf("FinishGroupPass calls = %+v", *finished)
	}
}

// TestGroupRecalculationContinuesFromSingleCursor: state carried from a
// run before lanes has one cursor and no lanes: its pass goes on as one
// lane over every member, from that cursor.
func TestGroupRecalculationContinuesFromSingleCursor(t *testing.T) {
	env := newEnv(t)
	g := newGroup(25)
	g.mock(env, time.Second)
	finished := finishes(env, 4)
	old := &workflows.GroupState{Target: 4, PassVersion: 4, Started: true, Cursor: g.ids[9], Total: 25, Processed: 10, Changed: 10, Batches: 2, Passes: 1}
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 4, BatchSize: 5, State: old})
	p := result(t, env)
	env.AssertNotCalled(t, workflows.ActivityStartGroupPass, mock.Anything, mock.Anything)
	if p.Processed != 25 || g.maxRunning != 1 || len(g.calls) != 4 {
		t.Errorf("result = %+v after %d batches, %d at once; want 25 processed in 3 more batches and an empty one, one at a time", p, len(g.calls), g.maxRunning)
	}
	if c := g.calls[0]; c.From != "" || c.To != "" || c.After != g.ids[9] || !c.Cutoff.IsZero() {
		t.Errorf("first batch = %+v, want the whole range after %s, without a cutoff", c, g.ids[9])
	}
	if len(*finished) != 1 || (*finished)[0].Processed != 25 {
		t.Errorf("FinishGroupPass calls = %+v", *finished)
	}
}

// TestGroupRecalculationProgressNeverExceedsTotal: members added during a
// pass are recalculated but do not count towards it, so the pass reports
// exactly its total; and when a store counts some anyway (clocks that
// disagree), the reported progress is clamped to the total.
func TestGroupRecalculationProgressNeverExceedsTotal(t *testing.T) {
	for _, overcount := range []bool{false, true} {
		t.Run(fmt.Sprint("overcount=", overcount), func(t *testing.T) {
			env := newEnv(t)
			cutoff := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 20, Cutoff: cutoff}, nil)
			g := newGroup(25)
			g.late, g.overcount = map[string]bool{}, overcount
			for _, i := range []int{2, 8, 13, 17, 24} { // in every lane
				g.late[g.ids[i]] = true
			}
			g.mock(env, time.Second)
			finished := finishes(env, 1)
			var seen []workflows.Progress
			for s := 1; s <= 4; s++ {
				seen = append(seen, *progressAt(t, env, time.Duration(s)*time.Second+500*time.Millisecond))
			}
			env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 3})
			p := result(t, env)
			g.checkCoverage(t, 1) // late members are recalculated too
			if p.Processed != 20 || p.Total != 20 {
				t.Errorf("result = %+v, want 20 of 20", p)
			}
			for _, q := range seen {
				if q.Processed > q.Total {
					t.Errorf("progress %d of %d", q.Processed, q.Total)
				}
			}
			for _, c := range g.calls {
				if !c.Cutoff.Equal(cutoff) || c.ProcessedSoFar > 20 {
					t.Errorf("batch %+v: want cutoff %v and at most 20 processed so far", c, cutoff)
				}
			}
			if len(*finished) != 1 || (*finished)[0].Processed != 20 {
				t.Errorf("FinishGroupPass calls = %+v, want 20 processed", *finished)
			}
		})
	}
}

func TestGroupRecalculationProgressQuery(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 100}, nil)
	newGroup(100).mock(env, 10*time.Second)
	finishes(env, 1)
	mid := progressAt(t, env, 15*time.Second)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 10})
	if mid.Status != workflows.StatusRunning || mid.Processed != 40 || mid.Total != 100 || mid.Batches != 4 {
		t.Errorf("progress after one round of four lanes = %+v", mid)
	}
	// 40 members took 10s: 60 left should take about 15s.
	if mid.ETASeconds < 10 || mid.ETASeconds > 25 {
		t.Errorf("ETA = %ds, want about 15s", mid.ETASeconds)
	}
}

// TestGroupRecalculationETAFollowsThePass: a coalesced update restarts the
// pass and its count, so the ETA is measured from the restart, not from
// the start of the workflow.
func TestGroupRecalculationETAFollowsThePass(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	newGroup(25).mock(env, 10*time.Second)
	finishes(env, 2)
	// Version 2 arrives during the first batch: the pass restarts at 10s.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalMappingChanged, workflows.MappingChanged{Version: 2})
	}, 5*time.Second)
	mid := progressAt(t, env, 25*time.Second)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 10, Lanes: 1})
	if mid.Version != 2 || mid.Passes != 2 || mid.Processed != 10 {
		t.Fatalf("progress at 25s = %+v, want 10 processed in the second pass, at version 2", mid)
	}
	if got, want := mid.PassStartedAt.Sub(mid.StartedAt), 10*time.Second; got != want {
		t.Errorf("pass started %v after the workflow, want %v", got, want)
	}
	// 10 members in the 15s since the restart: 15 left take 22.5s. Measured
	// from the workflow's start it would be 37.5s.
	if mid.ETASeconds != 22 {
		t.Errorf("ETA = %ds, want 22s", mid.ETASeconds)
	}
	if p := result(t, env); p.Status != workflows.StatusCompleted || p.ETASeconds != -1 {
		t.Errorf("result = %+v, want completed without an ETA", p)
	}
}

func TestMemberRecalculationCoalescesAndIdles(t *testing.T) {
	env := newEnv(t)
	batches := []workflows.OutboxResult{{Users: 1000, More: true}, {Users: 10, More: false}, {Users: 3}}
	env.OnActivity(workflows.ActivityProcessOutbox, mock.Anything, mock.Anything).After(time.Second).Return(
		func(_ context.Context, in workflows.OutboxInput) (workflows.OutboxResult, error) {
			r := batches[0]
			batches = batches[1:]
			return r, nil
		})
	// A burst of signals during the first batch adds no batch of its own:
	// the second batch, needed anyway, covers it.
	env.RegisterDelayedCallback(func() {
		for range 50 {
			env.SignalWorkflow(workflows.SignalOutbox, nil)
		}
	}, 500*time.Millisecond)
	// A signal while idle wakes the workflow for a third batch; a minute of
	// quiet after that ends it.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalOutbox, nil) }, 30*time.Second)
	env.ExecuteWorkflow(workflows.MemberRecalculationName, workflows.MembersInput{OrgID: "o", Idle: time.Minute})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	env.AssertNumberOfCalls(t, workflows.ActivityProcessOutbox, 3)
	var p workflows.Progress
	env.GetWorkflowResult(&p)
	if p.Processed != 1013 || p.Status != workflows.StatusCompleted {
		t.Errorf("result = %+v", p)
	}
}

// progressAt queries the workflow's progress at the given point of its
// (test) clock; the result is filled in when that point is reached.
func progressAt(t *testing.T, env *testsuite.TestWorkflowEnvironment, at time.Duration) *workflows.Progress {
	t.Helper()
	var p workflows.Progress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryProgress)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(&p); err != nil {
			t.Errorf("decode progress: %v", err)
		}
	}, at)
	return &p
}
