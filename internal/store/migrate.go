package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// Migrate applies every pending migration of db's dialect and reports how
// many it applied. It is safe to run concurrently from several processes:
// goose takes a lock on Postgres.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	sqlDB, err := db.gorm.DB()
	if err != nil {
		return 0, err
	}
	dir := "migrations/postgres"
	dialect := goose.DialectPostgres
	var opts []goose.ProviderOption
	if db.dialect == SQLite {
		dir, dialect = "migrations/sqlite", goose.DialectSQLite3
	} else {
		// Two processes starting at once (serve and worker) must not both
		// apply the same migration: goose takes an advisory lock.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return 0, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return 0, err
	}
	p, err := goose.NewProvider(dialect, sqlDB, fsys, opts...)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// Migrations returns the embedded migration files (for tests that key a
// template database on their content).
func Migrations() fs.FS { return migrations }
