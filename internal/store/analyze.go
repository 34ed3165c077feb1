package store

import (
	"context"
	"sync"
	"time"
)

// Postgres plans from table statistics, which autovacuum keeps fresh,
// unless it is off or has not caught up with a bulk import yet. scimflow's
// own statements are written not to need them (see recalculatePostgres),
// but a database that serves them is better with them: where scimflow
// makes bulk changes it analyzes the touched tables itself, when their
// statistics are missing or stale, at most once per analyzeEvery per table
// and process.

const (
	// analyzeMinRows: smaller tables plan well enough without statistics.
	analyzeMinRows = 10_000
	// analyzeStale: the share of rows changed since the last ANALYZE that
	// makes statistics stale (autovacuum's default is 10% + 50 rows).
	analyzeStale = 0.2
	analyzeEvery = 10 * time.Minute
)

// analyzer remembers when it last analyzed each table.
type analyzer struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// refreshStatistics analyzes those of tables whose statistics are missing
// or stale. It is best effort: a failure is not the caller's failure.
func (db *DB) refreshStatistics(ctx context.Context, tables ...string) {
	if db.dialect != Postgres {
		return
	}
	var stale []struct {
		Relname string
	}
	err := db.gorm.WithContext(ctx).Raw(`SELECT relname FROM pg_stat_user_tables
		WHERE relname IN ? AND n_live_tup + n_mod_since_analyze >= ?
		AND (coalesce(last_analyze, last_autoanalyze) IS NULL OR n_mod_since_analyze > ? * n_live_tup)`,
		tables, analyzeMinRows, analyzeStale).Scan(&stale).Error
	if err != nil {
		return
	}
	for _, t := range stale {
		if !db.analyzed.due(t.Relname, time.Now()) {
			continue
		}
		// Identifiers come from pg_stat_user_tables, filtered by our list.
		db.gorm.WithContext(ctx).Exec("ANALYZE " + t.Relname)
	}
}

// due reports whether table may be analyzed now, and if so records it.
func (a *analyzer) due(table string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == nil {
		a.last = map[string]time.Time{}
	}
	if now.Sub(a.last[table]) < analyzeEvery {
		return false
	}
	a.last[table] = now
	return true
}
