package store

import (
	"context"
	"errors"
	"strings"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// OrgUser returns user id of org, SCIM-provisioned or local (the admin API
// authorises local Org Admins too).
func (db *DB) OrgUser(ctx context.Context, orgID, id string) (*scimflow.User, error) {
	var r userRow
	err := db.gorm.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, userNotFound(id)
	}
	if err != nil {
		return nil, internal("find user", err)
	}
	return r.domain(nil), nil
}

// ListGroupSummaries returns the groups of org with their member and
// mapping counts, by name; search filters by a case-insensitive substring
// of the display name.
func (db *DB) ListGroupSummaries(ctx context.Context, orgID, search string, offset, limit int) ([]scimflow.GroupSummary, int, error) {
	q := db.gorm.WithContext(ctx).Table("groups g").Where("g.org_id = ?", orgID)
	if search = strings.TrimSpace(search); search != "" {
		q = q.Where(`lower(g.display_name) LIKE lower(?) ESCAPE '\'`, "%"+likeEscape(search)+"%")
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, internal("count groups", err)
	}
	var rows []groupSummaryRow
	err := q.Select(`g.*,
		(SELECT count(*) FROM group_members gm WHERE gm.group_id = g.id) AS member_count,
		(SELECT count(*) FROM group_mappings m WHERE m.group_id = g.id) AS mapping_count`).
		Order("lower(g.display_name), g.id").Offset(offset).Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, 0, internal("list groups", err)
	}
	out := make([]scimflow.GroupSummary, len(rows))
	for i := range rows {
		out[i] = scimflow.GroupSummary{Group: *rows[i].Group.domain(), MemberCount: rows[i].MemberCount, MappingCount: rows[i].MappingCount}
	}
	return out, int(total), nil
}

// GroupSummary returns one group with its counts.
func (db *DB) GroupSummary(ctx context.Context, orgID, id string) (*scimflow.GroupSummary, error) {
	g, err := db.FindGroup(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	s := &scimflow.GroupSummary{Group: *g}
	tx := db.gorm.WithContext(ctx)
	var members, mappings int64
	if err := tx.Model(&groupMemberRow{}).Where("group_id = ?", id).Count(&members).Error; err != nil {
		return nil, internal("count members", err)
	}
	if err := tx.Model(&mappingRow{}).Where("group_id = ?", id).Count(&mappings).Error; err != nil {
		return nil, internal("count mappings", err)
	}
	s.MemberCount, s.MappingCount = int(members), int(mappings)
	return s, nil
}

// UserAccess returns a user's stored effective role on each entry point,
// with the groups (and their mapped roles) that grant it: the answer to
// "why does this user have Approver here?".
func (db *DB) UserAccess(ctx context.Context, orgID, userID string) ([]scimflow.Access, error) {
	if _, err := db.OrgUser(ctx, orgID, userID); err != nil {
		return nil, err
	}
	tx := db.gorm.WithContext(ctx)
	var eff []struct {
		EntryPointID string
		Name         string
		Role         string
	}
	err := tx.Table("effective_roles er").Select("er.entry_point_id, e.name, er.role").
		Joins("JOIN entry_points e ON e.id = er.entry_point_id").
		Where("er.user_id = ? AND er.org_id = ?", userID, orgID).Order("lower(e.name), e.id").Scan(&eff).Error
	if err != nil {
		return nil, internal("user access", err)
	}
	var grants []struct {
		EntryPointID string
		GroupID      string
		DisplayName  string
		Role         string
	}
	err = tx.Table("group_members gm").Select("m.entry_point_id, g.id AS group_id, g.display_name, m.role").
		Joins("JOIN groups g ON g.id = gm.group_id").
		Joins("JOIN group_mappings m ON m.group_id = gm.group_id").
		Joins("JOIN roles r ON r.name = m.role").
		Where("gm.user_id = ? AND g.org_id = ?", userID, orgID).
		Order("r.rank DESC, lower(g.display_name)").Scan(&grants).Error
	if err != nil {
		return nil, internal("user grants", err)
	}
	byEP := map[string][]scimflow.Grant{}
	for _, g := range grants {
		byEP[g.EntryPointID] = append(byEP[g.EntryPointID], scimflow.Grant{GroupID: g.GroupID, GroupName: g.DisplayName, Role: g.Role})
	}
	out := make([]scimflow.Access, len(eff))
	for i, e := range eff {
		out[i] = scimflow.Access{EntryPoint: scimflow.EntryPoint{ID: e.EntryPointID, OrgID: orgID, Name: e.Name}, Role: e.Role, Grants: byEP[e.EntryPointID]}
	}
	return out, nil
}

// EntryPointMembers returns who can reach an entry point, by userName.
func (db *DB) EntryPointMembers(ctx context.Context, orgID, entryPointID string, offset, limit int) ([]scimflow.EntryPointMember, int, error) {
	if _, err := db.FindEntryPoint(ctx, orgID, entryPointID); err != nil {
		return nil, 0, err
	}
	q := db.gorm.WithContext(ctx).Table("effective_roles er").
		Joins("JOIN users u ON u.id = er.user_id").
		Where("er.entry_point_id = ? AND er.org_id = ?", entryPointID, orgID)
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, internal("count entry point members", err)
	}
	var rows []struct {
		UserID      string
		UserName    string
		DisplayName string
		Role        string
	}
	err := q.Select("er.user_id, u.user_name, u.display_name, er.role").
		Order("lower(u.user_name), u.id").Offset(offset).Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, 0, internal("entry point members", err)
	}
	out := make([]scimflow.EntryPointMember, len(rows))
	for i, r := range rows {
		out[i] = scimflow.EntryPointMember(r)
	}
	return out, int(total), nil
}

type groupSummaryRow struct {
	Group        groupRow `gorm:"embedded"`
	MemberCount  int
	MappingCount int
}
