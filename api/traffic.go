package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// Provisioning health. Every SCIM request made with a known token is
// counted in memory, per token and hour, with the failed ones kept as
// examples; a few seconds later the counts are added to the database in
// one transaction (TrafficStore). An IdP's burst of a thousand requests
// then costs a handful of upserts, not a thousand inserts. A replica that
// dies loses its last few seconds of counts, which a health view can
// afford.

// TrafficStore keeps the SCIM traffic counters.
type TrafficStore interface {
	AddSCIMTraffic(ctx context.Context, counts []scimflow.TrafficCount, failures []scimflow.SCIMFailure) error
	PruneSCIMTraffic(ctx context.Context) error
	SCIMTraffic(ctx context.Context, orgID string, since time.Time) (map[string]scimflow.TokenTraffic, error)
	SCIMFailures(ctx context.Context, orgID, tokenID string) ([]scimflow.SCIMFailure, error)
}

const (
	// trafficFlushEvery is how long counts wait in memory.
	trafficFlushEvery = 5 * time.Second
	// failuresPerFlush bounds the failures kept per token between
	// flushes: the ring in the database keeps no more.
	failuresPerFlush = 20

	scimTokenKey   = "scimToken"
	scimFailureKey = "scimFailure"
)

type trafficKey struct {
	token string
	hour  time.Time
}

// trafficBuffer is one replica's counts not yet in the database.
type trafficBuffer struct {
	store TrafficStore
	log   func(err error)

	mu        sync.Mutex
	counts    map[trafficKey]*scimflow.TrafficCount
	failures  map[string][]scimflow.SCIMFailure // by token
	scheduled bool
	pruned    time.Time
	flushing  sync.Mutex // one flush at a time, so counts are added once
}

func newTrafficBuffer(st TrafficStore, log func(error)) *trafficBuffer {
	return &trafficBuffer{store: st, log: log, counts: map[trafficKey]*scimflow.TrafficCount{}, failures: map[string][]scimflow.SCIMFailure{}}
}

// record counts one request, and f when it failed. A flush is scheduled
// when none is: no goroutine runs while nothing is recorded.
func (b *trafficBuffer) record(tok *scimflow.Token, at time.Time, f *scimflow.SCIMFailure) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := trafficKey{tok.ID, at.UTC().Truncate(time.Hour)}
	c := b.counts[k]
	if c == nil {
		c = &scimflow.TrafficCount{TokenID: tok.ID, OrgID: tok.OrgID, Hour: k.hour}
		b.counts[k] = c
	}
	c.Requests++
	if at.After(c.LastAt) {
		c.LastAt = at
	}
	if f != nil {
		c.Errors++
		fs := append(b.failures[tok.ID], *f)
		if len(fs) > failuresPerFlush {
			fs = fs[len(fs)-failuresPerFlush:]
		}
		b.failures[tok.ID] = fs
	}
	if !b.scheduled {
		b.scheduled = true
		time.AfterFunc(trafficFlushEvery, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := b.flush(ctx); err != nil {
				b.log(err)
			}
		})
	}
}

// flush adds the buffered counts to the database. On failure they are
// put back, to be added by the next flush.
func (b *trafficBuffer) flush(ctx context.Context) error {
	b.flushing.Lock()
	defer b.flushing.Unlock()
	b.mu.Lock()
	counts, failures := b.counts, b.failures
	b.counts, b.failures, b.scheduled = map[trafficKey]*scimflow.TrafficCount{}, map[string][]scimflow.SCIMFailure{}, false
	prune := time.Since(b.pruned) > time.Hour
	if prune {
		b.pruned = time.Now()
	}
	b.mu.Unlock()
	if len(counts) == 0 && len(failures) == 0 {
		return nil
	}
	cs := make([]scimflow.TrafficCount, 0, len(counts))
	for _, c := range counts {
		cs = append(cs, *c)
	}
	var fs []scimflow.SCIMFailure
	for _, f := range failures {
		fs = append(fs, f...)
	}
	if err := b.store.AddSCIMTraffic(ctx, cs, fs); err != nil {
		b.putBack(counts, failures)
		return err
	}
	if prune {
		return b.store.PruneSCIMTraffic(ctx)
	}
	return nil
}

func (b *trafficBuffer) putBack(counts map[trafficKey]*scimflow.TrafficCount, failures map[string][]scimflow.SCIMFailure) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, c := range counts {
		if cur := b.counts[k]; cur != nil {
			cur.Requests += c.Requests
			cur.Errors += c.Errors
			if c.LastAt.After(cur.LastAt) {
				cur.LastAt = c.LastAt
			}
		} else {
			b.counts[k] = c
		}
	}
	for tok, fs := range failures {
		all := append(fs, b.failures[tok]...)
		b.failures[tok] = all[max(0, len(all)-failuresPerFlush):]
	}
}

// FlushTraffic writes the SCIM traffic counted so far; serve calls it
// when it stops, the health views before they read.
func (s *Server) FlushTraffic(ctx context.Context) error {
	if s.traffic == nil {
		return nil
	}
	return s.traffic.flush(ctx)
}

// recordSCIM is the outermost middleware of /scim/v2: after the request
// was answered (errors included), it counts it for its token, when
// authentication named one.
func (s *Server) recordSCIM(c *gin.Context) {
	c.Next()
	if s.traffic == nil {
		return
	}
	tok, _ := c.Get(scimTokenKey)
	t, ok := tok.(*scimflow.Token)
	if !ok {
		return
	}
	now := time.Now()
	var f *scimflow.SCIMFailure
	if status := c.Writer.Status(); status >= http.StatusBadRequest {
		f = &scimflow.SCIMFailure{TokenID: t.ID, OrgID: t.OrgID, At: now, Method: c.Request.Method, Path: c.Request.URL.Path, Status: status}
		if v, ok := c.Get(scimFailureKey); ok {
			body := v.(scim.ErrorResponse)
			f.SCIMType, f.Detail = body.SCIMType, body.Detail
		}
	}
	s.traffic.record(t, now, f)
}
