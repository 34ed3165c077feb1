package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"
)

// MembersInput starts (or continues) an org's membership recalculation.
type MembersInput struct {
	OrgID     string
	BatchSize int // users per activity; 0 means DefaultBatchSize
	// Idle is how long the workflow waits for more work before it ends;
	// 0 means five minutes. SignalWithStart starts a new run on demand.
	Idle  time.Duration
	State *MembersState
}

// MembersState is carried across continue-as-new.
type MembersState struct {
	Users     int64
	Changed   int64
	Batches   int64
	StartedAt time.Time
}

// MemberRecalculation consumes an org's recalculation outbox, which every
// membership change, (de)activation and deletion fills in the same
// transaction as the change. Signals (SignalOutbox) only wake it up:
// while it works, further signals coalesce into the next batch, so
// Entra's one-PATCH-per-member bursts become a few batches. It ends after
// a quiet period; the next SignalWithStart starts a new run.
//
// The order of the activities and timers is what recorded histories
// replay against (see replay_test.go): change it only behind
// workflow.GetVersion.
func MemberRecalculation(ctx workflow.Context, in MembersInput) (Progress, error) {
	m, err := newMemberRecalculation(ctx, in)
	if err != nil {
		return Progress{}, err
	}
	// A run starts on a signal or a sweep, or continues a run that may have
	// had work left: look at the outbox first.
	for {
		more, err := m.runBatch(ctx)
		if err != nil {
			return m.fail(err)
		}
		if m.runIsFull(ctx) {
			return m.continueAsNew(ctx)
		}
		if !more && !m.waitForWork(ctx) {
			m.status = StatusCompleted
			return m.progress(), nil
		}
	}
}

// memberRecalculation is one run of MemberRecalculation. Its methods take
// the workflow context they run in; st is all that outlives the run.
type memberRecalculation struct {
	in         MembersInput
	st         MembersState
	status     string
	batch      int           // users per activity
	idle       time.Duration // quiet period after which the run ends
	runBatches int           // batches in this run
	sig        workflow.ReceiveChannel
	actx       workflow.Context // ctx with activityOptions
}

// newMemberRecalculation sets a run up: state carried from the previous
// run (or a new one), the progress query and the signal channel. It
// issues no command.
func newMemberRecalculation(ctx workflow.Context, in MembersInput) (*memberRecalculation, error) {
	m := &memberRecalculation{
		in:     in,
		st:     MembersState{StartedAt: workflow.Now(ctx)},
		status: StatusRunning,
		batch:  in.BatchSize,
		idle:   in.Idle,
		sig:    workflow.GetSignalChannel(ctx, SignalOutbox),
		actx:   activityOptions(ctx, 0),
	}
	if in.State != nil {
		m.st = *in.State
	}
	if m.batch <= 0 {
		m.batch = DefaultBatchSize
	}
	if m.idle <= 0 {
		m.idle = 5 * time.Minute
	}
	err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return m.progress(), nil })
	return m, err
}

// drainSignals empties the signal channel and reports whether it held
// any. The signals carry nothing: any number of them means one more look
// at the outbox, which is how a burst coalesces.
func (m *memberRecalculation) drainSignals() bool {
	got := false
	for m.sig.ReceiveAsync(nil) {
		got = true
	}
	return got
}

// runBatch processes the next batch of the outbox and reports whether more
// work is known: rows left, or a signal received meanwhile. Signals are
// drained before the activity, since the batch covers the rows they
// announced.
func (m *memberRecalculation) runBatch(ctx workflow.Context) (more bool, err error) {
	m.drainSignals()
	var r OutboxResult
	if err := workflow.ExecuteActivity(m.actx, ActivityProcessOutbox, OutboxInput{OrgID: m.in.OrgID, Limit: m.batch}).Get(ctx, &r); err != nil {
		return false, err
	}
	m.st.Users += int64(r.Users)
	m.st.Changed += int64(r.Changed)
	m.st.Batches++
	m.runBatches++
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("%d users recalculated, %d roles changed, %d batches", m.st.Users, m.st.Changed, m.st.Batches))
	return r.More || m.drainSignals(), nil
}

// waitForWork waits for a signal for up to the idle period and reports
// whether one came. The timer is cancelled as soon as the wait is over.
func (m *memberRecalculation) waitForWork(ctx workflow.Context) bool {
	timerCtx, cancel := workflow.WithCancel(ctx)
	woken := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(m.sig, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		woken = true
	})
	sel.AddFuture(workflow.NewTimer(timerCtx, m.idle), func(workflow.Future) {})
	sel.Select(ctx)
	cancel()
	// A signal may have arrived with the timer, in the same workflow task.
	return woken || m.drainSignals()
}

// runIsFull tells when this run's history is long enough to continue as
// new.
func (m *memberRecalculation) runIsFull(ctx workflow.Context) bool {
	return m.runBatches >= batchesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// continueAsNew hands the counts to a new run. Undrained signals may be
// lost with this run, which is harmless: the new run looks at the outbox
// first anyway.
func (m *memberRecalculation) continueAsNew(ctx workflow.Context) (Progress, error) {
	next := m.in
	next.State = &m.st
	return Progress{}, workflow.NewContinueAsNewError(ctx, MemberRecalculation, next)
}

// fail ends the workflow after a failed batch: with the error, or without
// when the org is gone and nothing is left to do.
func (m *memberRecalculation) fail(err error) (Progress, error) {
	m.status = StatusFailed
	if isNotFound(err) {
		return m.progress(), nil
	}
	return m.progress(), err
}

// progress is what QueryProgress answers and the workflow returns. The
// outbox has no known size, so there is no total and no ETA.
func (m *memberRecalculation) progress() Progress {
	return Progress{Status: m.status, Processed: m.st.Users, Changed: m.st.Changed, Batches: m.st.Batches, StartedAt: m.st.StartedAt, ETASeconds: -1}
}
