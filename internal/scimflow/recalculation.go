package scimflow

import "time"

// Recalculation statuses.
const (
	RecalcPending   = "pending"
	RecalcRunning   = "running"
	RecalcCompleted = "completed"
	RecalcFailed    = "failed"
)

// Recalculation kinds.
const (
	RecalcGroup     = "group"     // a group's mapping changed ("Update Group")
	RecalcReconcile = "reconcile" // from-scratch recomputation of an org
)

// Recalculation is one requested recomputation of effective roles and its
// progress. It outlives the workflow that performs it.
type Recalculation struct {
	ID             string
	OrgID          string
	GroupID        string
	GroupName      string // when known; for the Temporal UI
	Kind           string
	Status         string
	MappingVersion int64
	EntryPointIDs  []string // entry points whose roles may change
	Total          int64
	Processed      int64
	Changed        int64 // effective-role rows written or deleted
	Error          string
	WorkflowID     string
	CreatedAt      time.Time
	StartedAt      *time.Time
	FinishedAt     *time.Time
	// PassStartedAt is when the pass under way started: later than
	// StartedAt when a newer mapping restarted the pass. Known only from
	// the running workflow.
	PassStartedAt *time.Time
}

// ETA estimates the time left of a running recalculation (see Remaining).
func (r *Recalculation) ETA(now time.Time) (time.Duration, bool) {
	if r.Status != RecalcRunning {
		return 0, false
	}
	start := r.StartedAt
	if r.PassStartedAt != nil {
		start = r.PassStartedAt
	}
	if start == nil {
		return 0, false
	}
	return Remaining(*start, now, r.Total, r.Processed)
}

// Queued is the work a committed write left for the recalculation engine.
type Queued struct {
	OrgID string
	// Members is set when the write filled the org's recalculation outbox
	// (membership changes, (de)activation, deletions).
	Members bool
	// Recalculation is set when a group's mapping changed.
	Recalculation *Recalculation
	// Events are the audit events of the write, stored in its
	// transaction; they are not the engine's business.
	Events []AuditEvent
}

// Empty reports whether there is nothing to hand over.
func (q Queued) Empty() bool { return !q.Members && q.Recalculation == nil }

// Remaining estimates how long a pass that started at start, and has
// processed processed of total users by now, still needs at its pace so
// far. ok is false when nothing can be estimated: nothing processed yet,
// or nothing left.
//
// It is the one ETA of scimflow: the workflow's progress query, the admin
// API and the admin UI all call it, with the start of the pass under way
// (a coalesced update restarts the pass and its count).
func Remaining(start, now time.Time, total, processed int64) (d time.Duration, ok bool) {
	if processed <= 0 || total <= processed || start.IsZero() {
		return 0, false
	}
	elapsed := now.Sub(start)
	if elapsed < 0 {
		elapsed = 0
	}
	return time.Duration(float64(elapsed) * float64(total-processed) / float64(processed)), true
}
