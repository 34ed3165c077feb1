package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

// ReconcileOrgInput recomputes an org's effective roles from scratch.
type ReconcileOrgInput struct {
	OrgID     string
	BatchSize int
	Cursor    string // carried across continue-as-new
	Users     int64
	Fixed     int64
}

// ReconcileOrgResult reports how many stored roles were wrong.
type ReconcileOrgResult struct {
	Users int64
	Fixed int64 // rows inserted, changed or deleted; 0 when nothing drifted
}

// versionReconcileUnknownOrgFails marks histories in which ReconcileOrg
// fails, rather than succeeds, on an org its activity does not find.
const versionReconcileUnknownOrgFails = "reconcile-unknown-org-fails"

// ReconcileOrg pages through every user of an org and recomputes their
// effective roles from scratch, repairing any drift. Fixed should be 0:
// anything else means an earlier recalculation was lost or wrong, and the
// activity logs it as a warning.
func ReconcileOrg(ctx workflow.Context, in ReconcileOrgInput) (ReconcileOrgResult, error) {
	batch := in.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	res := ReconcileOrgResult{Users: in.Users, Fixed: in.Fixed}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) {
		return Progress{Status: StatusRunning, Processed: res.Users, Changed: res.Fixed, ETASeconds: -1}, nil
	}); err != nil {
		return res, err
	}
	actx := activityOptions(ctx, 0)
	cursor := in.Cursor
	for runBatches := 0; ; runBatches++ {
		var r ReconcileResult
		err := workflow.ExecuteActivity(actx, ActivityReconcileBatch, ReconcileInput{OrgID: in.OrgID, After: cursor, Limit: batch}).Get(ctx, &r)
		if err != nil {
			// An org that is not (or no longer) in the worker's database
			// used to end the run as a success with nothing checked, which
			// hid a worker attached to another database. ReconcileAll
			// skips orgs deleted meanwhile on its side.
			if isNotFound(err) && workflow.GetVersion(ctx, versionReconcileUnknownOrgFails, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
				return res, nil
			}
			return res, err
		}
		cursor = r.Next
		res.Users += int64(r.Users)
		res.Fixed += int64(r.Fixed)
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("%d users checked, %d roles repaired", res.Users, res.Fixed))
		if r.Done {
			return res, nil
		}
		if runBatches >= batchesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return res, workflow.NewContinueAsNewError(ctx, ReconcileOrg, ReconcileOrgInput{OrgID: in.OrgID, BatchSize: batch, Cursor: cursor, Users: res.Users, Fixed: res.Fixed})
		}
	}
}

// ReconcileAll reconciles every org, one child workflow per org; the daily
// Temporal Schedule runs it.
func ReconcileAll(ctx workflow.Context) (ReconcileOrgResult, error) {
	var orgs []string
	if err := workflow.ExecuteActivity(activityOptions(ctx, 0), ActivityListOrgs).Get(ctx, &orgs); err != nil {
		return ReconcileOrgResult{}, err
	}
	var total ReconcileOrgResult
	for _, org := range orgs {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: ReconcileWorkflowID(org) + "/" + workflow.GetInfo(ctx).WorkflowExecution.RunID})
		var r ReconcileOrgResult
		if err := workflow.ExecuteChildWorkflow(cctx, ReconcileOrg, ReconcileOrgInput{OrgID: org}).Get(ctx, &r); err != nil {
			if isNotFound(err) {
				continue // deleted since ListOrgs
			}
			workflow.GetLogger(ctx).Error("reconciliation failed", "org", org, "error", err)
			continue
		}
		total.Users += r.Users
		total.Fixed += r.Fixed
	}
	return total, nil
}
