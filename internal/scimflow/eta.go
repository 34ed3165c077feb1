package scimflow

import "time"

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
