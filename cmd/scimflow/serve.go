package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/scimflow/scimflow/api"
	"github.com/scimflow/scimflow/internal/engine"
	"github.com/scimflow/scimflow/internal/metrics"
	"github.com/scimflow/scimflow/internal/store"
)

// runServe runs the HTTP API until ctx ends. In dev mode it also applies
// migrations and bootstraps a development org on first start.
func runServe(ctx context.Context, args []string, env *environment, dev bool) error {
	name := "serve"
	if dev {
		name = "dev"
	}
	cfg := loadConfig(env)
	fs := cfg.flagSet(name, env)
	fs.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "address to listen on (env SCIMFLOW_HTTP_ADDR)")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "external base URL (env SCIMFLOW_PUBLIC_URL); default: from each request")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", cfg.RateLimit, "requests per second per token, per replica (env SCIMFLOW_RATE_LIMIT); 0: off")
	fs.IntVar(&cfg.RateBurst, "rate-burst", cfg.RateBurst, "requests a token may send at once (env SCIMFLOW_RATE_BURST)")
	fs.DurationVar(&cfg.NotifyTimeout, "notify-timeout", cfg.NotifyTimeout, "how long a write waits for Temporal after its commit (env SCIMFLOW_NOTIFY_TIMEOUT)")
	fs.DurationVar(&cfg.SyncStaleAfter, "sync-stale-after", cfg.SyncStaleAfter, "warn in the admin UI when no SCIM request arrived for this long (env SCIMFLOW_SYNC_STALE_AFTER)")
	fs.StringVar(&cfg.TemporalUIURL, "temporal-ui-url", cfg.TemporalUIURL, "Temporal web UI that recalculations link to (env SCIMFLOW_TEMPORAL_UI_URL); dev: its embedded UI")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "on SIGTERM, how long in-flight requests may finish (env SCIMFLOW_SHUTDOWN_TIMEOUT)")
	if dev {
		fs.DurationVar(&cfg.WorkerStopTimeout, "worker-stop-timeout", cfg.WorkerStopTimeout, "on SIGTERM, how long running batches may finish before they are cancelled (env SCIMFLOW_WORKER_STOP_TIMEOUT)")
	}
	cfg.temporalFlags(fs, dev)
	cfg.lanesFlag(fs)
	if dev {
		cfg.workerFlags(fs) // dev runs the worker too
	}
	if dev {
		fs.Var(&cfg.TemporalPort, "temporal-port", "port of the embedded Temporal frontend (env SCIMFLOW_TEMPORAL_PORT); unset: a free port when it is taken, set: taken is an error")
		fs.Var(&cfg.TemporalUIPort, "temporal-ui-port", "port of the embedded Temporal web UI (env SCIMFLOW_TEMPORAL_UI_PORT); unset: a free port when it is taken, set: taken is an error")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}
	logger := newLogger(env.stderr, cfg)

	// serve expects `scimflow migrate` to have run (a deploy step); dev
	// migrates itself so that one command starts everything.
	open := openStore
	if dev {
		open = createStore
	}
	db, err := open(ctx, cfg, dev)
	if err != nil {
		return err
	}
	defer db.Close()

	tr, err := startTracing(ctx, cfg, env, name)
	if err != nil {
		return err
	}
	defer flushTracing(tr, logger)
	reg := metrics.New()
	conn, err := connectTemporal(ctx, cfg, dev, logger, reg, tr)
	if err != nil {
		return err
	}
	defer conn.Close()
	// A committed write hands its queued work to Temporal from inside the
	// store's write path; the API only reads live progress.
	eng := &engine.Client{Temporal: conn.client, TaskQueue: cfg.TemporalTaskQueue, BatchSize: cfg.BatchSize, Lanes: cfg.Lanes, Logger: logger, NotifyTimeout: cfg.NotifyTimeout}
	db.SetNotifier(eng)
	if cfg.TemporalUIURL == "" && conn.dev != nil {
		cfg.TemporalUIURL = conn.dev.UIURL
	}
	srv := &api.Server{Auth: db, Orgs: db, Users: db, Groups: db, EntryPoints: db, Access: db, Tokens: db, Governance: db, Sessions: db, Live: eng,
		Traffic: db, SyncStaleAfter: cfg.SyncStaleAfter, TemporalUIURL: cfg.TemporalUIURL, TemporalNamespace: cfg.TemporalNamespace,
		Ready: readyChecks(db, eng), Metrics: reg, Logger: logger, PublicURL: cfg.PublicURL, Limits: cfg.limits()}
	if cfg.PublicURL == "" && !dev {
		logger.Warn("SCIMFLOW_PUBLIC_URL is not set: Location headers and meta.location follow each request's Host header; set it to the URL identity providers use")
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	base := "http://" + displayAddr(ln.Addr())
	if cfg.PublicURL != "" {
		base = cfg.PublicURL
	}
	fmt.Fprintf(env.stdout, "scimflow %s: listening on %s\n", name, base)
	fmt.Fprintf(env.stdout, "  SCIM base URL: %s/scim/v2\n", base)
	fmt.Fprintf(env.stdout, "  admin UI:      %s/admin\n", base)
	fmt.Fprintf(env.stdout, "  database:      %s\n", db.Dialect())
	if conn.dev != nil {
		fmt.Fprintf(env.stdout, "  Temporal:      %s (embedded)\n", conn.dev.FrontendAddr)
		fmt.Fprintf(env.stdout, "  Temporal UI:   %s\n", conn.dev.UIURL)
	} else {
		fmt.Fprintf(env.stdout, "  Temporal:      %s\n", cfg.TemporalAddress)
	}
	if dev {
		if err := devBootstrap(ctx, db, cfg, env); err != nil {
			ln.Close()
			return err
		}
	}
	if dev {
		// dev is the whole product in one process: the worker runs here.
		workerCtx, stopWorker := context.WithCancel(ctx)
		workerDone := make(chan error, 1)
		go func() { workerDone <- runWorkerLoop(workerCtx, conn, db, cfg, logger, reg) }()
		defer func() {
			stopWorker()
			<-workerDone
		}()
	}
	if env.ready != nil {
		env.ready(ln.Addr().String())
	}
	err = serveHTTP(ctx, ln, tr.handler(srv.Handler()), logger, cfg.ShutdownTimeout)
	// The last seconds of SCIM traffic counts are still in memory.
	flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ferr := srv.FlushTraffic(flushCtx); ferr != nil {
		logger.Warn("flush scim traffic", "error", ferr)
	}
	return err
}

// serveHTTP serves until ctx ends, then stops accepting connections and
// drains in-flight requests for up to drain; requests still running then
// are cut off and reported as an error.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, drain time.Duration) error {
	// A client has 30 s to send a request (bodies are at most 4 MiB) and
	// 5 minutes to read the answer (a group of a million members streams
	// in well under that): a slow client cannot hold a connection forever.
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: draining in-flight requests", "timeout", drain)
	// Requests run on the server's base context, not on ctx: the signal
	// that ends ctx does not cancel them.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		hs.Close()
		return fmt.Errorf("requests still running after %s: %w", drain, err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && (tcp.IP == nil || tcp.IP.IsUnspecified()) {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

// devCredentials are the secrets of the development org, kept in the data
// dir (mode 0600) so that every `dev` start can show them again.
type devCredentials struct {
	OrgID      string `json:"orgId"`
	AdminToken string `json:"adminToken"`
	SCIMToken  string `json:"scimToken"`
}

// devBootstrap creates a development org with an admin and a SCIM token on
// the first start of `dev`, and prints its credentials on every start.
func devBootstrap(ctx context.Context, db *store.DB, cfg config, env *environment) error {
	path := filepath.Join(cfg.DataDir, "dev-credentials.json")
	var creds devCredentials
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &creds) == nil {
		if _, err := db.FindOrg(ctx, creds.OrgID); err == nil {
			printDevCredentials(env, creds)
			return nil
		}
	}
	boot, err := db.CreateOrg(ctx, store.NewOrg{Name: "Dev Org", Plan: "enterprise", SCIMGroups: true})
	if err != nil {
		return fmt.Errorf("bootstrap dev org: %w", err)
	}
	_, scimSecret, err := db.CreateToken(ctx, boot.Org.ID, store.NewToken{Scope: "scim", Name: "dev"})
	if err != nil {
		return fmt.Errorf("bootstrap dev SCIM token: %w", err)
	}
	creds = devCredentials{OrgID: boot.Org.ID, AdminToken: boot.TokenSecret, SCIMToken: scimSecret}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(creds, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("save dev credentials: %w", err)
	}
	printDevCredentials(env, creds)
	return nil
}

func printDevCredentials(env *environment, c devCredentials) {
	fmt.Fprintf(env.stdout, "  dev org:       %s\n", c.OrgID)
	fmt.Fprintf(env.stdout, "  SCIM token:    %s\n", c.SCIMToken)
	fmt.Fprintf(env.stdout, "  admin token:   %s\n", c.AdminToken)
}
