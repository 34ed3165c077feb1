package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/scimflow/scimflow/activities"
	"github.com/scimflow/scimflow/internal/engine"
	"github.com/scimflow/scimflow/internal/metrics"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/worker"
)

// temporalConn is a Temporal client and, in dev, the embedded server.
type temporalConn struct {
	client   client.Client
	hostPort string // the frontend it talks to
	dev      *devServer
}

// devServer is the embedded Temporal server of `dev` and its web UI.
type devServer struct {
	FrontendAddr string // host:port of the gRPC frontend
	UIURL        string // http://host:port of the web UI
	Stop         func()
}

// errNoDev is what `dev` answers in a binary built with -tags nodev.
var errNoDev = errors.New(`dev is not part of this build: it was built with -tags nodev, without the embedded Temporal server and UI; ` +
	`run "scimflow serve" and "scimflow worker" with TEMPORAL_ADDRESS set, or use a build without that tag`)

func (t *temporalConn) Close() {
	t.client.Close()
	if t.dev != nil {
		t.dev.Stop()
	}
}

// connectTemporal connects to TEMPORAL_ADDRESS or, in dev mode when it is
// unset, starts an embedded server in the data dir. Outside dev the client
// is lazy: serve starts even while Temporal is down, and the sweeper hands
// over what was committed meanwhile.
// The SDK's own metrics go to reg when it is not nil; tr traces
// workflows and activities under the span that started them.
func connectTemporal(ctx context.Context, cfg config, dev bool, logger *slog.Logger, reg *metrics.Metrics, tr *tracing) (*temporalConn, error) {
	opts := client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    temporalLogger(logger),
	}
	interceptors, err := tr.interceptors()
	if err != nil {
		return nil, err
	}
	opts.Interceptors = interceptors
	if reg != nil {
		opts.MetricsHandler = reg.TemporalHandler()
	}
	conn := &temporalConn{}
	if dev && cfg.TemporalAddress == "" {
		srv, err := startDevTemporal(cfg, logger)
		if err != nil {
			return nil, err
		}
		conn.dev, opts.HostPort = srv, srv.FrontendAddr
		c, err := client.DialContext(ctx, opts)
		if err != nil {
			srv.Stop()
			return nil, fmt.Errorf("connect to the embedded Temporal server: %w", err)
		}
		conn.client, conn.hostPort = c, opts.HostPort
		return conn, nil
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("client for Temporal at %s: %w", opts.HostPort, err)
	}
	conn.client, conn.hostPort = c, opts.HostPort
	return conn, nil
}

// temporalLogger is the Temporal SDK's logger: the command's own handler
// (format and level), its attributes grouped under "temporal".
func temporalLogger(logger *slog.Logger) sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(logger.Handler().WithGroup("temporal")))
}

// runWorkerLoop registers the search attributes, then runs a worker and
// the sweeper until ctx ends; the schedules are set up beside them.
func runWorkerLoop(ctx context.Context, conn *temporalConn, db *store.DB, cfg config, logger *slog.Logger, m *metrics.Metrics) error {
	m.WatchBacklog(func(ctx context.Context) (metrics.Backlog, error) {
		b, err := db.Backlog(ctx)
		return metrics.Backlog(b), err
	}, logger)
	setupCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := engine.EnsureSearchAttributes(setupCtx, conn.client, cfg.TemporalNamespace); err != nil {
		logger.Warn("search attributes not registered; workflows will not start until they are", "error", err)
	}
	eng := &engine.Client{Temporal: conn.client, TaskQueue: cfg.TemporalTaskQueue, BatchSize: cfg.BatchSize, Lanes: cfg.Lanes, Logger: logger}
	// On stop the worker stops polling at once and gives running batches
	// WorkerStopTimeout to finish before their context is cancelled; the
	// caller closes the Temporal client only after Stop returned, so a
	// finishing batch can still report its result.
	w := worker.New(conn.client, cfg.TemporalTaskQueue, &activities.Activities{DB: db, Logger: logger, Metrics: m, AuditRetention: cfg.AuditRetention},
		sdkworker.Options{WorkerStopTimeout: cfg.WorkerStopTimeout})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	schedulesDone := make(chan struct{})
	go func() {
		defer close(schedulesDone)
		ensureSchedules(ctx, eng, cfg, logger)
	}()
	defer func() { <-schedulesDone }()
	sweeper := &worker.Sweeper{DB: db, Engine: eng, Logger: logger}
	sweeper.Run(ctx)
	logger.Info("stopping worker: running activities may finish", "timeout", cfg.WorkerStopTimeout)
	w.Stop()
	return nil
}

// ensureSchedules creates or updates the reconciliation and audit pruning
// schedules, retrying until they are set up or ctx ends. It does not hold
// up the worker: updating an existing schedule first describes it, which
// queries the scheduler workflow, and a server that has just started
// answers that only once its internal worker runs (on `dev` restarts,
// after the SDK's 10 s call timeout, at least once).
func ensureSchedules(ctx context.Context, eng *engine.Client, cfg config, logger *slog.Logger) {
	start, backoff := time.Now(), time.Second
	for {
		attempt, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := eng.EnsureSchedule(attempt, cfg.ReconcileEvery)
		if err == nil {
			err = eng.EnsureAuditPruneSchedule(attempt)
		}
		cancel()
		if err == nil {
			logger.Debug("schedules set up", "reconcile", eng.ReconcileScheduleID(), "audit", eng.AuditScheduleID())
			return
		}
		// A server that is still starting is normal for a minute or so;
		// past that, an operator should hear about it.
		level := slog.LevelDebug
		if time.Since(start) > time.Minute {
			level = slog.LevelWarn
		}
		logger.Log(ctx, level, "schedules not set up yet; retrying", "error", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}
