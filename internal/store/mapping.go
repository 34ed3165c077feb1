package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/access"
	"github.com/scimflow/scimflow/internal/scimflow"
)

type mappingRow struct {
	GroupID      string
	EntryPointID string
	Role         string
}

func (mappingRow) TableName() string { return "group_mappings" }

// GroupMappings returns the mappings of group groupID of org, by entry
// point name.
func (db *DB) GroupMappings(ctx context.Context, orgID, groupID string) ([]scimflow.Mapping, error) {
	if _, err := db.FindGroup(ctx, orgID, groupID); err != nil {
		return nil, err
	}
	var rows []struct {
		EntryPointID string
		Name         string
		Role         string
	}
	err := db.gorm.WithContext(ctx).Table("group_mappings m").
		Select("m.entry_point_id, e.name, m.role").
		Joins("JOIN entry_points e ON e.id = m.entry_point_id").
		Where("m.group_id = ?", groupID).Order("lower(e.name), e.id").Scan(&rows).Error
	if err != nil {
		return nil, internal("group mappings", err)
	}
	out := make([]scimflow.Mapping, len(rows))
	for i, r := range rows {
		out[i] = scimflow.Mapping{GroupID: groupID, EntryPointID: r.EntryPointID, EntryPointName: r.Name, Role: r.Role}
	}
	return out, nil
}

// SetGroupMappings replaces every mapping of a group ("Update Group") and
// records the recalculation it calls for, in one transaction: the mapping
// version is bumped and stored with its actor (History), an audit event
// records before and after, and the recalculation names the entry points
// whose roles may change (old mapping ∪ new mapping). Unknown entry
// points, unknown roles and duplicates are refused and change nothing.
//
// When ifVersion is not nil, the change is made only if the group's
// mapping version is still *ifVersion, the version the admin saw: a change
// made meanwhile by someone else is an ECONFLICT (reason mapping_changed),
// and nothing changes.
//
// Once committed, the recalculation is handed to the notifier.
func (db *DB) SetGroupMappings(ctx context.Context, orgID, groupID string, mappings []scimflow.Mapping, ifVersion *int64) (*scimflow.Recalculation, error) {
	return db.setGroupMappings(ctx, orgID, groupID, mappings, ifVersion, nil)
}

// setGroupMappings is SetGroupMappings with extra details for the audit
// event (a restore names the version it restores).
func (db *DB) setGroupMappings(ctx context.Context, orgID, groupID string, mappings []scimflow.Mapping, ifVersion *int64, extra map[string]any) (*scimflow.Recalculation, error) {
	if err := validateMappings(mappings); err != nil {
		return nil, err
	}
	var rec *scimflow.Recalculation
	err := db.write(ctx, "set group mappings", func(tx *gorm.DB, q *scimflow.Queued) error {
		g, err := db.lockGroup(tx, orgID, groupID)
		if err != nil {
			return err
		}
		if ifVersion != nil && g.MappingVersion != *ifVersion {
			return &scimflow.Error{Code: scimflow.ECONFLICT, Reason: scimflow.ReasonMappingChanged,
				Message: fmt.Sprintf("the group's entry point mappings were changed meanwhile (version %d, you saw %d); review them again", g.MappingVersion, *ifVersion)}
		}
		ids := make([]string, 0, len(mappings))
		for _, m := range mappings {
			ids = append(ids, m.EntryPointID)
		}
		if err := checkEntryPoints(tx, orgID, ids); err != nil {
			return err
		}
		before, err := mappingsOf(tx, groupID)
		if err != nil {
			return err
		}
		if err := tx.Where("group_id = ?", groupID).Delete(&mappingRow{}).Error; err != nil {
			return err
		}
		rows := make([]mappingRow, len(mappings))
		for i, m := range mappings {
			r, _ := access.ParseRole(m.Role)
			rows[i] = mappingRow{GroupID: groupID, EntryPointID: m.EntryPointID, Role: r.String()}
		}
		if len(rows) > 0 {
			if err := tx.Create(&rows).Error; err != nil {
				return err
			}
		}
		after, err := mappingsOf(tx, groupID)
		if err != nil {
			return err
		}
		var version int64
		if err := tx.Raw("UPDATE groups SET mapping_version = mapping_version + 1 WHERE id = ? RETURNING mapping_version", groupID).Scan(&version).Error; err != nil {
			return err
		}
		var members int64
		if err := tx.Model(&groupMemberRow{}).Where("group_id = ?", groupID).Count(&members).Error; err != nil {
			return err
		}
		old := make([]string, len(before))
		for i, m := range before {
			old[i] = m.ID
		}
		rec = &scimflow.Recalculation{ID: uuid.NewString(), OrgID: orgID, GroupID: groupID, GroupName: g.DisplayName, Kind: scimflow.RecalcGroup,
			Status: scimflow.RecalcPending, MappingVersion: version, EntryPointIDs: union(old, ids), Total: members, CreatedAt: db.now()}
		q.OrgID, q.Recalculation = orgID, rec
		if err := tx.Create(toRecalcRow(rec)).Error; err != nil {
			return err
		}
		if err := db.storeMappingVersion(ctx, tx, orgID, groupID, version, after); err != nil {
			return err
		}
		details := map[string]any{"version": version, "before": before, "after": after, "recalculationId": rec.ID, "members": members}
		for k, v := range extra {
			details[k] = v
		}
		q.Record(orgID, scimflow.EventMappingUpdated, scimflow.Target{Type: scimflow.TargetGroup, ID: groupID, Name: g.DisplayName}, details)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// validateMappings refuses unknown roles and entry points listed twice.
func validateMappings(mappings []scimflow.Mapping) error {
	seen := map[string]bool{}
	for _, m := range mappings {
		if _, ok := access.ParseRole(m.Role); !ok {
			return scimflow.Errorf(scimflow.EINVALID, "unknown role %q for entry point %s: want viewer, contributor, reporter, approver or admin", m.Role, m.EntryPointID)
		}
		if seen[m.EntryPointID] {
			return scimflow.Errorf(scimflow.EINVALID, "entry point %s is listed twice", m.EntryPointID)
		}
		seen[m.EntryPointID] = true
	}
	return nil
}

func union(a, b []string) []string {
	set := map[string]bool{}
	for _, s := range append(append([]string{}, a...), b...) {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// checkEntryPoints verifies that every id is an entry point of org.
func checkEntryPoints(tx *gorm.DB, orgID string, ids []string) error {
	unknown, err := unknownIDs(tx, "entry_points", "org_id = ?", orgID, ids)
	if err != nil || len(unknown) == 0 {
		return err
	}
	return scimflow.Errorf(scimflow.EINVALID, "unknown entry point %s: %s", plural(len(unknown), "id"), listIDs(unknown))
}
