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
func MemberRecalculation(ctx workflow.Context, in MembersInput) (Progress, error) {
	st := MembersState{StartedAt: workflow.Now(ctx)}
	if in.State != nil {
		st = *in.State
	}
	batch := in.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	idle := in.Idle
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	status := StatusRunning
	progress := func() Progress {
		return Progress{Status: status, Processed: st.Users, Changed: st.Changed, Batches: st.Batches, StartedAt: st.StartedAt, ETASeconds: -1}
	}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return progress(), nil }); err != nil {
		return Progress{}, err
	}
	sig := workflow.GetSignalChannel(ctx, SignalOutbox)
	drain := func() bool {
		got := false
		for sig.ReceiveAsync(nil) {
			got = true
		}
		return got
	}
	actx := activityOptions(ctx)
	pending := true // started by a signal or a sweep: look at the outbox first
	runBatches := 0
	for {
		for pending {
			drain()
			var r OutboxResult
			if err := workflow.ExecuteActivity(actx, ActivityProcessOutbox, OutboxInput{OrgID: in.OrgID, Limit: batch}).Get(ctx, &r); err != nil {
				if isNotFound(err) {
					return progress(), nil
				}
				return progress(), err
			}
			st.Users += int64(r.Users)
			st.Changed += int64(r.Changed)
			st.Batches++
			runBatches++
			workflow.SetCurrentDetails(ctx, fmt.Sprintf("%d users recalculated, %d roles changed, %d batches", st.Users, st.Changed, st.Batches))
			pending = r.More || drain()
			if runBatches >= batchesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
				next := in
				next.State = &st
				return Progress{}, workflow.NewContinueAsNewError(ctx, MemberRecalculation, next)
			}
		}
		// Quiet: wait for the next signal, or end after the idle period.
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(sig, func(c workflow.ReceiveChannel, more bool) {
			c.Receive(ctx, nil)
			pending = true
		})
		sel.AddFuture(workflow.NewTimer(timerCtx, idle), func(workflow.Future) {})
		sel.Select(ctx)
		cancel()
		if !pending && !drain() {
			status = StatusCompleted
			return progress(), nil
		}
		pending = true
	}
}
