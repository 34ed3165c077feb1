package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// versionEntry is one mapping of a stored mapping version, and of the
// before and after of a mapping.updated event: the entry point's name is
// kept as it was, so that history reads right after a rename or deletion.
type versionEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type mappingVersionRow struct {
	GroupID     string
	Version     int64
	OrgID       string
	CreatedAt   time.Time
	ActorType   string
	ActorID     string
	ActorName   string
	EntryPoints string
}

func (mappingVersionRow) TableName() string { return "group_mapping_versions" }

// mappingsOf returns the current mappings of a group, by entry point name.
func mappingsOf(tx *gorm.DB, groupID string) ([]versionEntry, error) {
	out := []versionEntry{}
	err := tx.Table("group_mappings m").Select("e.id, e.name, m.role").
		Joins("JOIN entry_points e ON e.id = m.entry_point_id").
		Where("m.group_id = ?", groupID).Order("lower(e.name), e.id").Scan(&out).Error
	return out, err
}

// storeMappingVersion records version of a group's mapping, made by the
// actor of ctx.
func (db *DB) storeMappingVersion(ctx context.Context, tx *gorm.DB, orgID, groupID string, version int64, eps []versionEntry) error {
	b, err := json.Marshal(eps)
	if err != nil {
		return err
	}
	a := scimflow.ActorFrom(ctx)
	return tx.Create(&mappingVersionRow{GroupID: groupID, Version: version, OrgID: orgID, CreatedAt: db.now(),
		ActorType: a.Type, ActorID: a.ID, ActorName: a.Name, EntryPoints: string(b)}).Error
}

func (r *mappingVersionRow) domain() (scimflow.MappingVersion, error) {
	var eps []versionEntry
	if err := json.Unmarshal([]byte(r.EntryPoints), &eps); err != nil {
		return scimflow.MappingVersion{}, err
	}
	v := scimflow.MappingVersion{GroupID: r.GroupID, Version: r.Version, CreatedAt: r.CreatedAt.UTC(),
		Actor: scimflow.Actor{Type: r.ActorType, ID: r.ActorID, Name: r.ActorName}, EntryPoints: make([]scimflow.Mapping, len(eps))}
	for i, e := range eps {
		v.EntryPoints[i] = scimflow.Mapping{GroupID: r.GroupID, EntryPointID: e.ID, EntryPointName: e.Name, Role: e.Role}
	}
	return v, nil
}

// MappingVersions returns the stored mapping versions of group groupID of
// org, newest first.
func (db *DB) MappingVersions(ctx context.Context, orgID, groupID string) ([]scimflow.MappingVersion, error) {
	if _, err := db.FindGroup(ctx, orgID, groupID); err != nil {
		return nil, err
	}
	var rows []mappingVersionRow
	if err := db.gorm.WithContext(ctx).Where("group_id = ? AND org_id = ?", groupID, orgID).
		Order("version DESC").Find(&rows).Error; err != nil {
		return nil, internal("mapping versions", err)
	}
	out := make([]scimflow.MappingVersion, 0, len(rows))
	for i := range rows {
		v, err := rows[i].domain()
		if err != nil {
			return nil, internal("mapping versions", err)
		}
		out = append(out, v)
	}
	return out, nil
}

// MappingVersion returns version of group groupID's mapping.
func (db *DB) MappingVersion(ctx context.Context, orgID, groupID string, version int64) (*scimflow.MappingVersion, error) {
	if _, err := db.FindGroup(ctx, orgID, groupID); err != nil {
		return nil, err
	}
	var r mappingVersionRow
	err := db.gorm.WithContext(ctx).Where("group_id = ? AND org_id = ? AND version = ?", groupID, orgID, version).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, scimflow.Errorf(scimflow.ENOTFOUND, "the group has no mapping version %d", version)
	}
	if err != nil {
		return nil, internal("mapping version", err)
	}
	v, err := r.domain()
	if err != nil {
		return nil, internal("mapping version", err)
	}
	return &v, nil
}

// RestoreGroupMappings makes version the group's mapping again: an Update
// Group like any other (a new version, its own audit event naming the
// version restored, a recalculation). Entry points deleted since are
// skipped and returned.
func (db *DB) RestoreGroupMappings(ctx context.Context, orgID, groupID string, version int64, ifVersion *int64) (*scimflow.Recalculation, []scimflow.Mapping, error) {
	v, err := db.MappingVersion(ctx, orgID, groupID, version)
	if err != nil {
		return nil, nil, err
	}
	kept, skipped, err := db.existingEntryPoints(ctx, orgID, v.EntryPoints)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(skipped))
	for i, m := range skipped {
		names[i] = m.EntryPointName
	}
	rec, err := db.setGroupMappings(ctx, orgID, groupID, kept, ifVersion,
		map[string]any{"restoredFrom": version, "skipped": names})
	if err != nil {
		return nil, nil, err
	}
	return rec, skipped, nil
}

// existingEntryPoints splits mappings into those whose entry point still
// exists in org and those whose entry point was deleted.
func (db *DB) existingEntryPoints(ctx context.Context, orgID string, mappings []scimflow.Mapping) (kept, gone []scimflow.Mapping, err error) {
	ids := make([]string, len(mappings))
	for i, m := range mappings {
		ids[i] = m.EntryPointID
	}
	unknown, err := unknownIDs(db.gorm.WithContext(ctx), "entry_points", "org_id = ?", orgID, ids)
	if err != nil {
		return nil, nil, internal("restore mapping", err)
	}
	missing := make(map[string]bool, len(unknown))
	for _, id := range unknown {
		missing[id] = true
	}
	kept, gone = []scimflow.Mapping{}, []scimflow.Mapping{}
	for _, m := range mappings {
		if missing[m.EntryPointID] {
			gone = append(gone, m)
		} else {
			kept = append(kept, m)
		}
	}
	return kept, gone, nil
}
