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
	// Lanes is how many batches of a pass run side by side, each on its
	// own range of member ids; 0 means DefaultLanes, at most MaxLanes.
	Lanes int
}

// GroupState is carried across continue-as-new, so a long recalculation
// keeps its cursors and progress. Fields are only ever added, never
// renamed or removed: a run reads the state of a run of older code.
type GroupState struct {
	Target      int64 // highest mapping version seen
	PassVersion int64 // version of the pass under way
	Started     bool  // StartGroupPass ran for PassVersion
	// Cursor is the one cursor of a pass started before lanes; it is read
	// only when Lanes is empty.
	Cursor        string
	Total         int64
	Processed     int64
	Changed       int64
	Batches       int64
	Passes        int64
	StartedAt     time.Time // first pass
	PassStartedAt time.Time
	// Lanes of the pass under way, each with its cursor. Empty in the
	// state of a run before lanes: its pass goes on as one lane over every
	// member, from Cursor.
	Lanes []Lane
	// Cutoff is the store's clock when the pass counted Total: only
	// members added by then count towards Processed. Zero (a pass started
	// before cutoffs): every member counts.
	Cutoff time.Time
}

// Lane is a contiguous range of member ids, [From, To), that a pass pages
// through with a keyset cursor of its own, one batch at a time.
type Lane struct {
	From, To string // "" To: no upper bound
	Cursor   string // last user id of the lane's previous page
	Done     bool   // the lane's last page is processed
}

// splitLanes splits the member ids into k contiguous lanes (1 ≤ k ≤
// MaxLanes) on their first character. User ids are UUIDs, lowercase hex
// and '-', so the lanes of k = 4 are ["", "4"), ["4", "8"), ["8", "c")
// and ["c", ∞): about a quarter of the members each. The first lane has
// no lower bound and the last none above, so every id, UUID or not, is in
// exactly one lane. The database compares ids with the bounds, with the
// same collation as its cursors and ORDER BY, and single hex characters
// ascend in any collation (digits before letters): the split holds
// whatever the database's collation.
func splitLanes(k int) []Lane {
	const hex = "0123456789abcdef"
	k = min(max(k, 1), MaxLanes)
	lanes := make([]Lane, k)
	for i := 1; i < k; i++ {
		b := hex[i*16/k : i*16/k+1]
		lanes[i-1].To, lanes[i].From = b, b
	}
	return lanes
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
// group after its mapping changed. A pass splits the members into lanes
// (ranges of ids) and runs one batch per lane at a time, all lanes side by
// side, each paging through its range with a keyset cursor. A newer
// mapping version (signal SignalMappingChanged, or found in the database
// at the end of a pass) lets the batches in flight finish and restarts the
// pass with the newest mapping, so two recalculations of one group never
// race and the last mapping always wins.
//
// Batches finish in any order, and correctness does not depend on it:
// each batch locks its users and reads the current mapping
// (store.RecalculateUsers), so a retried or zombie batch can never write
// an older result.
//
// The order of the activities, and their inputs, is what recorded
// histories replay against (see replay_test.go): change it only behind
// workflow.GetVersion. Before version laneVersion a pass has one lane,
// and the loop below issues the commands of the sequential workflow it
// replaced, in the same order.
func GroupRecalculation(ctx workflow.Context, in GroupInput) (Progress, error) {
	g, err := newGroupRecalculation(ctx, in)
	if err != nil {
		return Progress{}, err
	}
	for {
		g.drainSignals()
		if g.running() > 0 {
			if !g.stopping(ctx) {
				g.schedule(ctx)
			}
			g.wait(ctx)
			continue
		}
		// No batch in flight: the only point where a pass ends, restarts
		// or moves to a new run.
		if g.failed != nil {
			return g.fail(ctx, g.failed)
		}
		st := &g.st
		switch {
		case st.Started && g.lanesDone() && st.Target <= st.PassVersion:
			finished, err := g.finishPass(ctx)
			if err != nil {
				return g.fail(ctx, err)
			}
			if finished {
				return g.complete(ctx)
			}
			continue // a newer version: restart the pass
		case st.Started && !g.lanesDone() && g.runIsFull(ctx):
			return g.continueAsNew(ctx)
		case !st.Started || st.Target > st.PassVersion:
			if err := g.startPass(ctx); err != nil {
				return g.fail(ctx, err)
			}
		}
		g.schedule(ctx)
		g.wait(ctx)
	}
}

// laneChange and laneVersion name the change that made a pass run lanes
// side by side (workflow.GetVersion).
const (
	laneChange  = "parallel-lanes"
	laneVersion = 1
)

// groupRecalculation is one run of GroupRecalculation. Its methods take
// the workflow context they run in; st is all that outlives the run.
type groupRecalculation struct {
	in         GroupInput
	st         GroupState
	status     string
	lanes      int // lanes of a new pass
	batch      int // users per activity
	limit      int // batches per run before continuing as new
	runBatches int // batches completed in this run
	// inflight[i] is the batch running on st.Lanes[i], or nil.
	inflight []workflow.Future
	failed   error // of a batch; the run fails once the others are in
	sig      workflow.ReceiveChannel
	actx     workflow.Context // ctx with activityOptions
}

// newGroupRecalculation sets a run up: state carried from the previous
// run (or a new one), the lanes of its passes, the progress query and the
// signal channel. Its only command is GetVersion's marker, in a run that
// starts on this code.
func newGroupRecalculation(ctx workflow.Context, in GroupInput) (*groupRecalculation, error) {
	g := &groupRecalculation{
		in:     in,
		st:     GroupState{Target: in.Version, StartedAt: workflow.Now(ctx)},
		status: StatusRunning,
		lanes:  1,
		batch:  in.BatchSize,
		limit:  in.BatchesPerRun,
		sig:    workflow.GetSignalChannel(ctx, SignalMappingChanged),
		actx:   activityOptions(ctx, in.HeartbeatTimeout),
	}
	if workflow.GetVersion(ctx, laneChange, workflow.DefaultVersion, laneVersion) >= laneVersion {
		g.lanes = in.Lanes
		if g.lanes <= 0 {
			g.lanes = DefaultLanes
		}
	}
	if in.State != nil {
		g.st = *in.State
	}
	if g.st.Started && len(g.st.Lanes) == 0 {
		// A pass started before lanes goes on as one lane over every
		// member; the next pass has lanes.
		g.st.Lanes, g.st.Cursor = []Lane{{Cursor: g.st.Cursor}}, ""
	}
	g.inflight = make([]workflow.Future, len(g.st.Lanes))
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

// startPass (re)starts the pass with the newest mapping, every lane from
// its first member. Members already processed are processed again: the
// simple form that is correct whatever changed.
func (g *groupRecalculation) startPass(ctx workflow.Context) error {
	st := &g.st
	st.PassVersion, st.Processed, st.Passes = st.Target, 0, st.Passes+1
	st.Lanes, st.Cursor, st.Cutoff = splitLanes(g.lanes), "", time.Time{}
	g.inflight = make([]workflow.Future, len(st.Lanes))
	st.PassStartedAt = workflow.Now(ctx)
	var r StartGroupPassResult
	err := workflow.ExecuteActivity(g.actx, ActivityStartGroupPass, StartGroupPassInput{
		OrgID: g.in.OrgID, GroupID: g.in.GroupID, Version: st.PassVersion, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}).Get(ctx, &r)
	if err != nil {
		return err
	}
	st.Total, st.Cutoff, st.Started = r.Total, r.Cutoff, true
	g.details(ctx)
	return nil
}

// schedule starts the next batch of every lane that is neither done nor
// running one, in lane order.
func (g *groupRecalculation) schedule(ctx workflow.Context) {
	st := &g.st
	for i, l := range st.Lanes {
		if l.Done || g.inflight[i] != nil {
			continue
		}
		g.inflight[i] = workflow.ExecuteActivity(g.actx, ActivityRecalculateGroupBatch, GroupBatchInput{
			OrgID: g.in.OrgID, GroupID: g.in.GroupID, Version: st.PassVersion, From: l.From, To: l.To, After: l.Cursor,
			Limit: g.batch, Cutoff: st.Cutoff, ProcessedSoFar: g.processed(),
		})
	}
}

// wait blocks until one batch in flight has finished (the first in lane
// order when several have) and records its outcome.
func (g *groupRecalculation) wait(ctx workflow.Context) {
	s := workflow.NewSelector(ctx)
	for i, f := range g.inflight {
		if f != nil {
			s.AddFuture(f, func(f workflow.Future) { g.batchDone(ctx, i, f) })
		}
	}
	s.Select(ctx)
}

// batchDone records the outcome of lane's batch: its cursor and counts,
// or the first error of the run.
func (g *groupRecalculation) batchDone(ctx workflow.Context, lane int, f workflow.Future) {
	g.inflight[lane] = nil
	var b GroupBatchResult
	if err := f.Get(ctx, &b); err != nil {
		if g.failed == nil {
			g.failed = err
		}
		return
	}
	st := &g.st
	l := &st.Lanes[lane]
	l.Cursor, l.Done = b.Next, b.Done
	st.Processed += int64(b.Processed)
	st.Changed += int64(b.Changed)
	st.Batches++
	g.runBatches++
	g.details(ctx)
}

// running counts the batches in flight.
func (g *groupRecalculation) running() int {
	n := 0
	for _, f := range g.inflight {
		if f != nil {
			n++
		}
	}
	return n
}

// lanesDone reports whether every lane of the pass has processed its last
// page.
func (g *groupRecalculation) lanesDone() bool {
	for _, l := range g.st.Lanes {
		if !l.Done {
			return false
		}
	}
	return true
}

// stopping tells when no new batch may start: the pass is to restart at a
// newer version, the run to continue as new, or a batch failed. The
// batches in flight finish first.
func (g *groupRecalculation) stopping(ctx workflow.Context) bool {
	return g.failed != nil || g.st.Target > g.st.PassVersion || g.runIsFull(ctx)
}

// finishPass closes the recalculations of the pass that just ended. The
// caller knows of no newer version; finished is false when the database
// knows one (its signal is late or was lost): the caller then starts the
// pass again.
func (g *groupRecalculation) finishPass(ctx workflow.Context) (finished bool, err error) {
	st := &g.st
	var f FinishGroupPassResult
	err = workflow.ExecuteActivity(g.actx, ActivityFinishGroupPass, FinishGroupPassInput{
		OrgID: g.in.OrgID, GroupID: g.in.GroupID, Version: st.PassVersion, Processed: g.processed(), Changed: st.Changed,
		StartedAt: st.PassStartedAt,
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
// new. A run that has completed no batch yet is never full: it would only
// hand its input on.
func (g *groupRecalculation) runIsFull(ctx workflow.Context) bool {
	return g.runBatches > 0 && (g.runBatches >= g.limit || workflow.GetInfo(ctx).GetContinueAsNewSuggested())
}

// continueAsNew hands every lane's cursor and the progress to a new run;
// the caller has let the batches in flight finish, so no result is lost
// with this run. Signals drained first are kept in Target; an undrained
// one would be lost with this run.
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
		OrgID: g.in.OrgID, GroupID: g.in.GroupID, Version: st.Target, Processed: g.processed(), Changed: st.Changed, Error: describe(err),
		StartedAt: st.PassStartedAt,
	}).Get(ctx, &r)
	if ferr != nil {
		workflow.GetLogger(ctx).Error("recording the failure failed", "error", ferr)
	}
	if isNotFound(err) {
		return g.progress(ctx), nil
	}
	return g.progress(ctx), err
}

// processed is the pass's progress as reported: batches count only the
// members added by the cutoff, but a member added in the cutoff's
// millisecond, or stamped by a host whose clock is behind, can still be
// counted without being in Total; and a pass continued from a run before
// cutoffs counts every member. Clamping keeps "n of total" honest.
func (g *groupRecalculation) processed() int64 {
	return min(g.st.Processed, g.st.Total)
}

// progress is what QueryProgress answers and the workflow returns. A
// query must not read the wall clock either: on a server, workflow.Now is
// the time of the latest workflow task, so the ETA moves once a batch.
func (g *groupRecalculation) progress(ctx workflow.Context) Progress {
	st := g.st
	p := Progress{Status: g.status, Version: st.PassVersion, Total: st.Total, Processed: g.processed(), Changed: st.Changed,
		Batches: st.Batches, Passes: st.Passes, StartedAt: st.StartedAt, PassStartedAt: st.PassStartedAt, ETASeconds: -1}
	if g.status != StatusRunning {
		return p
	}
	if d, ok := scimflow.Remaining(st.PassStartedAt, workflow.Now(ctx), st.Total, p.Processed); ok {
		p.ETASeconds = int64(d / time.Second)
	}
	return p
}

// details shows the progress in the Temporal UI.
func (g *groupRecalculation) details(ctx workflow.Context) {
	st := g.st
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s**: mapping version %d, %d of %d members processed, %d roles changed, pass %d",
		g.status, st.PassVersion, g.processed(), st.Total, st.Changed, st.Passes))
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
