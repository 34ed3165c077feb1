package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/scimflow/scimflow/api"
	"github.com/scimflow/scimflow/internal/engine"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/workflows"
)

// config is the process configuration: environment first, flags override.
type config struct {
	DatabaseURL string
	HTTPAddr    string
	OpsAddr     string // worker: /healthz, /readyz, /metrics
	DataDir     string
	PublicURL   string

	TemporalAddress   string
	TemporalNamespace string
	TemporalTaskQueue string        // queue of every workflow, activity and schedule
	BatchSize         int           // users per recalculation activity
	Lanes             int           // batches of one group pass in flight at once
	ReconcileEvery    time.Duration // interval of the reconciliation schedule
	AuditRetention    time.Duration // how long audit events are kept; 0: for ever

	// RateLimit and RateBurst limit each token (requests per second, and
	// at once); a rate of 0 turns the limit off.
	RateLimit float64
	RateBurst int
	// NotifyTimeout bounds how long a write waits for Temporal after its
	// commit.
	NotifyTimeout time.Duration
	// SyncStaleAfter is how long without a SCIM request makes the admin
	// UI warn that provisioning may have stopped.
	SyncStaleAfter time.Duration
	// TemporalUIURL is the Temporal web UI the admin UI links
	// recalculations to; dev fills in its embedded UI.
	TemporalUIURL string
	// Tracing is the OpenTelemetry exporter (SCIMFLOW_TRACING): off, otlp
	// or stdout.
	Tracing string
	// TemporalPort and TemporalUIPort are the ports of dev's embedded
	// Temporal frontend and web UI.
	TemporalPort, TemporalUIPort devPort
	// runtimeConfig is how commands log and stop (log.go).
	runtimeConfig

	envErrs []error // environment values that do not parse
}

// envFloat, envInt and envDuration read a numeric variable; a value that
// does not parse is remembered and reported by check.
func (c *config) envFloat(env *environment, name string, def float64) float64 {
	v := env.getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		c.envErrs = append(c.envErrs, fmt.Errorf("%s=%q: want a number ≥ 0", name, v))
		return def
	}
	return f
}

func (c *config) envInt(env *environment, name string, def int) int {
	return int(c.envFloat(env, name, float64(def)))
}

func (c *config) envDuration(env *environment, name string, def time.Duration) time.Duration {
	v := env.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		c.envErrs = append(c.envErrs, fmt.Errorf("%s=%q: want a positive duration such as 2s", name, v))
		return def
	}
	return d
}

// check reports the first environment value that did not parse.
func (c *config) check() error {
	if len(c.envErrs) > 0 {
		return usageError{c.envErrs[0].Error()}
	}
	return nil
}

// limits are the API's request limits from the configuration.
func (c *config) limits() api.Limits {
	l := api.Limits{Rate: c.RateLimit, Burst: c.RateBurst}
	if c.RateLimit == 0 {
		l.Rate = -1 // off
	}
	return l
}

func loadConfig(env *environment) config {
	c := config{
		DatabaseURL: env.getenv("DATABASE_URL"),
		HTTPAddr:    env.getenv("SCIMFLOW_HTTP_ADDR"),
		OpsAddr:     env.getenv("SCIMFLOW_OPS_ADDR"),
		DataDir:     env.getenv("SCIMFLOW_DATA_DIR"),
		PublicURL:   env.getenv("SCIMFLOW_PUBLIC_URL"),

		TemporalAddress:   env.getenv("TEMPORAL_ADDRESS"),
		TemporalNamespace: env.getenv("TEMPORAL_NAMESPACE"),
		TemporalTaskQueue: env.getenv("TEMPORAL_TASK_QUEUE"),
	}
	c.Lanes = c.envInt(env, "SCIMFLOW_LANES", workflows.DefaultLanes)
	c.BatchSize = c.envInt(env, "SCIMFLOW_BATCH_SIZE", workflows.DefaultBatchSize)
	c.ReconcileEvery = c.envDuration(env, "SCIMFLOW_RECONCILE_EVERY", 24*time.Hour)
	c.RateLimit = c.envFloat(env, "SCIMFLOW_RATE_LIMIT", api.DefaultRate)
	c.RateBurst = c.envInt(env, "SCIMFLOW_RATE_BURST", api.DefaultBurst)
	c.NotifyTimeout = c.envDuration(env, "SCIMFLOW_NOTIFY_TIMEOUT", engine.DefaultNotifyTimeout)
	c.SyncStaleAfter = c.envDuration(env, "SCIMFLOW_SYNC_STALE_AFTER", 24*time.Hour)
	c.TemporalUIURL = env.getenv("SCIMFLOW_TEMPORAL_UI_URL")
	c.Tracing = env.getenv("SCIMFLOW_TRACING")
	c.TemporalPort = c.envPort(env, "SCIMFLOW_TEMPORAL_PORT", 7233)
	c.TemporalUIPort = c.envPort(env, "SCIMFLOW_TEMPORAL_UI_PORT", 8233)
	c.AuditRetention = defaultAuditRetention
	if v := env.getenv("SCIMFLOW_AUDIT_RETENTION"); v == "0" {
		c.AuditRetention = 0 // keep for ever
	} else {
		c.AuditRetention = c.envDuration(env, "SCIMFLOW_AUDIT_RETENTION", defaultAuditRetention)
	}
	if c.TemporalNamespace == "" {
		c.TemporalNamespace = "default"
	}
	if c.TemporalTaskQueue == "" {
		c.TemporalTaskQueue = workflows.DefaultTaskQueue
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = ":8080"
	}
	if c.OpsAddr == "" {
		c.OpsAddr = ":9090"
	}
	if c.DataDir == "" {
		c.DataDir = ".scimflow"
	}
	c.loadRuntime(env)
	return c
}

// flagSet returns the flag set of command name, with the database flags
// every command shares; usage goes to the environment's stderr.
func (c *config) flagSet(name string, env *environment) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	c.databaseFlags(fs)
	c.logFlags(fs)
	return fs
}

// databaseFlags registers the flags every database command shares.
func (c *config) databaseFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "Postgres URL (env DATABASE_URL); empty: SQLite in the data dir")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the embedded SQLite database (env SCIMFLOW_DATA_DIR)")
}

// temporalFlags registers the flags of the Temporal cluster and of the
// recalculations a command starts (serve, worker, dev, reconcile); dev's
// address may be empty.
func (c *config) temporalFlags(fs *flag.FlagSet, dev bool) {
	note := ""
	if dev {
		note = "; empty: start an embedded server"
	}
	c.temporalServerFlags(fs, note)
	fs.StringVar(&c.TemporalTaskQueue, "temporal-task-queue", c.TemporalTaskQueue, "task queue of scimflow's workflows, activities and schedules (env TEMPORAL_TASK_QUEUE); deployments sharing a namespace need one each")
	fs.IntVar(&c.BatchSize, "batch-size", c.BatchSize, "users recalculated per activity (env SCIMFLOW_BATCH_SIZE)")
}

// lanesFlag registers the lanes of a group pass (serve, worker, dev).
func (c *config) lanesFlag(fs *flag.FlagSet) {
	fs.IntVar(&c.Lanes, "lanes", c.Lanes, "batches of one group's recalculation in flight at once (env SCIMFLOW_LANES)")
}

// workerFlags registers what only a worker reads: its schedules (worker,
// dev).
func (c *config) workerFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.ReconcileEvery, "reconcile-every", c.ReconcileEvery, "interval of the scheduled reconciliation (env SCIMFLOW_RECONCILE_EVERY)")
	fs.DurationVar(&c.AuditRetention, "audit-retention", c.AuditRetention, "how long audit events are kept, pruned daily; 0 keeps them for ever (env SCIMFLOW_AUDIT_RETENTION)")
}

// temporalServerFlags registers the flags that name the Temporal cluster;
// note ends the address flag's help.
func (c *config) temporalServerFlags(fs *flag.FlagSet, note string) {
	fs.StringVar(&c.TemporalAddress, "temporal-address", c.TemporalAddress, "Temporal frontend host:port (env TEMPORAL_ADDRESS)"+note)
	fs.StringVar(&c.TemporalNamespace, "temporal-namespace", c.TemporalNamespace, "Temporal namespace (env TEMPORAL_NAMESPACE)")
}

// defaultAuditRetention keeps a year of audit events, the span most
// access reviews look back over.
const defaultAuditRetention = 365 * 24 * time.Hour

// databaseURL is DATABASE_URL or, when unset, the SQLite file of the data dir.
func (c config) databaseURL() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	abs, err := filepath.Abs(filepath.Join(c.DataDir, "scimflow.db"))
	if err != nil {
		abs = filepath.Join(c.DataDir, "scimflow.db")
	}
	return "sqlite:" + abs
}

// openStore opens an existing database and, when migrate is set, brings
// its schema up to date. It never creates a SQLite file: a command run
// from another folder would otherwise answer from a new, empty database.
func openStore(ctx context.Context, c config, migrate bool) (*store.DB, error) {
	if path, ok := strings.CutPrefix(c.databaseURL(), "sqlite:"); ok {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, errNoDatabase(c, path)
		}
	}
	return createStore(ctx, c, migrate)
}

// errNoDatabase says where the SQLite database was looked for and how to
// get one.
func errNoDatabase(c config, path string) error {
	if c.DatabaseURL != "" {
		return fmt.Errorf("no database at %s (DATABASE_URL): create it with \"scimflow migrate\", or fix DATABASE_URL", path)
	}
	return fmt.Errorf("no database: DATABASE_URL is not set and %s does not exist; "+
		"run \"scimflow dev\" or \"scimflow migrate\" to create it, point --data-dir (env SCIMFLOW_DATA_DIR) at the directory that holds it, "+
		"or set DATABASE_URL", path)
}

// createStore is openStore for dev and migrate, which create the SQLite
// file when it does not exist yet.
func createStore(ctx context.Context, c config, migrate bool) (*store.DB, error) {
	db, err := store.Open(ctx, c.databaseURL())
	if err != nil {
		return nil, err
	}
	if migrate {
		if _, err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// readyChecks are what /readyz checks: the database answers, its schema
// is the one this binary needs, and Temporal answers.
func readyChecks(db *store.DB, eng *engine.Client) []api.ReadyCheck {
	return []api.ReadyCheck{
		{Name: "database", Check: db.Ping},
		{Name: "schema", Check: db.CheckSchema},
		{Name: "temporal", Check: eng.Ping},
	}
}

// parseFlags parses args and rejects stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}
