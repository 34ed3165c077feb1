// Package worker runs scimflow's Temporal worker: it registers the
// workflows and activities on the task queue, and sweeps for work whose
// Temporal call was lost (a commit that succeeded before a crash or while
// Temporal was down).
package worker

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/scimflow/scimflow/activities"
	"github.com/scimflow/scimflow/workflows"
)

// New returns a worker polling taskQueue ("": workflows.DefaultTaskQueue)
// with every workflow and activity registered under the names package
// workflows uses.
func New(c client.Client, taskQueue string, a *activities.Activities, opts sdkworker.Options) sdkworker.Worker {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	w := sdkworker.New(c, taskQueue, opts)
	Register(w, a)
	return w
}

// Register registers scimflow's workflows and activities on r.
func Register(r sdkworker.Registry, a *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.GroupRecalculation, workflow.RegisterOptions{Name: workflows.GroupRecalculationName})
	r.RegisterWorkflowWithOptions(workflows.MemberRecalculation, workflow.RegisterOptions{Name: workflows.MemberRecalculationName})
	r.RegisterWorkflowWithOptions(workflows.ReconcileOrg, workflow.RegisterOptions{Name: workflows.ReconcileOrgName})
	r.RegisterWorkflowWithOptions(workflows.ReconcileAll, workflow.RegisterOptions{Name: workflows.ReconcileAllName})
	r.RegisterWorkflowWithOptions(workflows.PruneAudit, workflow.RegisterOptions{Name: workflows.PruneAuditName})
	for name, fn := range map[string]any{
		workflows.ActivityStartGroupPass:        a.StartGroupPass,
		workflows.ActivityRecalculateGroupBatch: a.RecalculateGroupBatch,
		workflows.ActivityFinishGroupPass:       a.FinishGroupPass,
		workflows.ActivityProcessOutbox:         a.ProcessOutbox,
		workflows.ActivityReconcileBatch:        a.ReconcileBatch,
		workflows.ActivityListOrgs:              a.ListOrgs,
		workflows.ActivityPruneAudit:            a.PruneAudit,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}
