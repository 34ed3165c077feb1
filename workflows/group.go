package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// GroupInput starts (or continues) a group's recalculation.
type GroupInput struct {
	OrgID     string
	GroupID   string
	Version   int64 // mapping version that asked for the recalculation
	BatchSize int   // users per activity; 0 means DefaultBatchSize
	// BatchesPerRun bounds a run's history before it continues as new;
	// 0 means batchesPerRun.
	BatchesPerRun int
	State         *GroupState
}

// GroupState is carried across continue-as-new, so a long recalculation
// keeps its cursor and progress.
type GroupState struct {
	Target        int64 // highest mapping version seen
	PassVersion   int64 // version of the pass under way
	Started       bool  // StartGroupPass ran for PassVersion
	Cursor        string
	Total         int64
	Processed     int64
	Changed       int64
	Batches       int64
	Passes        int64
	StartedAt     time.Time // first pass
	PassStartedAt time.Time
}

// activityOptions: batches heartbeat; transient failures (a database
// restart or failover, timeouts) are retried for as long as they last,
// with backoff capped at 30 s, so a recalculation waits out an outage
// instead of failing half done; permanent ones (the org or group is gone)
// stop at once.
func activityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        0, // unlimited
			NonRetryableErrorTypes: []string{ErrNotFound},
		},
	})
}

// ErrNotFound is the application error type activities use when the org
// or group no longer exists: retrying cannot help.
const ErrNotFound = "NotFound"

// batchesPerRun bounds the history of one run: each batch adds a handful
// of events, so a run stays far below Temporal's limits even when the
// server does not suggest continue-as-new first.
const batchesPerRun = 500

// GroupRecalculation recalculates the effective roles of every member of a
// group after its mapping changed. It pages through the members with a
// keyset cursor, one activity per batch. A newer mapping version (signal
// SignalMappingChanged, or found in the database at the end of a pass)
// restarts the pass with the newest mapping, so two recalculations of one
// group never race and the last mapping always wins.
func GroupRecalculation(ctx workflow.Context, in GroupInput) (Progress, error) {
	st := GroupState{Target: in.Version, StartedAt: workflow.Now(ctx)}
	if in.State != nil {
		st = *in.State
	}
	batch := in.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	status := StatusRunning
	progress := func() Progress {
		p := Progress{Status: status, Version: st.PassVersion, Total: st.Total, Processed: st.Processed, Changed: st.Changed,
			Batches: st.Batches, Passes: st.Passes, StartedAt: st.StartedAt, ETASeconds: -1}
		if st.Processed > 0 && st.Total > st.Processed && status == StatusRunning {
			elapsed := workflow.Now(ctx).Sub(st.PassStartedAt)
			p.ETASeconds = int64(elapsed.Seconds() * float64(st.Total-st.Processed) / float64(st.Processed))
		}
		return p
	}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return progress(), nil }); err != nil {
		return Progress{}, err
	}
	sig := workflow.GetSignalChannel(ctx, SignalMappingChanged)
	drain := func() {
		var m MappingChanged
		for sig.ReceiveAsync(&m) {
			st.Target = max(st.Target, m.Version)
		}
	}
	details := func() {
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s**: mapping version %d, %d of %d members processed, %d roles changed, pass %d",
			status, st.PassVersion, st.Processed, st.Total, st.Changed, st.Passes))
	}
	actx := activityOptions(ctx)
	fail := func(err error) (Progress, error) {
		status = StatusFailed
		details()
		in := FinishGroupPassInput{OrgID: in.OrgID, GroupID: in.GroupID, Version: st.Target, Processed: st.Processed, Changed: st.Changed, Error: describe(err)}
		var r FinishGroupPassResult
		if ferr := workflow.ExecuteActivity(actx, ActivityFinishGroupPass, in).Get(ctx, &r); ferr != nil {
			workflow.GetLogger(ctx).Error("recording the failure failed", "error", ferr)
		}
		if isNotFound(err) {
			return progress(), nil // the group is gone: nothing left to do
		}
		return progress(), err
	}

	runBatches := 0
	for {
		drain()
		if !st.Started || st.Target > st.PassVersion {
			// (Re)start the pass with the newest mapping. Members already
			// processed are processed again: the simple form that is
			// correct whatever changed.
			st.PassVersion, st.Cursor, st.Processed, st.Passes = st.Target, "", 0, st.Passes+1
			st.PassStartedAt = workflow.Now(ctx)
			var r StartGroupPassResult
			err := workflow.ExecuteActivity(actx, ActivityStartGroupPass, StartGroupPassInput{
				OrgID: in.OrgID, GroupID: in.GroupID, Version: st.PassVersion, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
			}).Get(ctx, &r)
			if err != nil {
				return fail(err)
			}
			st.Total, st.Started = r.Total, true
			details()
		}
		var b GroupBatchResult
		err := workflow.ExecuteActivity(actx, ActivityRecalculateGroupBatch, GroupBatchInput{
			OrgID: in.OrgID, GroupID: in.GroupID, Version: st.PassVersion, After: st.Cursor, Limit: batch, ProcessedSoFar: st.Processed,
		}).Get(ctx, &b)
		if err != nil {
			return fail(err)
		}
		st.Cursor = b.Next
		st.Processed += int64(b.Processed)
		st.Changed += int64(b.Changed)
		st.Batches++
		runBatches++
		details()
		if b.Done {
			drain()
			if st.Target > st.PassVersion {
				continue
			}
			var f FinishGroupPassResult
			err := workflow.ExecuteActivity(actx, ActivityFinishGroupPass, FinishGroupPassInput{
				OrgID: in.OrgID, GroupID: in.GroupID, Version: st.PassVersion, Processed: st.Processed, Changed: st.Changed,
			}).Get(ctx, &f)
			if err != nil {
				return fail(err)
			}
			drain()
			if f.GroupExists && f.LatestVersion > st.Target {
				st.Target = f.LatestVersion // its signal is late or was lost
			}
			if st.Target > st.PassVersion {
				continue
			}
			status = StatusCompleted
			details()
			return progress(), nil
		}
		limit := in.BatchesPerRun
		if limit <= 0 {
			limit = batchesPerRun
		}
		if runBatches >= limit || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			drain()
			next := in
			next.Version, next.State = st.Target, &st
			return Progress{}, workflow.NewContinueAsNewError(ctx, GroupRecalculation, next)
		}
	}
}

func isNotFound(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == ErrNotFound
}

// describe returns the message of the application error an activity
// returned: what an admin can act on, without Temporal's wrapping.
func describe(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
