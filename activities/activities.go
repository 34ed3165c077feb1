// Package activities implements the I/O of scimflow's workflows: each
// activity reads the current state from the database (never from workflow
// input), does one bounded, set-based batch, heartbeats, and is idempotent.
// Permanent failures (the org or group is gone) are non-retryable
// application errors of type workflows.ErrNotFound; everything else is
// retried by the workflow's policy.
package activities

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/workflows"
)

// Metrics counts what the activities do; nil is allowed. No method takes
// an org: metrics labels never name tenants.
type Metrics interface {
	RecalculationStarted()
	RecalculationFinished(failed bool, d time.Duration)
	// Batch counts one batch of kind (group, members, reconcile) and the
	// effective-role rows it changed.
	Batch(kind string, changed int)
	// AddDrift counts rows that reconciliation repaired.
	AddDrift(rows int)
}

// Activities holds the dependencies of every activity.
type Activities struct {
	DB      *store.DB
	Logger  *slog.Logger
	Metrics Metrics
	// AuditRetention is how long audit events are kept; 0 keeps them
	// for ever.
	AuditRetention time.Duration
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

// keepAlive heartbeats three times per heartbeat timeout (at most every
// 10 s) until the returned function is called, so that one long statement
// (a slow database, a wait for user locks) is not mistaken for a dead
// worker.
func keepAlive(ctx context.Context) func() {
	every := 10 * time.Second
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 {
		every = min(every, hb/3)
	}
	return heartbeatEvery(ctx, every, func() { activity.RecordHeartbeat(ctx) })
}

// heartbeatEvery calls beat now and then every interval until the
// returned stop function is called or ctx ends. Stop waits for the
// goroutine to exit: a heartbeat sent after the activity returned fails
// against its finished task (the SDK logs "RecordActivityHeartbeat with
// error ... context canceled").
func heartbeatEvery(ctx context.Context, every time.Duration, beat func()) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			default:
			}
			beat()
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// classify turns a permanent store error into a non-retryable one.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if store.IsNotFound(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrNotFound, nil)
	}
	return err
}

// StartGroupPass marks the group's recalculations as running and counts
// its members, as of the cutoff it returns.
func (a *Activities) StartGroupPass(ctx context.Context, in workflows.StartGroupPassInput) (workflows.StartGroupPassResult, error) {
	pass, err := a.DB.StartGroupPass(ctx, in.OrgID, in.GroupID, in.Version, in.WorkflowID)
	if err != nil {
		return workflows.StartGroupPassResult{}, classify(err)
	}
	if a.Metrics != nil {
		a.Metrics.RecalculationStarted()
	}
	a.logger().InfoContext(ctx, "group recalculation started", "org", in.OrgID, "group", in.GroupID, "recalculations", pass.Recalculations,
		"version", in.Version, "workflow", in.WorkflowID, "users", pass.Members)
	return workflows.StartGroupPassResult{Total: pass.Members, Cutoff: pass.Cutoff}, nil
}

// RecalculateGroupBatch recalculates one keyset page of a lane of a
// group's members, on the entry points the pass can affect, with the
// mapping as it is in the database now. The page query itself reports a
// deleted group.
func (a *Activities) RecalculateGroupBatch(ctx context.Context, in workflows.GroupBatchInput) (workflows.GroupBatchResult, error) {
	a.warnRetry(ctx, "org", in.OrgID, "group", in.GroupID, "version", in.Version, "after", in.After)
	ids, counted, err := a.DB.GroupMemberPage(ctx, in.OrgID, in.GroupID,
		store.MemberPage{From: in.From, To: in.To, After: in.After, Limit: in.Limit, Cutoff: in.Cutoff})
	if err != nil {
		return workflows.GroupBatchResult{}, classify(err)
	}
	activity.RecordHeartbeat(ctx, in.After)
	res := workflows.GroupBatchResult{Next: in.After, Processed: counted, Done: len(ids) < in.Limit}
	if len(ids) == 0 {
		return res, nil
	}
	eps, err := a.DB.PassEntryPoints(ctx, in.OrgID, in.GroupID, in.Version)
	if err != nil {
		return res, err
	}
	defer keepAlive(ctx)()
	if res.Changed, err = a.DB.RecalculateUsers(ctx, in.OrgID, ids, eps); err != nil {
		return res, err
	}
	res.Next = ids[len(ids)-1]
	if a.Metrics != nil {
		a.Metrics.Batch("group", res.Changed)
	}
	activity.RecordHeartbeat(ctx, res.Next)
	if err := a.DB.RecordGroupProgress(ctx, in.OrgID, in.GroupID, in.ProcessedSoFar+int64(counted)); err != nil {
		return res, err
	}
	return res, nil
}

// warnRetry logs a warning when this is not the first attempt of a batch:
// the earlier one failed or its worker died, which an operator should see
// even when the retry succeeds.
func (a *Activities) warnRetry(ctx context.Context, attrs ...any) {
	info := activity.GetInfo(ctx)
	if info.Attempt <= 1 {
		return
	}
	a.logger().WarnContext(ctx, "recalculation batch retried", append(attrs, "activity", info.ActivityType.Name, "attempt", info.Attempt,
		"workflow", info.WorkflowExecution.ID)...)
}

// FinishGroupPass records the outcome of a pass and reports the group's
// current mapping version.
func (a *Activities) FinishGroupPass(ctx context.Context, in workflows.FinishGroupPassInput) (workflows.FinishGroupPassResult, error) {
	fin, err := a.DB.FinishGroupPass(ctx, in.OrgID, in.GroupID, in.Version, in.Processed, in.Changed, in.Error)
	if err != nil {
		return workflows.FinishGroupPassResult{}, err
	}
	var took time.Duration
	if !in.StartedAt.IsZero() {
		took = time.Since(in.StartedAt)
	}
	if a.Metrics != nil {
		a.Metrics.RecalculationFinished(in.Error != "", took)
	}
	attrs := []any{"org", in.OrgID, "group", in.GroupID, "recalculations", fin.Recalculations, "version", in.Version,
		"workflow", activity.GetInfo(ctx).WorkflowExecution.ID, "users", in.Processed, "changed", in.Changed, "duration", took.Round(time.Millisecond)}
	if in.Error != "" {
		a.logger().WarnContext(ctx, "group recalculation failed", append(attrs, "error", in.Error)...)
	} else {
		a.logger().InfoContext(ctx, "group recalculation completed", attrs...)
	}
	return workflows.FinishGroupPassResult{LatestVersion: fin.LatestVersion, GroupExists: fin.GroupExists}, nil
}

// ProcessOutbox recalculates the users of the next outbox batch of an org.
// Each batch that found work is one membership recalculation in the log:
// the outbox has no passes, only batches.
func (a *Activities) ProcessOutbox(ctx context.Context, in workflows.OutboxInput) (workflows.OutboxResult, error) {
	a.warnRetry(ctx, "org", in.OrgID)
	start := time.Now()
	stop := keepAlive(ctx)
	users, changed, more, err := a.DB.ProcessOutbox(ctx, in.OrgID, in.Limit)
	stop()
	attrs := []any{"org", in.OrgID, "workflow", activity.GetInfo(ctx).WorkflowExecution.ID, "duration", time.Since(start).Round(time.Millisecond)}
	switch {
	case err != nil:
		a.logger().WarnContext(ctx, "membership recalculation failed", append(attrs, "error", err)...)
	case users > 0:
		a.logger().InfoContext(ctx, "membership recalculation completed", append(attrs, "users", users, "changed", changed, "more", more)...)
		if a.Metrics != nil {
			a.Metrics.Batch("members", changed)
		}
	}
	return workflows.OutboxResult{Users: users, Changed: changed, More: more}, classify(err)
}

// ReconcileBatch recomputes one page of an org's users from scratch. Any
// repair means an earlier recalculation was lost or wrong: it is logged as
// a warning and counted.
func (a *Activities) ReconcileBatch(ctx context.Context, in workflows.ReconcileInput) (workflows.ReconcileResult, error) {
	a.warnRetry(ctx, "org", in.OrgID, "after", in.After)
	defer keepAlive(ctx)()
	next, users, fixed, done, err := a.DB.ReconcileUsers(ctx, in.OrgID, in.After, in.Limit)
	if err != nil {
		return workflows.ReconcileResult{}, classify(err)
	}
	if a.Metrics != nil {
		a.Metrics.Batch("reconcile", fixed)
	}
	if fixed > 0 {
		a.logger().WarnContext(ctx, "reconciliation repaired drifted effective roles", "org", in.OrgID, "rows", fixed)
		if a.Metrics != nil {
			a.Metrics.AddDrift(fixed)
		}
	}
	return workflows.ReconcileResult{Next: next, Users: users, Fixed: fixed, Done: done}, nil
}

// ListOrgs returns every org id, for ReconcileAll.
func (a *Activities) ListOrgs(ctx context.Context) ([]string, error) {
	return a.DB.ListOrgIDs(ctx)
}

// PruneAudit deletes the audit events older than the retention.
func (a *Activities) PruneAudit(ctx context.Context) (workflows.PruneAuditResult, error) {
	if a.AuditRetention <= 0 {
		return workflows.PruneAuditResult{}, nil
	}
	defer keepAlive(ctx)()
	n, err := a.DB.PruneAudit(ctx, time.Now().Add(-a.AuditRetention))
	if err != nil {
		return workflows.PruneAuditResult{Deleted: n}, classify(err)
	}
	if n > 0 && a.Logger != nil {
		a.Logger.InfoContext(ctx, "pruned audit events", "deleted", n, "retention", a.AuditRetention.String())
	}
	return workflows.PruneAuditResult{Deleted: n}, nil
}
