package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// ListUsersLarge is ListUsers with an org that is large above large users
// instead of LargeOrg, so that a test can make a large org of a few.
func (db *DB) ListUsersLarge(ctx context.Context, orgID string, q scim.ListQuery, large int) ([]*scimflow.User, int, error) {
	users, pg, err := db.listUsers(ctx, orgID, q, large)
	return users, pg.Total, err
}

// ListGroupsLarge is ListGroups with an org that is large above large
// groups instead of LargeOrg.
func (db *DB) ListGroupsLarge(ctx context.Context, orgID string, q scim.ListQuery, large int) ([]*scimflow.Group, int, error) {
	groups, pg, err := db.listGroups(ctx, orgID, q, large)
	return groups, pg.Total, err
}

// ExplainList returns the plans (Postgres EXPLAIN, text) of the count and
// the page statements that ListUsers (users true) or ListGroups run for q.
func (db *DB) ExplainList(ctx context.Context, orgID string, q scim.ListQuery, users bool) (string, error) {
	l := groupsList(orgID, LargeOrg)
	if users {
		l = usersList(orgID, LargeOrg)
	}
	s, err := db.listSQL(ctx, l, q)
	if err != nil {
		return "", err
	}
	dry := db.gorm.Session(&gorm.Session{DryRun: true}).WithContext(ctx)
	var n int64
	var rows []map[string]any
	sqlDB, err := db.gorm.DB()
	if err != nil {
		return "", err
	}
	var plan []string
	page := s.page(dry, q)
	if q.Paging == scim.PagingCursor {
		page = s.keysetPage(dry, q)
	}
	for i, stmt := range []*gorm.Statement{s.count(dry).Count(&n).Statement, page.Find(&rows).Statement} {
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			return "", err
		}
		defer tx.Rollback()
		if i == 1 && q.Paging == scim.PagingCursor {
			for _, set := range keysetSettings {
				if _, err := tx.ExecContext(ctx, set); err != nil {
					return "", err
				}
			}
		}
		r, err := tx.QueryContext(ctx, "EXPLAIN "+stmt.SQL.String(), stmt.Vars...)
		if err != nil {
			return "", err
		}
		for r.Next() {
			var line string
			if err := r.Scan(&line); err != nil {
				r.Close()
				return "", err
			}
			plan = append(plan, line)
		}
		if err := r.Err(); err != nil {
			return "", err
		}
		r.Close()
	}
	return strings.Join(plan, "\n"), nil
}

// SetAuditTrail turns the audit trail on or off (benchmarks measure its
// cost).
func (db *DB) SetAuditTrail(on bool) { db.noAudit.Store(!on) }

// EchoIDs sends ids through an idList and returns what the database read:
// the rows of eachID, then those of them that inIDs matches.
func (db *DB) EchoIDs(ctx context.Context, ids []string) (rows, matched []string, err error) {
	tx := db.gorm.WithContext(ctx)
	if err := tx.Raw("SELECT ids.id FROM "+eachID(tx), idsParam(tx, ids)).Scan(&rows).Error; err != nil {
		return nil, nil, err
	}
	err = tx.Raw("SELECT ids.id FROM "+eachID(tx)+" WHERE "+inIDs(tx, "ids.id"), idsParam(tx, ids), idsParam(tx, ids)).Scan(&matched).Error
	return rows, matched, err
}
