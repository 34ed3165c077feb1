// Package testenv wires integration tests to real dependencies.
//
// Postgres comes from TEST_DATABASE_URL (a server URL whose user may create
// databases) or, when that is unset and Docker is available, from a
// container started with testcontainers-go. Every test gets a database of
// its own, created from a migrated template, so tests run in parallel and
// never see each other's rows.
//
// When a dependency is missing the test is skipped, unless
// TEST_REQUIRE_INTEGRATION=1 (set by CI), where it fails: a green CI run
// always means the integration suite ran.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/scimflow/scimflow/internal/store"
)

// Required reports whether integration dependencies must be present.
func Required() bool { return os.Getenv("TEST_REQUIRE_INTEGRATION") == "1" }

// missing skips t, or fails it when integration tests are required.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("integration dependency missing (TEST_REQUIRE_INTEGRATION=1): %s", msg)
	}
	t.Skipf("skipping integration test: %s", msg)
}

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
)

// postgresServer returns the URL of a Postgres server to create test
// databases on.
func postgresServer() (string, error) {
	serverOnce.Do(func() {
		if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
			serverURL = u
			return
		}
		serverURL, serverErr = startContainer()
	})
	return serverURL, serverErr
}

func startContainer() (u string, err error) {
	defer func() {
		// testcontainers panics in some environments without Docker.
		if r := recover(); r != nil {
			err = fmt.Errorf("testcontainers: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := tcpostgres.Run(ctx, "postgres:16-alpine",
		tcpostgres.WithDatabase("test"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		testcontainers.WithWaitStrategy(wait.ForListeningPort("5432/tcp").WithStartupTimeout(time.Minute)))
	if err != nil {
		return "", fmt.Errorf("no TEST_DATABASE_URL and no Docker for testcontainers: %w", err)
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}

// withDatabase returns serverURL pointing at database name.
func withDatabase(serverURL, name string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

var (
	templateMu    sync.Mutex
	templateReady = map[string]bool{}
)

// migrationsHash names the template after the migrations it holds, so a
// changed migration never reuses a stale template.
func migrationsHash() string {
	h := sha256.New()
	fs.WalkDir(store.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(store.Migrations(), path)
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// ensureTemplate creates the migrated template database once per server.
// An advisory lock serialises test binaries of different packages.
func ensureTemplate(ctx context.Context, admin *sql.DB, server, name string) error {
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateReady[name] {
		return nil
	}
	conn, err := admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(724011)"); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(724011)")
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		tmp := name + "_building"
		conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+tmp)
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+tmp); err != nil {
			return err
		}
		tmpURL, err := withDatabase(server, tmp)
		if err != nil {
			return err
		}
		db, err := store.Open(ctx, tmpURL)
		if err != nil {
			return err
		}
		_, err = db.Migrate(ctx)
		db.Close()
		if err != nil {
			return err
		}
		// Rename only once complete: a crashed run leaves no half-migrated template.
		if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+tmp+" RENAME TO "+name); err != nil {
			return err
		}
	}
	templateReady[name] = true
	return nil
}

// DatabaseURL creates a fresh, migrated Postgres database for t and returns
// its URL. The database is dropped when t ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	return createDatabase(t, true)
}

// EmptyDatabaseURL creates a fresh Postgres database without any schema
// (as before the first `scimflow migrate`) and returns its URL. The
// database is dropped when t ends.
func EmptyDatabaseURL(t testing.TB) string {
	t.Helper()
	return createDatabase(t, false)
}

func createDatabase(t testing.TB, migrated bool) string {
	t.Helper()
	server, err := postgresServer()
	if err != nil {
		missing(t, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := sql.Open("pgx", server)
	if err != nil {
		missing(t, "postgres %s: %v", server, err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		missing(t, "postgres not reachable at TEST_DATABASE_URL: %v", err)
	}
	name := "scimflow_t_" + randomSuffix()
	create := "CREATE DATABASE " + name
	if migrated {
		tpl := "scimflow_tpl_" + migrationsHash()
		if err := ensureTemplate(ctx, admin, server, tpl); err != nil {
			t.Fatalf("create template database: %v", err)
		}
		create += " TEMPLATE " + tpl
	}
	if _, err := admin.ExecContext(ctx, create); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", server)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := withDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// DB returns a store on a fresh, migrated Postgres database for t.
func DB(t testing.TB) *store.DB {
	t.Helper()
	return openDB(t, DatabaseURL(t))
}

// openDB opens the store at u for the duration of t.
func openDB(t testing.TB, u string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// SQLiteDB returns a store on a fresh, migrated SQLite file in t's temp dir.
func SQLiteDB(t testing.TB) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/scimflow.db")
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return db
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
