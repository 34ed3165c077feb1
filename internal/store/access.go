package store

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

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
// version is bumped, and the recalculation names the entry points whose
// roles may change (old mapping ∪ new mapping). Unknown entry points,
// unknown roles and duplicates are refused and change nothing.
func (db *DB) SetGroupMappings(ctx context.Context, orgID, groupID string, mappings []scimflow.Mapping) (*scimflow.Recalculation, error) {
	return db.setGroupMappings(ctx, orgID, groupID, mappings, nil)
}

// SetGroupMappingsIf is SetGroupMappings on condition that the group's
// mapping version is still expected, the version the admin saw: a change
// made meanwhile by someone else is an ECONFLICT, and nothing changes.
func (db *DB) SetGroupMappingsIf(ctx context.Context, orgID, groupID string, mappings []scimflow.Mapping, expected int64) (*scimflow.Recalculation, error) {
	return db.setGroupMappings(ctx, orgID, groupID, mappings, &expected)
}

func (db *DB) setGroupMappings(ctx context.Context, orgID, groupID string, mappings []scimflow.Mapping, expected *int64) (*scimflow.Recalculation, error) {
	seen := map[string]bool{}
	for _, m := range mappings {
		if _, ok := access.ParseRole(m.Role); !ok {
			return nil, scimflow.Errorf(scimflow.EINVALID, "unknown role %q for entry point %s: want viewer, contributor, reporter, approver or admin", m.Role, m.EntryPointID)
		}
		if seen[m.EntryPointID] {
			return nil, scimflow.Errorf(scimflow.EINVALID, "entry point %s is listed twice", m.EntryPointID)
		}
		seen[m.EntryPointID] = true
	}
	var rec *scimflow.Recalculation
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		g, err := db.lockGroup(tx, orgID, groupID)
		if err != nil {
			return err
		}
		if expected != nil && g.MappingVersion != *expected {
			return scimflow.Errorf(scimflow.ECONFLICT, "the group's entry point mappings were changed meanwhile (version %d, you saw %d); review them again", g.MappingVersion, *expected)
		}
		ids := make([]string, 0, len(mappings))
		for _, m := range mappings {
			ids = append(ids, m.EntryPointID)
		}
		if err := checkEntryPoints(tx, orgID, ids); err != nil {
			return err
		}
		var old []string
		if err := tx.Model(&mappingRow{}).Where("group_id = ?", groupID).Pluck("entry_point_id", &old).Error; err != nil {
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
		var version int64
		if err := tx.Raw("UPDATE groups SET mapping_version = mapping_version + 1 WHERE id = ? RETURNING mapping_version", groupID).Scan(&version).Error; err != nil {
			return err
		}
		var members int64
		if err := tx.Model(&groupMemberRow{}).Where("group_id = ?", groupID).Count(&members).Error; err != nil {
			return err
		}
		rec = &scimflow.Recalculation{ID: uuid.NewString(), OrgID: orgID, GroupID: groupID, Kind: scimflow.RecalcGroup,
			Status: scimflow.RecalcPending, MappingVersion: version, EntryPointIDs: union(old, ids), Total: members, CreatedAt: db.now()}
		return tx.Create(toRecalcRow(rec)).Error
	})
	if err != nil {
		return nil, internal("set group mappings", err)
	}
	return rec, nil
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
	if len(ids) == 0 {
		return nil
	}
	var found []string
	for i := 0; i < len(ids); i += chunk {
		var part []string
		if err := tx.Model(&entryPointRow{}).Where("org_id = ? AND id IN ?", orgID, ids[i:min(i+chunk, len(ids))]).Pluck("id", &part).Error; err != nil {
			return err
		}
		found = append(found, part...)
	}
	if len(found) == len(ids) {
		return nil
	}
	have := map[string]bool{}
	for _, id := range found {
		have[id] = true
	}
	var unknown []string
	for _, id := range ids {
		if !have[id] {
			unknown = append(unknown, id)
		}
	}
	return scimflow.Errorf(scimflow.EINVALID, "unknown entry point %s: %s", plural(len(unknown), "id"), listIDs(unknown))
}

type recalcRow struct {
	ID             string
	OrgID          string
	GroupID        *string
	Kind           string
	Status         string
	MappingVersion int64
	EntryPoints    string
	Total          int64
	Processed      int64
	Changed        int64
	Error          string
	WorkflowID     string
	CreatedAt      time.Time `gorm:"autoCreateTime:false"` // set by the store
	StartedAt      *time.Time
	FinishedAt     *time.Time
}

func (recalcRow) TableName() string { return "recalculations" }

func toRecalcRow(r *scimflow.Recalculation) *recalcRow {
	eps, _ := json.Marshal(r.EntryPointIDs)
	row := &recalcRow{ID: r.ID, OrgID: r.OrgID, Kind: r.Kind, Status: r.Status, MappingVersion: r.MappingVersion,
		EntryPoints: string(eps), Total: r.Total, Processed: r.Processed, Changed: r.Changed, Error: r.Error,
		WorkflowID: r.WorkflowID, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	if r.GroupID != "" {
		row.GroupID = &r.GroupID
	}
	return row
}

func (r *recalcRow) domain() *scimflow.Recalculation {
	out := &scimflow.Recalculation{ID: r.ID, OrgID: r.OrgID, Kind: r.Kind, Status: r.Status, MappingVersion: r.MappingVersion,
		Total: r.Total, Processed: r.Processed, Changed: r.Changed, Error: r.Error, WorkflowID: r.WorkflowID,
		CreatedAt: r.CreatedAt.UTC(), StartedAt: utc(r.StartedAt), FinishedAt: utc(r.FinishedAt)}
	if r.GroupID != nil {
		out.GroupID = *r.GroupID
	}
	json.Unmarshal([]byte(r.EntryPoints), &out.EntryPointIDs)
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// FindRecalculation returns recalculation id of org.
func (db *DB) FindRecalculation(ctx context.Context, orgID, id string) (*scimflow.Recalculation, error) {
	var r recalcRow
	err := db.gorm.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, scimflow.Errorf(scimflow.ENOTFOUND, "recalculation %s not found", id)
	}
	if err != nil {
		return nil, internal("find recalculation", err)
	}
	return r.domain(), nil
}

// LatestRecalculation returns the newest recalculation of a group, or nil.
func (db *DB) LatestRecalculation(ctx context.Context, orgID, groupID string) (*scimflow.Recalculation, error) {
	var rows []recalcRow
	err := db.gorm.WithContext(ctx).Where("org_id = ? AND group_id = ?", orgID, groupID).
		Order("created_at DESC, id DESC").Limit(1).Find(&rows).Error
	if err != nil {
		return nil, internal("latest recalculation", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return rows[0].domain(), nil
}

// effectiveSQL computes the effective roles of a set of users, restricted
// to a set of entry points when epFilter is set: the SQL twin of
// access.Effective (highest mapped role over the groups the user is an
// active member of).
const effectiveSQL = `
	SELECT gm.user_id, m.entry_point_id, max(r.rank) AS rank
	FROM group_members gm
	JOIN users u ON u.id = gm.user_id AND u.active AND u.org_id = ?
	JOIN group_mappings m ON m.group_id = gm.group_id
	JOIN roles r ON r.name = m.role
	WHERE gm.user_id IN ? %s
	GROUP BY gm.user_id, m.entry_point_id`

// recalcChunk is how many users one set of statements recalculates: a
// whole default batch, so a batch is one lock, one upsert and one delete.
const recalcChunk = 1000

// RecalculateUsers brings the stored effective roles of userIDs in line
// with their current memberships, mappings and active flags. When
// entryPointIDs is not nil, only those entry points are touched (the ones
// a mapping change can affect). It returns how many rows it inserted,
// changed or deleted.
//
// The users' rows are locked first (in id order, so concurrent batches
// cannot deadlock), and every read happens after the lock: a batch that
// waited for another sees that batch's writes and every change committed
// before, so a recalculation never writes a result older than the one it
// replaces.
func (db *DB) RecalculateUsers(ctx context.Context, orgID string, userIDs, entryPointIDs []string) (int, error) {
	if len(userIDs) == 0 || (entryPointIDs != nil && len(entryPointIDs) == 0) {
		return 0, nil
	}
	ids := append([]string{}, userIDs...)
	sort.Strings(ids)
	changed := 0
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i := 0; i < len(ids); i += recalcChunk {
			n, err := db.recalculateChunk(tx, orgID, ids[i:min(i+recalcChunk, len(ids))], entryPointIDs)
			if err != nil {
				return err
			}
			changed += n
		}
		return nil
	})
	return changed, internal("recalculate users", err)
}

func (db *DB) recalculateChunk(tx *gorm.DB, orgID string, ids, eps []string) (int, error) {
	if db.dialect == Postgres {
		var locked []string
		// NO KEY UPDATE: serialises recalculations of a user without
		// blocking membership inserts (their foreign keys take KEY SHARE).
		if err := tx.Raw("SELECT id FROM users WHERE id IN ? AND org_id = ? ORDER BY id FOR NO KEY UPDATE", ids, orgID).Scan(&locked).Error; err != nil {
			return 0, err
		}
	}
	epCond, args := "", []any{orgID, ids}
	if eps != nil {
		epCond = "AND m.entry_point_id IN ?"
		args = append(args, eps)
	}
	now := db.now()
	desired := strings.Replace(effectiveSQL, "%s", epCond, 1)
	upsert := `INSERT INTO effective_roles (user_id, entry_point_id, org_id, role, updated_at)
		SELECT d.user_id, d.entry_point_id, ?, r.name, ?
		FROM (` + desired + `) d JOIN roles r ON r.rank = d.rank
		WHERE 1 = 1
		ON CONFLICT (user_id, entry_point_id) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at
		WHERE effective_roles.role <> excluded.role`
	res := tx.Exec(upsert, append([]any{orgID, now}, args...)...)
	if res.Error != nil {
		return 0, res.Error
	}
	n := int(res.RowsAffected)
	delCond, delArgs := "org_id = ? AND user_id IN ?", []any{orgID, ids}
	if eps != nil {
		delCond += " AND entry_point_id IN ?"
		delArgs = append(delArgs, eps)
	}
	del := `DELETE FROM effective_roles WHERE ` + delCond + ` AND NOT EXISTS (
		SELECT 1 FROM group_members gm
		JOIN users u ON u.id = gm.user_id AND u.active
		JOIN group_mappings m ON m.group_id = gm.group_id
		WHERE gm.user_id = effective_roles.user_id AND m.entry_point_id = effective_roles.entry_point_id)`
	res = tx.Exec(del, delArgs...)
	if res.Error != nil {
		return 0, res.Error
	}
	return n + int(res.RowsAffected), nil
}

// EffectiveRoles returns every stored effective role of org, keyed by
// [user id, entry point id].
func (db *DB) EffectiveRoles(ctx context.Context, orgID string) (map[[2]string]string, error) {
	var rows []struct {
		UserID       string
		EntryPointID string
		Role         string
	}
	if err := db.gorm.WithContext(ctx).Table("effective_roles").Select("user_id, entry_point_id, role").
		Where("org_id = ?", orgID).Scan(&rows).Error; err != nil {
		return nil, internal("effective roles", err)
	}
	out := make(map[[2]string]string, len(rows))
	for _, r := range rows {
		out[[2]string{r.UserID, r.EntryPointID}] = r.Role
	}
	return out, nil
}
