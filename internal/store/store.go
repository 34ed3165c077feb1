// Package store persists scimflow's domain in Postgres (production) or an
// embedded SQLite file (dev) through GORM. It owns the schema (versioned SQL
// migrations embedded in the binary), translates driver errors into
// *scimflow.Error, and is the only package that writes SQL.
//
// Every method takes the org as its first argument after ctx: a row of
// another org is indistinguishable from a missing one.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	moderncsqlite "modernc.org/sqlite"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// maxIdleConns is how many Postgres connections the pool keeps open idle.
const maxIdleConns = 10

// Dialect is the SQL flavour behind a DB.
type Dialect string

// Supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is a handle on scimflow's database. It is safe for concurrent use.
type DB struct {
	gorm     *gorm.DB
	dialect  Dialect
	now      func() time.Time
	notifier atomic.Pointer[notifierBox]
	analyzed analyzer // when refreshStatistics last ran, per table
	// noAudit turns the audit trail off; only a benchmark does, to
	// measure what the trail costs.
	noAudit atomic.Bool
}

// Open connects to the database named by url: a postgres:// or
// postgresql:// URL, or sqlite:PATH for an embedded SQLite file (created
// with its directory when missing). It does not migrate; call Migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                now,
	}
	var (
		g   *gorm.DB
		d   Dialect
		err error
	)
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		d = Postgres
		g, err = gorm.Open(postgres.Open(url), cfg)
	case strings.HasPrefix(url, "sqlite:"):
		d = SQLite
		if err := registerUnicodeLower(); err != nil {
			return nil, err
		}
		path := strings.TrimPrefix(url, "sqlite:")
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("create data dir: %w", err)
			}
		}
		// WAL lets readers run beside the single writer; foreign keys are
		// off by default in SQLite; busy_timeout waits instead of failing
		// when another connection holds the write lock.
		dsn := path + "?_txlock=immediate&_time_format=sqlite" +
			"&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
		g, err = gorm.Open(sqlite.Open(dsn), cfg)
	default:
		return nil, fmt.Errorf("unsupported database URL %q: want postgres://... or sqlite:PATH", redact(url))
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", d, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	if d == SQLite {
		// SQLite has one writer; one connection avoids SQLITE_BUSY storms.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(maxIdleConns)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", d, err)
	}
	return &DB{gorm: g, dialect: d, now: now}, nil
}

var (
	lowerOnce sync.Once
	lowerErr  error
)

// registerUnicodeLower replaces SQLite's lower(), which folds ASCII only,
// by Go's Unicode-aware strings.ToLower, so that userName and displayName
// are unique and compared without case for every script, as on Postgres.
// It applies to the connections opened afterwards, in this process.
func registerUnicodeLower() error {
	lowerOnce.Do(func() {
		lowerErr = moderncsqlite.RegisterDeterministicScalarFunction("lower", 1,
			func(_ *moderncsqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
				switch v := args[0].(type) {
				case string:
					return strings.ToLower(v), nil
				case []byte:
					return strings.ToLower(string(v)), nil
				}
				return args[0], nil
			})
	})
	return lowerErr
}

// now is the clock of the store: UTC, truncated to milliseconds so that a
// time survives a round trip through either database unchanged.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// Dialect reports the SQL flavour of db.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL returns the underlying *sql.DB (for migrations and health checks).
func (db *DB) SQL() (*sql.DB, error) { return db.gorm.DB() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	s, err := db.gorm.DB()
	if err != nil {
		return err
	}
	return s.PingContext(ctx)
}

// dropIdle closes the pool's idle connections. When the database dropped
// one connection (a restart, a failover, an administrator), it dropped the
// others opened before too; the next statement then gets a fresh one
// instead of another dead one.
func (db *DB) dropIdle() {
	s, err := db.gorm.DB()
	if err != nil || db.dialect != Postgres {
		return
	}
	s.SetMaxIdleConns(0)
	s.SetMaxIdleConns(maxIdleConns)
}

// Close closes the connection pool.
func (db *DB) Close() error {
	s, err := db.gorm.DB()
	if err != nil {
		return err
	}
	return s.Close()
}

// redact hides the password of a URL in error messages.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return url
	}
	return url[:scheme+3] + "***" + url[at:]
}

// uniqueViolation returns the name of the violated unique index, or "".
func uniqueViolation(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if pgErr.Code == "23505" {
			return pgErr.ConstraintName, true
		}
		return "", false
	}
	// modernc.org/sqlite reports "constraint failed: UNIQUE constraint
	// failed: index 'users_org_user_name' (2067)" or, for column
	// constraints, "... UNIQUE constraint failed: api_tokens.secret_hash".
	msg := err.Error()
	i := strings.Index(msg, "UNIQUE constraint failed: ")
	if i < 0 {
		return "", false
	}
	rest := msg[i+len("UNIQUE constraint failed: "):]
	if strings.HasPrefix(rest, "index '") {
		rest = strings.TrimPrefix(rest, "index '")
		if j := strings.IndexByte(rest, '\''); j >= 0 {
			return rest[:j], true
		}
	}
	return rest, true
}

// connectionLost reports whether err says the database connection failed
// or went away (a restart, a failover, pg_terminate_backend), rather than
// that the statement was wrong: the same request can succeed on a new
// connection.
func connectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down, crashed, or not accepting connections yet.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "conn closed")
}

// abortedTx reports whether err says the database rolled the transaction
// back to resolve a conflict (deadlock, serialization failure): running it
// again is safe and usually succeeds.
func abortedTx(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// internal wraps an unexpected driver error.
func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *scimflow.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if connectionLost(err) {
		return &scimflow.Error{Code: scimflow.EUNAVAILABLE, Message: "the database is briefly unavailable; retry", Err: fmt.Errorf("%s: %w", op, err)}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "22021", "22P05", "54000", "22001":
			// Text the database cannot store or index (encoding, size): the
			// client's value, not the server, is at fault.
			return &scimflow.Error{Code: scimflow.EINVALID, SCIMType: scimflow.SCIMInvalidValue,
				Message: "a value is too long or contains characters that cannot be stored", Err: err}
		case "23503":
			// A referenced row vanished under a concurrent request.
			return &scimflow.Error{Code: scimflow.ECONFLICT, Message: "a resource this request refers to was deleted meanwhile; retry", Err: err}
		case "40P01", "40001":
			return &scimflow.Error{Code: scimflow.ECONFLICT, Message: "the request collided with a concurrent change; retry", Err: err}
		}
	}
	return &scimflow.Error{Code: scimflow.EINTERNAL, Message: "internal error", Err: fmt.Errorf("%s: %w", op, err)}
}
