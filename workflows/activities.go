package workflows

// Inputs and results of the activities (package activities implements
// them). Member ids never travel through workflow history: an activity
// reads its page itself and returns a cursor and counts.

// StartGroupPassInput marks a group's pending recalculations as running.
type StartGroupPassInput struct {
	OrgID, GroupID string
	Version        int64
	WorkflowID     string
}

// StartGroupPassResult is the size of the pass.
type StartGroupPassResult struct {
	Total int64 // members of the group
}

// GroupBatchInput recalculates the next page of a group's members.
type GroupBatchInput struct {
	OrgID, GroupID string
	Version        int64  // mapping version of the pass
	After          string // keyset cursor: last user id of the previous page
	Limit          int
	ProcessedSoFar int64 // recorded in the database for the admin's progress bar
}

// GroupBatchResult is the outcome of one page.
type GroupBatchResult struct {
	Next      string // cursor for the next page
	Processed int
	Changed   int
	Done      bool // the page was the last
}

// FinishGroupPassInput closes the recalculations up to Version.
type FinishGroupPassInput struct {
	OrgID, GroupID string
	Version        int64
	Processed      int64
	Changed        int64
	Error          string // non-empty: the pass failed
}

// FinishGroupPassResult tells the workflow whether a newer mapping exists
// in the database (a signal may still be on its way).
type FinishGroupPassResult struct {
	LatestVersion int64
	GroupExists   bool
}

// OutboxInput processes the next batch of an org's recalculation outbox.
type OutboxInput struct {
	OrgID string
	Limit int
}

// OutboxResult counts what one batch did.
type OutboxResult struct {
	Users   int
	Changed int
	More    bool // rows remain
}

// ReconcileInput recomputes the next page of an org's users from scratch.
type ReconcileInput struct {
	OrgID string
	After string
	Limit int
}

// ReconcileResult counts what one page fixed.
type ReconcileResult struct {
	Next  string
	Users int
	Fixed int
	Done  bool
}
