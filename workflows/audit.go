package workflows

import "go.temporal.io/sdk/workflow"

// PruneAuditResult reports how many audit events a pruning deleted.
type PruneAuditResult struct {
	Deleted int64
}

// PruneAudit deletes the audit events older than the worker's configured
// retention (SCIMFLOW_AUDIT_RETENTION); its daily Temporal Schedule runs
// it. The cut-off is computed by the activity, from the database's view
// of the time, so the workflow reads no clock.
func PruneAudit(ctx workflow.Context) (PruneAuditResult, error) {
	var r PruneAuditResult
	err := workflow.ExecuteActivity(activityOptions(ctx, 0), ActivityPruneAudit).Get(ctx, &r)
	return r, err
}
