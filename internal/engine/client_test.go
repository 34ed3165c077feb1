package engine

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// unreachable is a Temporal client whose calls hang until their context
// ends, as they do while the server cannot be reached.
type unreachable struct {
	client.Client
	calls       atomic.Int32
	liveOnEntry atomic.Bool
}

func (u *unreachable) SignalWithStartWorkflow(ctx context.Context, _ string, _ string, _ any, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	u.calls.Add(1)
	u.liveOnEntry.Store(ctx.Err() == nil)
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestCommittedIsBounded: a write's notification gives up after
// NotifyTimeout, is not cut short by a client that hung up after the
// commit, and once Temporal has failed, the next notifications do not
// wait for it at all (the sweeper delivers their work).
func TestCommittedIsBounded(t *testing.T) {
	fake := &unreachable{}
	c := &Client{Temporal: fake, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NotifyTimeout: 50 * time.Millisecond, NotifyBackoff: time.Hour}
	gone, cancel := context.WithCancel(context.Background())
	cancel() // the client hung up right after the commit
	c.Committed(gone, scimflow.Queued{OrgID: "o", Members: true})
	if fake.calls.Load() != 1 || !fake.liveOnEntry.Load() {
		t.Fatalf("first notification: %d calls, live context %v; want 1 call with a live context", fake.calls.Load(), fake.liveOnEntry.Load())
	}
	for range 3 {
		c.Committed(context.Background(), scimflow.Queued{OrgID: "o", Recalculation: &scimflow.Recalculation{ID: "r", OrgID: "o", GroupID: "g"}})
	}
	if n := fake.calls.Load(); n != 1 {
		t.Errorf("Temporal was called %d times during the backoff, want 1", n)
	}
	c.downUntil.Store(0) // the backoff has passed
	c.Committed(context.Background(), scimflow.Queued{OrgID: "o", Members: true})
	if n := fake.calls.Load(); n != 2 {
		t.Errorf("after the backoff Temporal was called %d times in all, want 2", n)
	}
}
