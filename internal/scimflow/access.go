package scimflow

import "time"

// EntryPoint is a resource inside an org that users get access to.
type EntryPoint struct {
	ID        string
	OrgID     string
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Mapping grants Role on an entry point to the members of a group.
type Mapping struct {
	GroupID        string
	EntryPointID   string
	EntryPointName string
	Role           string // viewer, contributor, reporter, approver or admin
}

// GroupSummary is a group as the admin list shows it.
type GroupSummary struct {
	Group
	MemberCount  int
	MappingCount int
}

// Grant says why a user has a role: a group they are an active member of,
// mapped to the entry point with Role.
type Grant struct {
	GroupID   string
	GroupName string
	Role      string
}

// Access is a user's effective role on one entry point and its grants.
type Access struct {
	EntryPoint EntryPoint
	Role       string
	Grants     []Grant
}

// EntryPointMember is a user who can reach an entry point.
type EntryPointMember struct {
	UserID      string
	UserName    string
	DisplayName string
	Role        string
}

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
}

// Empty reports whether there is nothing to hand over.
func (q Queued) Empty() bool { return !q.Members && q.Recalculation == nil }
