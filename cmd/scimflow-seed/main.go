// Command scimflow-seed creates an org in a scimflow Postgres database and
// fills it with the layout of the recalculation benchmarks (package
// benchseed): N users, 50 groups, 500 entry points, every user in 5
// groups, one group holding every user, four groups mapped to 20 entry
// points each, every effective role materialised.
//
//	DATABASE_URL=postgres://... go run ./cmd/scimflow-seed -members 100000 [-analyze] [-migrate]
//
// It prints the org, its tokens and the target group as JSON, so that an
// Update Group can be sent to a running `scimflow serve`:
//
//	PUT /api/v1/scim/groups/{targetGroupId}/entry-points with the 20
//	targetEntryPoints and a role other than "admin".
//
// The seed runs no ANALYZE unless -analyze is given: a fresh import has no
// statistics, the case that matters most.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/scimflow/scimflow/internal/benchseed"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "scimflow-seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scimflow-seed", flag.ContinueOnError)
	url := fs.String("database-url", os.Getenv("DATABASE_URL"), "Postgres URL of a scimflow database (env DATABASE_URL)")
	members := fs.Int("members", 100_000, "users in the org, all members of the target group")
	analyze := fs.Bool("analyze", false, "ANALYZE the database after seeding (default: leave it without statistics)")
	migrate := fs.Bool("migrate", false, "apply scimflow's migrations first")
	name := fs.String("name", "", "org name (default: Bench <members> <time>)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *members < 1 {
		return fmt.Errorf("need -database-url (or DATABASE_URL) and -members ≥ 1")
	}
	db, err := store.Open(ctx, *url)
	if err != nil {
		return err
	}
	defer db.Close()
	if db.Dialect() != store.Postgres {
		return fmt.Errorf("the seed is Postgres SQL; %s is %s", *url, db.Dialect())
	}
	if *migrate {
		if _, err := db.Migrate(ctx); err != nil {
			return err
		}
	}
	if *name == "" {
		*name = fmt.Sprintf("Bench %d %s", *members, time.Now().UTC().Format("2006-01-02T15:04:05"))
	}
	b, err := db.CreateOrg(ctx, store.NewOrg{Name: *name, Plan: scimflow.PlanBusiness, SCIMGroups: true})
	if err != nil {
		return err
	}
	_, scimToken, err := db.CreateToken(ctx, b.Org.ID, store.NewToken{Scope: scimflow.ScopeSCIM, Name: "seed"})
	if err != nil {
		return err
	}
	sqlDB, err := db.SQL()
	if err != nil {
		return err
	}
	start := time.Now()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	o, err := benchseed.Seed(ctx, sqlDB, b.Org.ID, *members, logf)
	if err != nil {
		return err
	}
	seeded := time.Since(start)
	if *analyze {
		t := time.Now()
		if _, err := sqlDB.ExecContext(ctx, "ANALYZE"); err != nil {
			return err
		}
		logf("analyze: %s", time.Since(t).Round(time.Millisecond))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{
		"orgId": b.Org.ID, "adminToken": b.TokenSecret, "scimToken": scimToken,
		"members": o.Members, "targetGroupId": o.Target, "targetEntryPoints": o.TargetEntryPoints,
		"effectiveRoles": o.EffectiveRoles, "seedSeconds": seeded.Seconds(), "analyzed": *analyze,
	})
}
