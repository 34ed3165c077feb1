package workflows

import "time"

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
	Total int64 // members of the group added at or before Cutoff
	// Cutoff is the store's clock when it counted Total; zero in histories
	// recorded before cutoffs.
	Cutoff time.Time
}

// GroupBatchInput recalculates the next page of one lane of a group's
// members: user ids in [From, To) after the cursor.
type GroupBatchInput struct {
	OrgID, GroupID string
	Version        int64  // mapping version of the pass
	From, To       string // the lane; "" To: no upper bound
	After          string // keyset cursor: last user id of the lane's previous page
	Limit          int
	// Cutoff of the pass (StartGroupPassResult.Cutoff): only members added
	// at or before it count towards Processed; zero: every member counts.
	Cutoff time.Time
	// ProcessedSoFar is the pass's count before this batch was scheduled,
	// recorded in the database for the admin's progress bar. Lanes run
	// side by side, so it leaves out their batches in flight: the store
	// keeps the highest value it was given, a lower bound of the truth.
	ProcessedSoFar int64
}

// GroupBatchResult is the outcome of one page.
type GroupBatchResult struct {
	Next      string // cursor for the next page
	Processed int    // members of the page that count towards the pass's Total
	Changed   int
	Done      bool // the page was the lane's last
}

// FinishGroupPassInput closes the recalculations up to Version.
type FinishGroupPassInput struct {
	OrgID, GroupID string
	Version        int64
	Processed      int64
	Changed        int64
	Error          string // non-empty: the pass failed
	// StartedAt is when the pass started (workflow time), for the
	// duration in logs and metrics; zero when it never started.
	StartedAt time.Time
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
