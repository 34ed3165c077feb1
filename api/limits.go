package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// Limits bound what one client, and one org, can make a replica do. The
// zero value means the defaults; a negative rate turns rate limiting off.
// Every limit is per replica: N replicas admit N times as much.
type Limits struct {
	// Rate is the sustained requests per second of one token, Burst how
	// many it may send at once. Identity providers back off on 429, and
	// the defaults are far above what Entra ID or Okta send at full speed.
	Rate  float64
	Burst int
	// OrgHeavy is how many database-heavy requests (lists, searches,
	// whole groups) of one org run at once; more wait up to OrgHeavyWait
	// for a turn, then get 429. One org's scans queue behind each other
	// instead of in front of every other org.
	OrgHeavy     int
	OrgHeavyWait time.Duration
}

// Defaults of Limits.
const (
	DefaultRate         = 100
	DefaultBurst        = 200
	DefaultOrgHeavy     = 2
	DefaultOrgHeavyWait = 10 * time.Second
)

func (l Limits) withDefaults() Limits {
	if l.Rate == 0 {
		l.Rate = DefaultRate
	}
	if l.Burst <= 0 {
		l.Burst = DefaultBurst
	}
	if l.OrgHeavy <= 0 {
		l.OrgHeavy = DefaultOrgHeavy
	}
	if l.OrgHeavyWait <= 0 {
		l.OrgHeavyWait = DefaultOrgHeavyWait
	}
	return l
}

// limitBody caps the body of every request of a route group before
// anything reads it, authentication and form parsing included.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
	}
}

const tokenIDKey = "tokenID"

// tokenLimiter is a token bucket per API token.
type tokenLimiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newTokenLimiter(l Limits) *tokenLimiter {
	if l.Rate < 0 {
		return nil
	}
	return &tokenLimiter{rate: rate.Limit(l.Rate), burst: l.Burst, buckets: map[string]*bucket{}}
}

// allow takes one request from key's bucket, or says how long to wait.
func (t *tokenLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.swept) > time.Minute {
		// A bucket idle long enough to be full again holds no state.
		for k, b := range t.buckets {
			if now.Sub(b.seen) > time.Minute {
				delete(t.buckets, k)
			}
		}
		t.swept = now
	}
	b := t.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(t.rate, t.burst)}
		t.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// rateLimit refuses a token's request beyond its rate with 429 and
// Retry-After, in the surface's error format. It runs after
// authentication, which names the token.
func (s *Server) rateLimit(c *gin.Context) error {
	if s.tokens == nil {
		return nil
	}
	ok, wait := s.tokens.allow(c.GetString(tokenIDKey), time.Now())
	if ok {
		return nil
	}
	return &scimflow.Error{Code: scimflow.ERATELIMITED, RetryAfter: wait,
		Message: "too many requests with this token; slow down and retry after the time in Retry-After"}
}

// orgGate bounds the concurrent heavy requests of each org.
type orgGate struct {
	size int
	wait time.Duration

	mu    sync.Mutex
	slots map[string]chan struct{}
	users map[string]int
}

func newOrgGate(l Limits) *orgGate {
	return &orgGate{size: l.OrgHeavy, wait: l.OrgHeavyWait, slots: map[string]chan struct{}{}, users: map[string]int{}}
}

// enter waits for one of org's slots; the returned function leaves it.
func (g *orgGate) enter(ctx context.Context, org string) (func(), error) {
	g.mu.Lock()
	ch := g.slots[org]
	if ch == nil {
		ch = make(chan struct{}, g.size)
		g.slots[org] = ch
	}
	g.users[org]++
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		if g.users[org]--; g.users[org] == 0 {
			delete(g.slots, org)
			delete(g.users, org)
		}
		g.mu.Unlock()
	}
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	select {
	case ch <- struct{}{}:
		return func() { <-ch; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	case <-timer.C:
		leave()
		return nil, &scimflow.Error{Code: scimflow.ERATELIMITED, RetryAfter: time.Second,
			Message: "this org already has the most expensive requests (lists, searches, whole groups) running that it may; retry shortly"}
	}
}

// heavy runs a database-heavy handler in one of its org's slots.
func (s *Server) heavy(h handlerFunc) handlerFunc {
	return func(c *gin.Context) error {
		leave, err := s.gate.enter(c, orgID(c))
		if err != nil {
			return err
		}
		defer leave()
		return h(c)
	}
}
