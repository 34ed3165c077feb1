package store

import (
	"context"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// EntryPointUsage returns, for each of the entry points ids of org, the
// number of users with an effective role on it and the groups that map
// it, by role (highest first) and name. Entry points of another org count
// nothing.
func (db *DB) EntryPointUsage(ctx context.Context, orgID string, ids []string) (map[string]*scimflow.EntryPointUsage, error) {
	out := make(map[string]*scimflow.EntryPointUsage, len(ids))
	for _, id := range ids {
		out[id] = &scimflow.EntryPointUsage{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	tx := db.gorm.WithContext(ctx)
	var counts []struct {
		EntryPointID string
		N            int
	}
	// effective_roles_entry_point (entry_point_id, user_id) serves each
	// count; org_id keeps another org's rows out.
	err := tx.Raw(`SELECT entry_point_id, count(*) AS n FROM effective_roles
		WHERE entry_point_id IN ? AND org_id = ? GROUP BY entry_point_id`, ids, orgID).Scan(&counts).Error
	if err != nil {
		return nil, internal("count entry point users", err)
	}
	for _, c := range counts {
		out[c.EntryPointID].Users = c.N
	}
	var grants []struct {
		EntryPointID string
		GroupID      string
		DisplayName  string
		Role         string
	}
	err = tx.Raw(`SELECT m.entry_point_id, g.id AS group_id, g.display_name, m.role
		FROM group_mappings m JOIN groups g ON g.id = m.group_id JOIN roles r ON r.name = m.role
		WHERE m.entry_point_id IN ? AND g.org_id = ?
		ORDER BY r.rank DESC, lower(g.display_name), g.id`, ids, orgID).Scan(&grants).Error
	if err != nil {
		return nil, internal("entry point groups", err)
	}
	for _, g := range grants {
		u := out[g.EntryPointID]
		u.Grants = append(u.Grants, scimflow.Grant{GroupID: g.GroupID, GroupName: g.DisplayName, Role: g.Role})
	}
	return out, nil
}
