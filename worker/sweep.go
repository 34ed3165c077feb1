package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/scimflow/scimflow/internal/engine"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
)

// Sweeper catches work whose Temporal call was lost: the database commit
// of an "Update Group" or a membership change succeeded, but the process
// died, or Temporal was down, before SignalWithStart. Such work is still
// in the database (a pending recalculation, outbox rows), and the sweeper
// hands it to the engine again. Duplicates are harmless: signals coalesce.
type Sweeper struct {
	DB       *store.DB
	Engine   *engine.Client
	Logger   *slog.Logger
	Interval time.Duration // default 15s
	Age      time.Duration // how old work must be to count as lost; default 10s
}

// Run sweeps every Interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	interval, age := s.Interval, s.Age
	if interval <= 0 {
		interval = 15 * time.Second
	}
	if age <= 0 {
		age = 10 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.Sweep(ctx, age)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep hands lost work older than age to the engine once.
func (s *Sweeper) Sweep(ctx context.Context, age time.Duration) {
	recs, err := s.DB.StaleRecalculations(ctx, age)
	if err != nil {
		s.Logger.WarnContext(ctx, "sweep: stale recalculations", "error", err)
	}
	for _, r := range recs {
		if r.Status == scimflow.RecalcRunning {
			// Running in the database: hand it over only when its workflow
			// is gone (terminated by an operator, or lost with its server).
			running, err := s.Engine.GroupRunning(ctx, r.OrgID, r.GroupID)
			if err != nil || running {
				continue
			}
		}
		if err := s.Engine.RecalculateGroup(ctx, r); err != nil {
			s.Logger.WarnContext(ctx, "sweep: restart recalculation", "recalculation", r.ID, "error", err)
		}
	}
	orgs, err := s.DB.OrgsWithStaleOutbox(ctx, age)
	if err != nil {
		s.Logger.WarnContext(ctx, "sweep: stale outbox", "error", err)
	}
	for _, org := range orgs {
		if err := s.Engine.MembersChanged(ctx, org); err != nil {
			s.Logger.WarnContext(ctx, "sweep: wake membership recalculation", "org", org, "error", err)
		}
	}
}
