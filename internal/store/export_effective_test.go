package store

import (
	"context"
	"strings"
)

// ExplainRecalculate returns the plan (Postgres EXPLAIN, text) of the
// statement that recalculates userIDs (all active) on entry points eps.
func (db *DB) ExplainRecalculate(ctx context.Context, orgID string, userIDs, eps []string) (string, error) {
	ids := make([]any, len(userIDs))
	for i, id := range userIDs {
		ids[i] = id
	}
	q, args := recalcStatement(orgID, db.now(), ids, ids, eps)
	var plan []string
	err := db.gorm.WithContext(ctx).Raw("EXPLAIN "+q, args...).Scan(&plan).Error
	return strings.Join(plan, "\n"), err
}

// RefreshStatistics exposes refreshStatistics.
func (db *DB) RefreshStatistics(ctx context.Context, tables ...string) {
	db.refreshStatistics(ctx, tables...)
}
