package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/scimflow/scimflow/internal/engine"
)

// namespaceRetention is how long Temporal keeps the history of a closed
// recalculation in a namespace that migrate creates (Temporal's own
// default for new namespaces).
const namespaceRetention = 72 * time.Hour

// runMigrate prepares what scimflow needs, idempotently: the database
// schema and, when TEMPORAL_ADDRESS is set, the Temporal namespace and
// scimflow's search attributes on it.
func runMigrate(ctx context.Context, args []string, env *environment) error {
	cfg := loadConfig(env)
	fs := cfg.flagSet("migrate", env)
	cfg.temporalServerFlags(fs, "; set: also create the namespace and search attributes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := createStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "applied %d migration(s) to the %s database\n", n, db.Dialect())
	if cfg.TemporalAddress == "" {
		return nil
	}
	return prepareTemporal(ctx, cfg, env)
}

// prepareTemporal creates the namespace when it is missing and registers
// the search attributes. A namespace just created takes a few seconds to
// reach every Temporal service, so the registration is retried for up to
// a minute.
func prepareTemporal(ctx context.Context, cfg config, env *environment) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	opts := client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace}
	created, err := engine.EnsureNamespace(ctx, opts, cfg.TemporalNamespace, namespaceRetention)
	if err != nil {
		return err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	defer c.Close()
	for {
		err = engine.EnsureSearchAttributes(ctx, c, cfg.TemporalNamespace)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("Temporal namespace %q: %w", cfg.TemporalNamespace, err)
		case <-time.After(500 * time.Millisecond): // retry interval
		}
	}
	state := "exists"
	if created {
		state = "created"
	}
	fmt.Fprintf(env.stdout, "Temporal namespace %q at %s: %s, search attributes registered\n", cfg.TemporalNamespace, cfg.TemporalAddress, state)
	return nil
}
