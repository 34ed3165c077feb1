package main

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, args []string, env *environment) error {
	cfg := loadConfig(env)
	fs := cfg.flagSet("migrate", env)
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
	return nil
}
