package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/scimflow/scimflow/api"
	"github.com/scimflow/scimflow/internal/engine"
	"github.com/scimflow/scimflow/internal/metrics"
)

// runWorker runs the Temporal worker (and the sweeper) against
// TEMPORAL_ADDRESS and DATABASE_URL until interrupted.
func runWorker(ctx context.Context, args []string, env *environment) error {
	cfg := loadConfig(env)
	fs := cfg.flagSet("worker", env)
	fs.StringVar(&cfg.OpsAddr, "ops-addr", cfg.OpsAddr, "address of /healthz, /readyz and /metrics (env SCIMFLOW_OPS_ADDR)")
	fs.DurationVar(&cfg.WorkerStopTimeout, "worker-stop-timeout", cfg.WorkerStopTimeout, "on SIGTERM, how long running batches may finish before they are cancelled (env SCIMFLOW_WORKER_STOP_TIMEOUT)")
	cfg.temporalFlags(fs, false)
	cfg.lanesFlag(fs)
	cfg.workerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger := newLogger(env.stderr, cfg)
	db, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	tr, err := startTracing(ctx, cfg, env, "worker")
	if err != nil {
		return err
	}
	defer flushTracing(tr, logger)
	reg := metrics.New()
	conn, err := connectTemporal(ctx, cfg, false, logger, reg, tr)
	if err != nil {
		return err
	}
	defer conn.Close()
	eng := &engine.Client{Temporal: conn.client, TaskQueue: cfg.TemporalTaskQueue}
	ops := &api.Server{Ready: readyChecks(db, eng), Metrics: reg, Logger: logger}
	ln, err := net.Listen("tcp", cfg.OpsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.OpsAddr, err)
	}
	fmt.Fprintf(env.stdout, "scimflow worker: task queue %q on %s\n", cfg.TemporalTaskQueue, cfg.TemporalAddress)
	fmt.Fprintf(env.stdout, "  ops: http://%s/readyz, /metrics\n", displayAddr(ln.Addr()))
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	opsDone := make(chan error, 1)
	go func() { opsDone <- serveHTTP(opsCtx, ln, ops.OpsHandler(), logger, cfg.ShutdownTimeout) }()
	if env.ready != nil {
		env.ready(ln.Addr().String())
	}
	err = runWorkerLoop(ctx, conn, db, cfg, logger, reg)
	// The probes answer until the worker has stopped: an orchestrator
	// sees the process alive while it drains.
	stopOps()
	if opsErr := <-opsDone; err == nil {
		err = opsErr
	}
	return err
}

// runReconcile recomputes an org's effective roles from scratch through
// the engine and prints how many rows it had to repair. It fails, rather
// than report nothing to repair, when the org is unknown, Temporal does
// not answer, or no worker polls the task queue within --wait.
func runReconcile(ctx context.Context, args []string, env *environment) error {
	cfg := loadConfig(env)
	fs := cfg.flagSet("reconcile", env)
	cfg.temporalFlags(fs, false)
	org := fs.String("org", "", "org id (required)")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for Temporal to answer and for a worker to poll the task queue")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *org == "" {
		return usageError{"reconcile: --org is required"}
	}
	logger := newLogger(env.stderr, cfg)
	db, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.FindOrg(ctx, *org); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	conn, err := connectTemporal(ctx, cfg, false, logger, nil, nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	eng := &engine.Client{Temporal: conn.client, TaskQueue: cfg.TemporalTaskQueue, BatchSize: cfg.BatchSize}
	where := fmt.Sprintf("Temporal at %s, namespace %q", conn.hostPort, cfg.TemporalNamespace)
	waitCtx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	if err := eng.Ping(waitCtx); err != nil {
		return fmt.Errorf("reconcile: %s does not answer: %w", where, err)
	}
	if err := eng.WaitForWorker(waitCtx); err != nil {
		return fmt.Errorf("reconcile: no worker on %s within %s: start \"scimflow worker\" with the same TEMPORAL_TASK_QUEUE (%w)", where, *wait, err)
	}
	res, err := eng.Reconcile(ctx, *org)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	if *asJSON {
		return json.NewEncoder(env.stdout).Encode(map[string]any{"org": *org, "users": res.Users, "fixed": res.Fixed})
	}
	fmt.Fprintf(env.stdout, "checked %d users, repaired %d effective roles\n", res.Users, res.Fixed)
	return nil
}
