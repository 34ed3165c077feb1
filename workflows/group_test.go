package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

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

// pages mocks a group of n members read in pages of size: each call
// returns the next page, as the real activity does from its cursor.
func pages(env *testsuite.TestWorkflowEnvironment, size int, took time.Duration) *[]workflows.GroupBatchInput {
	var calls []workflows.GroupBatchInput
	env.OnActivity(workflows.ActivityRecalculateGroupBatch, mock.Anything, mock.Anything).After(took).Return(
		func(_ context.Context, in workflows.GroupBatchInput) (workflows.GroupBatchResult, error) {
			calls = append(calls, in)
			start := 0
			if in.After != "" {
				start = int(in.After[1]-'0')*10 + int(in.After[2]-'0')
			}
			n := min(size, 25-start)
			return workflows.GroupBatchResult{Next: cursor(start + n), Processed: n, Changed: n, Done: start+n >= 25}, nil
		})
	return &calls
}

// cursor encodes a member position as the user id the activity returns.
func cursor(i int) string { return string([]byte{'u', byte('0' + i/10), byte('0' + i%10)}) }

func TestGroupRecalculationPagesThroughMembers(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil).Once()
	calls := pages(env, 10, 0)
	var finished []workflows.FinishGroupPassInput
	env.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.FinishGroupPassInput) (workflows.FinishGroupPassResult, error) {
			finished = append(finished, in)
			return workflows.FinishGroupPassResult{LatestVersion: 1, GroupExists: true}, nil
		})
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 10})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var p workflows.Progress
	env.GetWorkflowResult(&p)
	if p.Status != workflows.StatusCompleted || p.Processed != 25 || p.Total != 25 || p.Batches != 3 || p.Passes != 1 {
		t.Errorf("result = %+v, want completed, 25 of 25 in 3 batches, 1 pass", p)
	}
	if got := []string{(*calls)[0].After, (*calls)[1].After, (*calls)[2].After}; got[0] != "" || got[1] != "u10" || got[2] != "u20" {
		t.Errorf("cursors = %q, want \"\", u10, u20", got)
	}
	if len(finished) != 1 || finished[0].Version != 1 || finished[0].Processed != 25 || finished[0].Error != "" {
		t.Errorf("FinishGroupPass calls = %+v", finished)
	}
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
	calls := pages(env, 10, time.Second)
	var finished []int64
	env.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.FinishGroupPassInput) (workflows.FinishGroupPassResult, error) {
			finished = append(finished, in.Version)
			return workflows.FinishGroupPassResult{LatestVersion: 3, GroupExists: true}, nil
		})
	// Two "Update Group" clicks while the first batch runs.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalMappingChanged, workflows.MappingChanged{Version: 2})
		env.SignalWorkflow(workflows.SignalMappingChanged, workflows.MappingChanged{Version: 3})
	}, 1500*time.Millisecond)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 10})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(starts) != 2 || starts[0] != 1 || starts[1] != 3 {
		t.Errorf("passes started at versions %v, want [1 3]", starts)
	}
	if len(finished) != 1 || finished[0] != 3 {
		t.Errorf("passes finished at versions %v, want [3]", finished)
	}
	// The second pass starts over from the first member.
	restarted := false
	for i, c := range *calls {
		if i > 0 && c.After == "" && c.Version == 3 {
			restarted = true
		}
	}
	if !restarted {
		t.Errorf("the pass was not restarted with version 3: %+v", *calls)
	}
	var p workflows.Progress
	env.GetWorkflowResult(&p)
	if p.Processed != 25 || p.Version != 3 || p.Passes != 2 {
		t.Errorf("result = %+v, want 25 processed at version 3 in 2 passes", p)
	}
}

// TestGroupRecalculationFindsNewerVersionInDatabase covers a lost signal:
// the database says a newer mapping exists when the pass ends.
func TestGroupRecalculationFindsNewerVersionInDatabase(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	pages(env, 30, 0)
	latest := []int64{2, 2}
	env.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.FinishGroupPassInput) (workflows.FinishGroupPassResult, error) {
			v := latest[0]
			latest = latest[1:]
			return workflows.FinishGroupPassResult{LatestVersion: v, GroupExists: true}, nil
		})
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1})
	var p workflows.Progress
	env.GetWorkflowResult(&p)
	if env.GetWorkflowError() != nil || p.Version != 2 || p.Passes != 2 {
		t.Errorf("result = %+v, err %v; want a second pass at version 2", p, env.GetWorkflowError())
	}
}

func TestGroupRecalculationRetriesAFailingBatch(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	env.OnActivity(workflows.ActivityRecalculateGroupBatch, mock.Anything, mock.Anything).Return(workflows.GroupBatchResult{}, errors.New("connection reset by peer")).Times(2)
	pages(env, 25, 0)
	env.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(workflows.FinishGroupPassResult{LatestVersion: 1, GroupExists: true}, nil)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 25})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("a transient failure failed the workflow: %v", err)
	}
	env.AssertNumberOfCalls(t, workflows.ActivityRecalculateGroupBatch, 3)
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

func TestGroupRecalculationContinuesAsNewWithProgress(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	pages(env, 5, 0)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 4, BatchSize: 5, BatchesPerRun: 2})
	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("error = %v, want continue-as-new", env.GetWorkflowError())
	}
	var next workflows.GroupInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if st == nil || st.Cursor != "u10" || st.Processed != 10 || st.Total != 25 || st.PassVersion != 4 || !st.Started || next.Version != 4 {
		t.Fatalf("carried state = %+v (input %+v), want cursor u10, 10 of 25 processed at version 4", st, next)
	}
	// The next run picks up where the first stopped, without a new pass.
	env2 := newEnv(t)
	calls := pages(env2, 5, 0)
	env2.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(workflows.FinishGroupPassResult{LatestVersion: 4, GroupExists: true}, nil)
	next.BatchesPerRun = 0
	env2.ExecuteWorkflow(workflows.GroupRecalculationName, next)
	var p workflows.Progress
	env2.GetWorkflowResult(&p)
	if env2.GetWorkflowError() != nil || p.Processed != 25 || (*calls)[0].After != "u10" {
		t.Errorf("continued run: %+v, err %v, first cursor %q", p, env2.GetWorkflowError(), (*calls)[0].After)
	}
	env2.AssertNotCalled(t, workflows.ActivityStartGroupPass, mock.Anything, mock.Anything)
}

func TestGroupRecalculationProgressQuery(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	pages(env, 10, 10*time.Second)
	env.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(workflows.FinishGroupPassResult{LatestVersion: 1, GroupExists: true}, nil)
	mid := progressAt(t, env, 15*time.Second)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 10})
	if mid.Status != workflows.StatusRunning || mid.Processed != 10 || mid.Total != 25 || mid.Batches != 1 {
		t.Errorf("progress after one batch = %+v", mid)
	}
	// 10 members took 10s: 15 left should take about 15s.
	if mid.ETASeconds < 10 || mid.ETASeconds > 25 {
		t.Errorf("ETA = %ds, want about 22s", mid.ETASeconds)
	}
}

// TestGroupRecalculationETAFollowsThePass: a coalesced update restarts the
// pass and its count, so the ETA is measured from the restart, not from
// the start of the workflow.
func TestGroupRecalculationETAFollowsThePass(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(workflows.ActivityStartGroupPass, mock.Anything, mock.Anything).Return(workflows.StartGroupPassResult{Total: 25}, nil)
	pages(env, 10, 10*time.Second)
	env.OnActivity(workflows.ActivityFinishGroupPass, mock.Anything, mock.Anything).Return(workflows.FinishGroupPassResult{LatestVersion: 2, GroupExists: true}, nil)
	// Version 2 arrives during the first batch: the pass restarts at 10s.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalMappingChanged, workflows.MappingChanged{Version: 2})
	}, 5*time.Second)
	mid := progressAt(t, env, 25*time.Second)
	env.ExecuteWorkflow(workflows.GroupRecalculationName, workflows.GroupInput{OrgID: "o", GroupID: "g", Version: 1, BatchSize: 10})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
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
	var p workflows.Progress
	env.GetWorkflowResult(&p)
	if p.Status != workflows.StatusCompleted || p.ETASeconds != -1 {
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
