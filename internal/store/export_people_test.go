package store

import (
	"context"
	"strings"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// ExplainPeople returns the plans (Postgres EXPLAIN, text) of the
// statements of SearchUsers (groupID "") or GroupMembersByName for q.
func (db *DB) ExplainPeople(ctx context.Context, orgID, groupID string, size int, q scimflow.PageQuery) (string, error) {
	var plan []string
	explain := func(_ any, sql string, args ...any) error {
		rows, err := db.gorm.WithContext(ctx).Raw("EXPLAIN "+sql, args...).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan = append(plan, line)
		}
		plan = append(plan, "----")
		return rows.Err()
	}
	var err error
	if groupID == "" {
		_, err = db.searchUsers(ctx, orgID, q, explain)
	} else {
		_, err = db.groupMembersByName(orgID, groupID, size, q, explain)
	}
	return strings.Join(plan, "\n"), err
}
