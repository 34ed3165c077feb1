// Package workflows holds scimflow's Temporal workflows: the durable,
// batched recalculation of effective roles. Everything here is
// deterministic: no I/O, no wall clock, no goroutines, no map iteration
// that affects decisions. The database work happens in activities, which
// workflows call by name with the input and result types declared here.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
)

// DefaultTaskQueue is the task queue of scimflow's workflows and
// activities unless TEMPORAL_TASK_QUEUE names another. Workflows never
// name a queue: their activities and child workflows inherit the queue
// they were started on, so deployments that share a namespace on
// different queues never take each other's tasks.
const DefaultTaskQueue = "scimflow-recalc"

// Signal and query names.
const (
	// SignalMappingChanged tells a group's workflow that a newer mapping
	// version exists (payload MappingChanged).
	SignalMappingChanged = "mapping-changed"
	// SignalOutbox tells an org's membership workflow that the outbox has
	// new rows (no payload).
	SignalOutbox = "outbox-changed"
	// QueryProgress returns a Progress.
	QueryProgress = "progress"
)

// Activity names, registered by package worker.
const (
	ActivityStartGroupPass        = "StartGroupPass"
	ActivityRecalculateGroupBatch = "RecalculateGroupBatch"
	ActivityFinishGroupPass       = "FinishGroupPass"
	ActivityProcessOutbox         = "ProcessOutbox"
	ActivityReconcileBatch        = "ReconcileBatch"
	ActivityListOrgs              = "ListOrgs"
	ActivityPruneAudit            = "PruneAudit"
)

// Workflow type names.
const (
	GroupRecalculationName  = "GroupRecalculation"
	MemberRecalculationName = "MemberRecalculation"
	ReconcileOrgName        = "ReconcileOrg"
	ReconcileAllName        = "ReconcileAll"
	PruneAuditName          = "PruneAudit"
)

// Search attributes shown in the Temporal UI. The SQL visibility store has
// only a few custom Keyword columns, so scimflow uses two.
var (
	OrgIDAttribute   = temporal.NewSearchAttributeKeyKeyword("ScimflowOrgId")
	GroupIDAttribute = temporal.NewSearchAttributeKeyKeyword("ScimflowGroupId")
)

// DefaultBatchSize is how many users one activity recalculates: large
// enough that a dev server's few hundred activities a second are not the
// bottleneck, small enough that a retry redoes little.
const DefaultBatchSize = 1000

// DefaultLanes is how many batches of one group pass run side by side:
// sized for a small Postgres, where each batch holds a connection and
// the locks of its users for the length of its statements.
const DefaultLanes = 4

// MaxLanes is the most lanes a pass uses: lanes split the member ids on
// their first hex character.
const MaxLanes = 16

// GroupWorkflowID is the one workflow ID of a group's recalculation, so a
// second "Update Group" finds the running workflow and is coalesced into it.
func GroupWorkflowID(orgID, groupID string) string { return "recalc-group/" + orgID + "/" + groupID }

// MembersWorkflowID is the workflow ID of an org's membership recalculation.
func MembersWorkflowID(orgID string) string { return "recalc-members/" + orgID }

// ReconcileWorkflowID is the workflow ID of an org's reconciliation.
func ReconcileWorkflowID(orgID string) string { return "reconcile/" + orgID }

// Recalculation statuses reported by Progress.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Progress is what QueryProgress answers.
type Progress struct {
	Status    string
	Version   int64 // mapping version of the pass under way
	Total     int64 // members when the pass started (added by its cutoff)
	Processed int64 // members of Total processed; never more than Total
	Changed   int64
	Batches   int64
	Passes    int64 // passes started, > 1 when an update was coalesced
	StartedAt time.Time
	// ETASeconds estimates the time left of the pass under way from its
	// pace so far (scimflow.Remaining); -1 unknown or not running.
	ETASeconds int64
	// PassStartedAt is when the pass under way started: a coalesced update
	// restarts the pass and its count, so an ETA is measured from here,
	// not from StartedAt.
	PassStartedAt time.Time
}

// MappingChanged is the payload of SignalMappingChanged.
type MappingChanged struct {
	Version int64
}
