package store

import (
	"context"
	"strings"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
)

const groupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"

// groupColumns maps lower-cased Group attribute paths to columns of groups
// g; search marks the columns of the groups_search index.
var groupColumns = map[string]column{
	"id":                {expr: "g.id", caseExact: true},
	"externalid":        {expr: "g.external_id", caseExact: true, nullable: true},
	"displayname":       {expr: "g.display_name", search: true},
	"meta.created":      {expr: "g.created_at", kind: kindTime},
	"meta.lastmodified": {expr: "g.updated_at", kind: kindTime},
	"meta.resourcetype": {expr: "'Group'", caseExact: true},
}

// groupResolver maps Group attributes to groups g and group_members gm.
type groupResolver struct{}

// memberColumns are the filterable sub-attributes of members.
var memberColumns = map[string]column{
	"value": {expr: "gm.user_id", caseExact: true},
	"type":  {expr: "'User'"},
}

func (groupResolver) compare(b *sqlBuilder, c *filter.Compare, inMulti string) error {
	p := c.Attr
	if p.URI != "" && !strings.EqualFold(p.URI, groupURN) {
		return invalidFilter("unknown attribute %q", p.String())
	}
	if inMulti != "" {
		col, ok := memberColumns[strings.ToLower(p.Name)]
		if !ok || p.SubAttr != "" {
			return invalidFilter("members can be filtered by value only, not %q", p.String())
		}
		return b.condition(col, c)
	}
	if strings.EqualFold(p.Name, "members") {
		sub := p.SubAttr
		if sub == "" {
			sub = "value"
		}
		col, ok := memberColumns[strings.ToLower(sub)]
		if !ok {
			return invalidFilter("members can be filtered by value only, not %q", p.String())
		}
		if c.Op == filter.OpPr {
			return b.exists(membersOf, nil, nil)
		}
		return b.exists(membersOf, nil, func() error { return b.condition(col, c) })
	}
	if strings.EqualFold(p.Name, "schemas") && p.SubAttr == "" {
		s, ok := c.Value.(string)
		if c.Op == filter.OpPr || (ok && c.Op == filter.OpEq && strings.EqualFold(s, groupURN)) {
			b.w("1=1")
			return nil
		}
		if ok && (c.Op == filter.OpEq || c.Op == filter.OpNe) {
			b.w(map[bool]string{true: "1=0", false: "1=1"}[c.Op == filter.OpEq])
			return nil
		}
		return invalidFilter("schemas supports eq, ne and pr with a string")
	}
	key := strings.ToLower(p.Name)
	if p.SubAttr != "" {
		key += "." + strings.ToLower(p.SubAttr)
	}
	col, ok := groupColumns[key]
	if !ok {
		return invalidFilter("unknown or unfilterable Group attribute %q", p.String())
	}
	return b.condition(col, c)
}

func (groupResolver) valuePath(b *sqlBuilder, vp *filter.ValuePath) error {
	if !strings.EqualFold(vp.Attr.Name, "members") || (vp.Attr.URI != "" && !strings.EqualFold(vp.Attr.URI, groupURN)) {
		return invalidFilter("%q is not a multi-valued attribute of Group", vp.Attr.String())
	}
	return b.exists(membersOf, vp, func() error { return b.expr(vp.Filter, "members") })
}

// membersOf is the FROM and WHERE of a subquery over the members of group g.
const membersOf = "SELECT 1 FROM group_members gm WHERE gm.group_id = g.id"

func (groupResolver) order(sortBy string) (string, bool, error) {
	if sortBy == "" {
		return "", false, nil
	}
	p, err := filter.ParsePath(sortBy)
	key := strings.ToLower(p.Attr.Name)
	if p.Attr.SubAttr != "" {
		key += "." + strings.ToLower(p.Attr.SubAttr)
	}
	col, ok := groupColumns[key]
	if err != nil || p.Filter != nil || !ok {
		return "", false, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "cannot sort Groups by %q", sortBy)
	}
	return sortKey(col), false, nil
}

// ListGroups returns a page of the groups of org and the total number of
// matches.
func (db *DB) ListGroups(ctx context.Context, orgID string, q scim.ListQuery) ([]*scimflow.Group, int, error) {
	groups, pg, err := db.listGroups(ctx, orgID, q, LargeOrg)
	return groups, pg.Total, err
}

// ListGroupsPage is ListUsersPage for groups.
func (db *DB) ListGroupsPage(ctx context.Context, orgID string, q scim.ListQuery) ([]*scimflow.Group, scim.Page, error) {
	return db.listGroups(ctx, orgID, q, LargeOrg)
}

// groupsList is the list of the groups of org, which is large above
// large groups.
func groupsList(orgID string, large int) resourceList {
	return resourceList{table: "groups g", alias: "g", orgID: orgID, noun: "groups", search: "displayName", r: groupResolver{}, large: large,
		uniqueKey: "lower(g.display_name)"}
}

// listGroups is ListGroups for an org that is large above large groups.
func (db *DB) listGroups(ctx context.Context, orgID string, q scim.ListQuery, large int) ([]*scimflow.Group, scim.Page, error) {
	var rows []groupRow
	pg, err := db.find(ctx, groupsList(orgID, large), q, &rows)
	if err != nil {
		return nil, pg, err
	}
	out := make([]*scimflow.Group, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, pg, nil
}

// Members returns up to limit members of group groupID of org whose user
// id is greater than after, in user id order: a keyset page, so reading a
// group of any size costs the same per page.
func (db *DB) Members(ctx context.Context, orgID, groupID, after string, limit int) ([]scimflow.Member, error) {
	var rows []struct {
		UserID      string
		DisplayName string
		UserName    string
	}
	err := db.gorm.WithContext(ctx).Table("group_members gm").
		Select("gm.user_id, u.display_name, u.user_name").
		Joins("JOIN users u ON u.id = gm.user_id").
		Joins("JOIN groups g ON g.id = gm.group_id").
		Where("gm.group_id = ? AND g.org_id = ? AND gm.user_id > ?", groupID, orgID, after).
		Order("gm.user_id").Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, internal("list members", err)
	}
	out := make([]scimflow.Member, len(rows))
	for i, r := range rows {
		out[i] = scimflow.Member{UserID: r.UserID, Display: r.DisplayName}
		if out[i].Display == "" {
			out[i].Display = r.UserName
		}
	}
	return out, nil
}

// GroupsOf returns, for each user id, the groups of org it belongs to
// (id and displayName), for the read-only User.groups attribute.
func (db *DB) GroupsOf(ctx context.Context, orgID string, userIDs []string) (map[string][]scimflow.Group, error) {
	out := make(map[string][]scimflow.Group, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		UserID      string
		ID          string
		DisplayName string
	}
	tx := db.gorm.WithContext(ctx)
	err := tx.Table("group_members gm").
		Select("gm.user_id, g.id, g.display_name").
		Joins("JOIN groups g ON g.id = gm.group_id").
		Where("g.org_id = ? AND "+inIDs(tx, "gm.user_id"), orgID, idsParam(tx, userIDs)).
		Order("g.display_name, g.id").Scan(&rows).Error
	if err != nil {
		return nil, internal("groups of users", err)
	}
	for _, r := range rows {
		out[r.UserID] = append(out[r.UserID], scimflow.Group{ID: r.ID, OrgID: orgID, DisplayName: r.DisplayName})
	}
	return out, nil
}
