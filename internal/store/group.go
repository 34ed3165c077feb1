package store

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// chunk bounds the values a statement takes as separate placeholders (the
// outbox rows a batch deletes, the members a preview samples): far below
// every driver's parameter limit. Lists of ids go as one idList instead.
const chunk = 500

type groupRow struct {
	ID          string
	OrgID       string
	DisplayName string
	ExternalID  *string
	Version     int64
	// MappingVersion is written only by SetGroupMappings.
	MappingVersion int64     `gorm:"->"`
	CreatedAt      time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
	UpdatedAt      time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
}

func (groupRow) TableName() string { return "groups" }

func (r *groupRow) domain() *scimflow.Group {
	g := &scimflow.Group{ID: r.ID, OrgID: r.OrgID, DisplayName: r.DisplayName, Version: r.Version, MappingVersion: r.MappingVersion,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.ExternalID != nil {
		g.ExternalID = *r.ExternalID
	}
	return g
}

func toGroupRow(g *scimflow.Group) *groupRow {
	r := &groupRow{ID: g.ID, OrgID: g.OrgID, DisplayName: g.DisplayName, Version: g.Version, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
	if g.ExternalID != "" {
		ext := g.ExternalID
		r.ExternalID = &ext
	}
	return r
}

func groupNotFound(id string) error {
	return scimflow.Errorf(scimflow.ENOTFOUND, "Group %s not found", id)
}

// translateGroupErr turns a unique violation on groups into a SCIM
// uniqueness error. displayName is the only unique attribute of a Group:
// externalId is not (migration 00006).
func translateGroupErr(err error, g *scimflow.Group) error {
	if _, ok := uniqueViolation(err); !ok {
		return err
	}
	return scimflow.SCIMErrorf(scimflow.SCIMUniqueness, "a group named %q already exists", g.DisplayName)
}

// maxIndexed bounds values that go into an index (Postgres refuses index
// entries over about 2.7 kB).
const maxIndexed = 1024

func validateGroup(g *scimflow.Group) error {
	g.DisplayName = strings.TrimSpace(g.DisplayName)
	switch {
	case g.DisplayName == "":
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "displayName is required")
	case len(g.DisplayName) > maxIndexed:
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "displayName is longer than %d bytes", maxIndexed)
	case len(g.ExternalID) > maxIndexed:
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "externalId is longer than %d bytes", maxIndexed)
	}
	return nil
}

// CreateGroup creates a group in org with the given members.
func (db *DB) CreateGroup(ctx context.Context, orgID string, g *scimflow.Group, memberIDs []string) (*scimflow.Group, error) {
	if err := validateGroup(g); err != nil {
		return nil, err
	}
	now := db.now()
	g.ID, g.OrgID, g.Version, g.CreatedAt, g.UpdatedAt = uuid.NewString(), orgID, 1, now, now
	err := db.write(ctx, "create group", func(tx *gorm.DB, q *scimflow.Queued) error {
		if err := tx.Create(toGroupRow(g)).Error; err != nil {
			return translateGroupErr(err, g)
		}
		d, err := db.applyMemberOps(tx, q, g, []scimflow.MemberOp{{Kind: scimflow.MembersAdd, UserIDs: memberIDs}}, now)
		if err != nil {
			return err
		}
		// One event: the group and its first members are one change.
		details := d.details()
		details["externalId"] = g.ExternalID
		q.Record(orgID, scimflow.EventGroupCreated, groupTarget(g), details)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// FindGroup returns group id of org.
func (db *DB) FindGroup(ctx context.Context, orgID, id string) (*scimflow.Group, error) {
	var r groupRow
	err := db.gorm.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, groupNotFound(id)
	}
	if err != nil {
		return nil, internal("find group", err)
	}
	return r.domain(), nil
}

// UpdateGroup applies ch to group id of org. The group row is locked for
// the duration, so concurrent updates of one group serialise; membership
// is changed per member, so they never lose each other's members. The cost
// of a change depends on its size, not the group's.
func (db *DB) UpdateGroup(ctx context.Context, orgID, id string, ch scimflow.GroupChange) (*scimflow.Group, error) {
	var out *scimflow.Group
	err := db.write(ctx, "update group", func(tx *gorm.DB, q *scimflow.Queued) error {
		r, err := db.lockGroup(tx, orgID, id)
		if err != nil {
			return err
		}
		g := r.domain()
		before := *g
		if ch.Check != nil {
			if err := ch.Check(g); err != nil {
				return err
			}
		}
		if ch.Apply != nil {
			if err := ch.Apply(g); err != nil {
				return err
			}
			if err := validateGroup(g); err != nil {
				return err
			}
		}
		now := db.now()
		g.ID, g.OrgID, g.CreatedAt, g.Version, g.UpdatedAt = r.ID, r.OrgID, before.CreatedAt, before.Version, before.UpdatedAt
		d, err := db.applyMemberOps(tx, q, g, ch.Members, now)
		if err != nil {
			return err
		}
		// RFC 7644 §3.5.2.1: a change that changes nothing (Entra re-sending
		// an add, removing a non-member) leaves version and lastModified.
		if d.empty() && *g == before {
			out = g
			return nil
		}
		if g.DisplayName != before.DisplayName || g.ExternalID != before.ExternalID {
			q.Record(orgID, scimflow.EventGroupUpdated, groupTarget(g), groupChanges(&before, g))
		}
		if !d.empty() {
			q.Record(orgID, scimflow.EventMembersChanged, groupTarget(g), d.details())
		}
		g.Version, g.UpdatedAt = r.Version+1, now
		row := toGroupRow(g)
		err = tx.Model(&groupRow{}).Where("id = ?", id).
			Select("display_name", "external_id", "version", "updated_at").Updates(row).Error
		if err != nil {
			return translateGroupErr(err, g)
		}
		out = g
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// groupChanges describes a change of a group's attributes for its audit
// event.
func groupChanges(before, after *scimflow.Group) map[string]any {
	changed := []string{}
	d := map[string]any{}
	if before.DisplayName != after.DisplayName {
		changed = append(changed, "displayName")
		d["displayName"] = map[string]any{"from": before.DisplayName, "to": after.DisplayName}
	}
	if before.ExternalID != after.ExternalID {
		changed = append(changed, "externalId")
	}
	d["changed"] = changed
	return d
}

// lockGroup reads group id of org and locks its row for the rest of the
// transaction: every change of a group (attributes, members, mappings,
// deletion) serialises on it. SQLite has a single writer already.
func (db *DB) lockGroup(tx *gorm.DB, orgID, id string) (*groupRow, error) {
	var r groupRow
	q := tx.Where("org_id = ? AND id = ?", orgID, id)
	if db.dialect == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Take(&r).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, groupNotFound(id)
	} else if err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteGroup deletes group id of org. Its members' permissions are queued
// for recalculation in the same transaction: the access the group granted
// must go with it.
func (db *DB) DeleteGroup(ctx context.Context, orgID, id string, check func(version int64) error) error {
	return db.write(ctx, "delete group", func(tx *gorm.DB, q *scimflow.Queued) error {
		r, err := db.lockGroup(tx, orgID, id)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(r.Version); err != nil {
				return err
			}
		}
		if err := enqueueMembers(tx, q, orgID, id, scimflow.ChangeGroupDeleted, db.now()); err != nil {
			return err
		}
		var members int64
		if err := tx.Model(&groupMemberRow{}).Where("group_id = ?", id).Count(&members).Error; err != nil {
			return err
		}
		q.Record(orgID, scimflow.EventGroupDeleted, groupTarget(r.domain()), map[string]any{"members": members})
		return tx.Where("id = ?", id).Delete(&groupRow{}).Error
	})
}

// memberDelta collects the members one request added and removed, for
// its audit event.
type memberDelta struct {
	added, removed []string
}

func (d *memberDelta) empty() bool { return len(d.added) == 0 && len(d.removed) == 0 }

// details describes the delta in an audit event: the ids (at most
// maxAuditIDs of each) and exact counts.
func (d *memberDelta) details() map[string]any {
	return map[string]any{"added": capIDs(d.added), "removed": capIDs(d.removed),
		"addedCount": len(d.added), "removedCount": len(d.removed)}
}

// applyMemberOps applies membership operations in order, queues every
// user whose membership actually changed, and returns who was added and
// removed.
func (db *DB) applyMemberOps(tx *gorm.DB, q *scimflow.Queued, g *scimflow.Group, ops []scimflow.MemberOp, now time.Time) (*memberDelta, error) {
	d := &memberDelta{}
	for _, op := range ops {
		var err error
		switch op.Kind {
		case scimflow.MembersAdd:
			err = db.addMembers(tx, q, d, g, op.UserIDs, now)
		case scimflow.MembersRemove:
			err = db.removeMembers(tx, q, d, g, op.UserIDs, now)
		case scimflow.MembersRemoveAll:
			err = db.removeAllMembers(tx, q, d, g, now)
		case scimflow.MembersSet:
			err = db.setMembers(tx, q, d, g, op.UserIDs, now)
		default:
			err = errors.New("unknown member operation")
		}
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

func groupTarget(g *scimflow.Group) scimflow.Target {
	return scimflow.Target{Type: scimflow.TargetGroup, ID: g.ID, Name: g.DisplayName}
}

func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; ok {
			continue
		}
		seen[id] = struct{}{}
		out = append(out, id)
	}
	return out
}

// checkMembers verifies that every id is a SCIM user of the group's org.
// Unknown ids and group ids (nested groups) are client errors that name
// the offending ids.
func checkMembers(tx *gorm.DB, orgID string, ids []string) error {
	unknown, err := unknownIDs(tx, "users", "org_id = ? AND source = 'scim'", orgID, ids)
	if err != nil || len(unknown) == 0 {
		return err
	}
	notGroups, err := unknownIDs(tx, "groups", "org_id = ?", orgID, unknown)
	if err != nil {
		return err
	}
	if groups := len(unknown) - len(notGroups); groups > 0 {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue,
			"nested groups are not supported: %s %s a group; flatten nested groups in the identity provider", listIDs(subtract(unknown, notGroups)), isAre(groups))
	}
	return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "unknown member %s: no such User in this org: %s", plural(len(unknown), "id"), listIDs(unknown))
}

// unknownIDs returns, in their order, the ids that name no row of table
// among the org's rows (cond selects them, with the org as its argument).
// The ids are looked up in one statement, by primary key: the org's
// condition is applied after an OFFSET 0 fence, so that a planner without
// statistics cannot choose to scan the whole org and filter the ids
// instead (a second per 500 ids on 100k users).
func unknownIDs(tx *gorm.DB, table, cond, orgID string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	fence := "OFFSET 0"
	if tx.Dialector.Name() != "postgres" {
		fence = "LIMIT -1 OFFSET 0" // SQLite's form; it plans by rules anyway
	}
	var found []string
	q := "SELECT id FROM (SELECT * FROM " + table + " WHERE " + inIDs(tx, "id") + " " + fence + ") t WHERE " + cond
	if err := tx.Raw(q, idsParam(tx, ids), orgID).Scan(&found).Error; err != nil {
		return nil, err
	}
	if len(found) == len(ids) {
		return nil, nil
	}
	return subtract(ids, found), nil
}

// subtract returns the elements of a that are not in b, in a's order.
func subtract(a, b []string) []string {
	drop := make(map[string]bool, len(b))
	for _, s := range b {
		drop[s] = true
	}
	var out []string
	for _, s := range a {
		if !drop[s] {
			out = append(out, s)
		}
	}
	return out
}

// listIDs names up to ten ids.
func listIDs(ids []string) string {
	sort.Strings(ids)
	if len(ids) > 10 {
		return strings.Join(ids[:10], ", ") + " and " + strconv.Itoa(len(ids)-10) + " more"
	}
	return strings.Join(ids, ", ")
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func (db *DB) addMembers(tx *gorm.DB, q *scimflow.Queued, d *memberDelta, g *scimflow.Group, ids []string, now time.Time) error {
	// Rows are written in id order: the foreign key locks each user row,
	// and recalculations lock users in id order too, so the two cannot
	// deadlock.
	ids = dedupe(ids)
	sort.Strings(ids)
	if len(ids) == 0 {
		return nil
	}
	if err := checkMembers(tx, g.OrgID, ids); err != nil {
		return err
	}
	// Entra re-sends adds: an existing member is left alone, and only the
	// users actually added are queued for recalculation. (WHERE true: in
	// SQLite, INSERT … SELECT … ON CONFLICT needs a WHERE to parse.)
	var added []string
	err := tx.Raw("INSERT INTO group_members (group_id, user_id, created_at) SELECT ?, ids.id, ? FROM "+eachID(tx)+
		" WHERE true ON CONFLICT (group_id, user_id) DO NOTHING RETURNING user_id", g.ID, now, idsParam(tx, ids)).
		Scan(&added).Error
	if err != nil {
		return err
	}
	sort.Strings(added)
	if err := enqueue(tx, q, g.OrgID, added, scimflow.ChangeMemberAdded, now); err != nil {
		return err
	}
	d.added = append(d.added, added...)
	return nil
}

func (db *DB) removeMembers(tx *gorm.DB, q *scimflow.Queued, d *memberDelta, g *scimflow.Group, ids []string, now time.Time) error {
	ids = dedupe(ids)
	if len(ids) == 0 {
		return nil
	}
	var removed []string
	err := tx.Raw("DELETE FROM group_members WHERE group_id = ? AND "+inIDs(tx, "user_id")+" RETURNING user_id", g.ID, idsParam(tx, ids)).
		Scan(&removed).Error
	if err != nil {
		return err
	}
	sort.Strings(removed)
	if err := enqueue(tx, q, g.OrgID, removed, scimflow.ChangeMemberRemoved, now); err != nil {
		return err
	}
	d.removed = append(d.removed, removed...)
	return nil
}

func (db *DB) removeAllMembers(tx *gorm.DB, q *scimflow.Queued, d *memberDelta, g *scimflow.Group, now time.Time) error {
	if err := enqueueMembers(tx, q, g.OrgID, g.ID, scimflow.ChangeMemberRemoved, now); err != nil {
		return err
	}
	var removed []string
	if err := tx.Raw("DELETE FROM group_members WHERE group_id = ? RETURNING user_id", g.ID).Scan(&removed).Error; err != nil {
		return err
	}
	sort.Strings(removed)
	d.removed = append(d.removed, removed...)
	return nil
}

// setMembers makes the members exactly ids (PUT, replace of members) by
// removing and adding only the difference.
func (db *DB) setMembers(tx *gorm.DB, q *scimflow.Queued, d *memberDelta, g *scimflow.Group, ids []string, now time.Time) error {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var current []string
	if err := tx.Model(&groupMemberRow{}).Where("group_id = ?", g.ID).Pluck("user_id", &current).Error; err != nil {
		return err
	}
	var remove []string
	have := make(map[string]bool, len(current))
	for _, id := range current {
		have[id] = true
		if !want[id] {
			remove = append(remove, id)
		}
	}
	var add []string
	for _, id := range ids {
		if !have[id] {
			add = append(add, id)
		}
	}
	if err := db.addMembers(tx, q, d, g, add, now); err != nil {
		return err
	}
	return db.removeMembers(tx, q, d, g, remove, now)
}

type groupMemberRow struct {
	GroupID   string
	UserID    string
	CreatedAt time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
}

func (groupMemberRow) TableName() string { return "group_members" }
