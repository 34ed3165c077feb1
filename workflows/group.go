package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/scimflow/scimflow/internal/scimflow"
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
	// HeartbeatTimeout is how soon a batch whose worker died is retried
	// elsewhere; 0 means DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	State            *GroupState
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
func activityOptions(ctx workflow.Context, heartbeat time.Duration) workflow.Context {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeatTimeout
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    heartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        0, // unlimited
			NonRetryableErrorTypes: []string{ErrNotFound},
		},
	})
}

// DefaultHeartbeatTimeout is how long a batch may go without a heartbeat
// before Temporal takes its worker for dead and retries it elsewhere.
const DefaultHeartbeatTimeout = 30 * time.Second

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
//
// The order of the activities, and their inputs, is what recorded
// histories replay against (see replay_test.go): change it only behind
// workflow.GetVersion.
func GroupRecalculation(ctx workflow.Context, in GroupInput) (Progress, error) {
	g, err := newGroupRecalculation(ctx, in)
	if err != nil {
		return Progress{}, err
	}
	for {
		g.drainSignals()
		if !g.st.Started || g.st.Target > g.st.PassVersion {
			if err := g.startPass(ctx); err != nil {
				return g.fail(ctx, err)
			}
		}
		done, err := g.runBatch(ctx)
		if err != nil {
			return g.fail(ctx, err)
		}
		if !done {
			if g.runIsFull(ctx) {
				return g.continueAsNew(ctx)
			}
			continue
		}
		finished, err := g.finishPass(ctx)
		if err != nil {
			return g.fail(ctx, err)
		}
		if finished {
			return g.complete(ctx)
		}
	}
}

// groupRecalculation is one run of GroupRecalculation. Its methods take
// the workflow context they run in; st is all that outlives the run.
type groupRecalculation struct {
	in         GroupInput
	st         GroupState
	status     string
	batch      int // users per activity
	limit      int // batches per run before continuing as new
	runBatches int // batches in this run
	sig        workflow.ReceiveChannel
	actx       workflow.Context // ctx with activityOptions
}

// newGroupRecalculation sets a run up: state carried from the previous
// run (or a new one), the progress query and the signal channel. It
// issues no command.
func newGroupRecalculation(ctx workflow.Context, in GroupInput) (*groupRecalculation, error) {
	g := &groupRecalculation{
		in:     in,
		st:     GroupState{Target: in.Version, StartedAt: workflow.Now(ctx)},
		status: StatusRunning,
		batch:  in.BatchSize,
		limit:  in.BatchesPerRun,
		sig:    workflow.GetSignalChannel(ctx, SignalMappingChanged),
		actx:   activityOptions(ctx, in.HeartbeatTimeout),
	}
	if in.State != nil {
		g.st = *in.State
	}
	if g.batch <= 0 {
		g.batch = DefaultBatchSize
	}
	if g.limit <= 0 {
		g.limit = batchesPerRun
	}
	err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return g.progress(ctx), nil })
	return g, err
}

// drainSignals coalesces every pending SignalMappingChanged into Target:
// only the newest version matters, however many updates arrived.
// ReceiveAsync never blocks, so draining adds nothing to the history.
func (g *groupRecalculation) drainSignals() {
	var m MappingChanged
	for g.sig.ReceiveAsync(&m) {
		g.st.Target = max(g.st.Target, m.Version)
	}
}

// startPass (re)starts the pass with the newest mapping. Members already
// processed are processed again: the simple form that is correct whatever
// changed.
func (g *groupRecalculation) startPass(ctx workflow.Context) error {
	st := &g.st
	st.PassVersion, st.Cursor, st.Processed, st.Passes = st.Target, "", 0, st.Passes+1
	st.PassStartedAt = workflow.Now(ctx)
	var r StartGroupPassResult
	err := workflow.ExecuteActivity(g.actx, ActivityStartGroupPass, StartGroupPassInput{
		OrgID: g.in.OrgID, GroupID: g.in.GroupID, Version: st.PassVersion, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}).Get(ctx, &r)
	if err != nil {
		return err
	}
	st.Total, st.Started = r.Total, true
	g.details(ctx)
	return nil
}

// runBatch recalculates the next page of members and reports whether it
// was the last.
func (g *groupRecalculation) runBatch(ctx workflow.Context) (done bool, err error) {
	st := &g.st
	var b GroupBatchResult
	err = workflow.ExecuteActivity(g.actx, ActivityRecalculateGroupBatch, GroupBatchInput{
		OrgID: g.in.OrgID, GroupID: g.in.GroupID, Version: st.PassVersion, After: st.Cursor, Limit: g.batch, ProcessedSoFar: st.Processed,
	}).Get(ctx, &b)
	if err != nil {
		return false, err
	}
	st.Cursor = b.Next
	st.Processed += int64(b.Processed)
	st.Changed += int64(b.Changed)
	st.Batches++
	g.runBatches++
	g.details(ctx)
	return b.Done, nil
}

// finishPass closes the recalculations of the pass that just ended, unless
// a newer version arrived meanwhile. finished is false when a newer
// version is known (by signal, or from the database when its signal is
// late or was lost): the caller then starts the pass again.
func (g *groupRecalculation) finishPass(ctx workflow.Context) (finished bool, err error) {
	st := &g.st
	g.drainSignals()
	if st.Target > st.PassVersion {
		return false, nil // the next pass closes them all, once, at the newest version
	}
	var f FinishGroupPassResult
	err = workflow.ExecuteActivity(g.actx, ActivityFinishGroupPass, FinishGroupPassInput{
		OrgID: g.in.OrgID, GroupID: g.in.GroupID, Version: st.PassVersion, Processed: st.Processed, Changed: st.Changed,
	}).Get(ctx, &f)
	if err != nil {
		return false, err
	}
	g.drainSignals()
	if f.GroupExists && f.LatestVersion > st.Target {
		st.Target = f.LatestVersion
	}
	return st.Target <= st.PassVersion, nil
}

// runIsFull tells when this run's history is long enough to continue as
// new.
func (g *groupRecalculation) runIsFull(ctx workflow.Context) bool {
	return g.runBatches >= g.limit || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// continueAsNew hands the cursor and progress to a new run. Signals
// drained first are kept in Target; an undrained one would be lost with
// this run.
func (g *groupRecalculation) continueAsNew(ctx workflow.Context) (Progress, error) {
	g.drainSignals()
	next := g.in
	next.Version, next.State = g.st.Target, &g.st
	return Progress{}, workflow.NewContinueAsNewError(ctx, GroupRecalculation, next)
}

// complete ends the workflow after the pass at the newest version.
func (g *groupRecalculation) complete(ctx workflow.Context) (Progress, error) {
	g.status = StatusCompleted
	g.details(ctx)
	return g.progress(ctx), nil
}

// fail records err on every recalculation up to Target, so none is left
// running, and ends the workflow: with err, or without when the group is
// gone and nothing is left to do.
func (g *groupRecalculation) fail(ctx workflow.Context, err error) (Progress, error) {
	st := &g.st
	g.status = StatusFailed
	g.details(ctx)
	var r FinishGroupPassResult
	ferr := workflow.ExecuteActivity(g.actx, ActivityFinishGroupPass, FinishGroupPassInput{
		OrgID: g.in.OrgID, GroupID: g.in.GroupID, Version: st.Target, Processed: st.Processed, Changed: st.Changed, Error: describe(err),
	}).Get(ctx, &r)
	if ferr != nil {
		workflow.GetLogger(ctx).Error("recording the failure failed", "error", ferr)
	}
	if isNotFound(err) {
		return g.progress(ctx), nil
	}
	return g.progress(ctx), err
}

// progress is what QueryProgress answers and the workflow returns. A
// query must not read the wall clock either: on a server, workflow.Now is
// the time of the latest workflow task, so the ETA moves once a batch.
func (g *groupRecalculation) progress(ctx workflow.Context) Progress {
	st := g.st
	p := Progress{Status: g.status, Version: st.PassVersion, Total: st.Total, Processed: st.Processed, Changed: st.Changed,
		Batches: st.Batches, Passes: st.Passes, StartedAt: st.StartedAt, PassStartedAt: st.PassStartedAt, ETASeconds: -1}
	if g.status != StatusRunning {
		return p
	}
	if d, ok := scimflow.Remaining(st.PassStartedAt, workflow.Now(ctx), st.Total, st.Processed); ok {
		p.ETASeconds = int64(d / time.Second)
	}
	return p
}

// details shows the progress in the Temporal UI.
func (g *groupRecalculation) details(ctx workflow.Context) {
	st := g.st
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s**: mapping version %d, %d of %d members processed, %d roles changed, pass %d",
		g.status, st.PassVersion, st.Processed, st.Total, st.Changed, st.Passes))
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
