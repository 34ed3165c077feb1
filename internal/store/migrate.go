package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

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

// LatestMigration is the version of the newest migration this binary
// embeds for db's dialect: the schema version it needs.
func (db *DB) LatestMigration() (int64, error) {
	dir := "migrations/postgres"
	if db.dialect == SQLite {
		dir = "migrations/sqlite"
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if v, err := strconv.ParseInt(num, 10, 64); ok && err == nil {
			latest = max(latest, v)
		}
	}
	return latest, nil
}

// SchemaVersion is the newest migration applied to the database, 0 when
// none is. It reads goose's table directly: goose's own reader takes the
// migration lock, and a readiness probe must not wait for a migration.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	tx := db.gorm.WithContext(ctx)
	var exists bool
	q := "SELECT to_regclass('goose_db_version') IS NOT NULL"
	if db.dialect == SQLite {
		q = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version')"
	}
	if err := tx.Raw(q).Scan(&exists).Error; err != nil {
		return 0, internal("schema version", err)
	}
	if !exists {
		return 0, nil
	}
	var v int64
	if err := tx.Raw("SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version").Scan(&v).Error; err != nil {
		return 0, internal("schema version", err)
	}
	return v, nil
}

// CheckSchema reports an error when the database's schema is older than
// the one this binary was built for: before `scimflow migrate` ran, every
// request would fail. A newer schema is fine: during a rolling deploy the
// migration runs first and the replicas still on the previous binary
// keep serving (migrations only add).
func (db *DB) CheckSchema(ctx context.Context) error {
	want, err := db.LatestMigration()
	if err != nil {
		return err
	}
	have, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if have < want {
		return fmt.Errorf("schema at version %d, this binary needs %d: run scimflow migrate", have, want)
	}
	return nil
}
