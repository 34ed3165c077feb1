package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scimflow"
)

func TestTokenLimiter(t *testing.T) {
	l := newTokenLimiter(Limits{Rate: 2, Burst: 3})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.allow("a", now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Errorf("allow after the burst = %v, %v; want false and a wait of at most 1/rate", ok, wait)
	}
	if ok, _ := l.allow("b", now); !ok {
		t.Error("another token was limited by the first one's requests")
	}
	if ok, _ := l.allow("a", now.Add(wait)); !ok {
		t.Errorf("refused again after waiting the Retry-After of %v", wait)
	}
	if newTokenLimiter(Limits{Rate: -1}) != nil {
		t.Error("a negative rate must turn limiting off")
	}
}

// TestOrgGate: an org's heavy requests beyond its slots wait, then are
// refused with 429; other orgs are not held up; a freed slot is reused.
func TestOrgGate(t *testing.T) {
	g := newOrgGate(Limits{OrgHeavy: 1, OrgHeavyWait: 20 * time.Millisecond})
	ctx := context.Background()
	leaveA, err := g.enter(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.enter(ctx, "a"); scimflow.ErrorCode(err) != scimflow.ERATELIMITED {
		t.Errorf("second heavy request of org a = %v, want ERATELIMITED", err)
	}
	leaveB, err := g.enter(ctx, "b")
	if err != nil {
		t.Fatalf("org b waited for org a: %v", err)
	}
	leaveB()
	leaveA()
	leave, err := g.enter(ctx, "a")
	if err != nil {
		t.Fatalf("org a after its slot was freed: %v", err)
	}
	leave()
	if len(g.slots) != 0 || len(g.users) != 0 {
		t.Errorf("idle orgs keep state: %d slots, %d users", len(g.slots), len(g.users))
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	leaveA, _ = g.enter(ctx, "a")
	defer leaveA()
	if _, err := g.enter(canceled, "a"); err != context.Canceled {
		t.Errorf("waiting with a canceled request = %v, want context.Canceled", err)
	}
}

// TestClientGoneIs499: a request whose client hung up is recorded as 499,
// not as a server error.
func TestClientGoneIs499(t *testing.T) {
	s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := gin.New()
	r.GET("/x", s.errorsAs(surfaceSCIM), handle(func(c *gin.Context) error { return c.Request.Context().Err() }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil).WithContext(ctx))
	if rec.Code != statusClientClosed || rec.Body.Len() != 0 {
		t.Errorf("status %d, body %q; want 499 and no body", rec.Code, rec.Body.String())
	}
}
