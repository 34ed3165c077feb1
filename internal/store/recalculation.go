package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// A recalculation row records one requested recomputation of effective
// roles (an "Update Group", a reconciliation) and its progress; it outlives
// the workflow that performs it, so the admin sees the outcome after the
// workflow's history is gone.

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

// The methods below serve the recalculation engine's activities. Each is
// idempotent: a retried or duplicated activity repeats the same work and
// reaches the same state.

// GroupPass is a group pass as StartGroupPass began it.
type GroupPass struct {
	Members int64     // members added at or before Cutoff
	Cutoff  time.Time // the store's clock when it counted
	// Recalculations are the ids of the recalculations the pass serves,
	// for the logs.
	Recalculations []string
}

// StartGroupPass marks the group's unfinished recalculations up to version
// as running and counts the members the pass is to process: those added
// at or before the returned cutoff, the store's clock when it counted. A
// pass pages every member, but counts only those towards its progress, so
// members added during the pass cannot carry it past its total (they are
// recalculated anyway, from the outbox row written with them).
//
// The group's row is locked first, as every membership change locks it
// before it reads the clock: a change in flight commits before the count,
// and a later one stamps its members after the cutoff. Only a change in
// the same millisecond, or a host whose clock is behind, can stamp a
// later member at or before it; the workflow clamps its progress for
// those.
func (db *DB) StartGroupPass(ctx context.Context, orgID, groupID string, version int64, workflowID string) (GroupPass, error) {
	var p GroupPass
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := db.lockGroup(tx, orgID, groupID); err != nil {
			return err
		}
		p = GroupPass{Cutoff: db.now()}
		if err := tx.Model(&groupMemberRow{}).Where("group_id = ? AND created_at <= ?", groupID, p.Cutoff).Count(&p.Members).Error; err != nil {
			return err
		}
		mine := tx.Model(&recalcRow{}).Where("org_id = ? AND group_id = ? AND status IN ? AND mapping_version <= ?", orgID, groupID,
			[]string{scimflow.RecalcPending, scimflow.RecalcRunning}, version)
		if err := mine.Session(&gorm.Session{}).Order("id").Pluck("id", &p.Recalculations).Error; err != nil {
			return err
		}
		return mine.Updates(map[string]any{"status": scimflow.RecalcRunning, "workflow_id": workflowID, "total": p.Members, "processed": 0,
			"started_at": gorm.Expr("COALESCE(started_at, ?)", p.Cutoff)}).Error
	})
	if err != nil {
		return GroupPass{}, internal("start group pass", err)
	}
	if p.Members >= analyzeMinRows {
		// A large pass is about to read these tables a thousand times.
		db.refreshStatistics(ctx, "users", "group_members", "effective_roles")
	}
	return p, nil
}

// MemberPage asks GroupMemberPage for one keyset page of a lane of a
// group's members.
type MemberPage struct {
	// From and To bound the lane: user ids in [From, To); "" To means no
	// upper bound. The database compares them, with the same collation as
	// the cursor and the ORDER BY, so lanes whose bounds ascend partition
	// the members whatever the collation.
	From, To string
	After    string // keyset cursor: ids after it
	Limit    int
	// Cutoff of the pass (StartGroupPass): members added at or before it
	// are counted; zero counts every member.
	Cutoff time.Time
}

// GroupMemberPage returns up to p.Limit member ids of a group's lane
// after p.After, in id order, and how many of them count towards the
// pass (added at or before p.Cutoff). It is a keyset page: a range scan
// of the primary key (group_id, user_id) that stops after p.Limit rows,
// no OFFSET, however large the group. The same statement says whether the
// group still exists in org: a pass over a deleted group ends with
// ENOTFOUND rather than an empty page, so its recalculation is recorded as
// failed, not as completed.
//
// Members added after the cutoff are paged (and so recalculated) too:
// leaving them to the outbox alone would be correct only if the clock
// that stamped them agreed with the one that took the cutoff.
func (db *DB) GroupMemberPage(ctx context.Context, orgID, groupID string, p MemberPage) (ids []string, counted int, err error) {
	count, args := "1", []any{}
	if !p.Cutoff.IsZero() {
		count, args = "CASE WHEN created_at <= ? THEN 1 ELSE 0 END", append(args, p.Cutoff)
	}
	args = append(args, groupID, p.After, p.From)
	upper := ""
	if p.To != "" {
		upper, args = "AND user_id < ?", append(args, p.To)
	}
	args = append(args, p.Limit, groupID, orgID)
	q := `
		SELECT user_id, counted FROM (
			SELECT user_id, ` + count + ` AS counted FROM group_members
			WHERE group_id = ? AND user_id > ? AND user_id >= ? ` + upper + `
			ORDER BY user_id LIMIT ?
		) page
		UNION ALL
		SELECT NULL, NULL FROM groups WHERE id = ? AND org_id = ?`
	var rows []struct {
		UserID  sql.NullString
		Counted sql.NullInt64
	}
	page := func(tx *gorm.DB) error { return tx.Raw(q, args...).Scan(&rows).Error }
	if db.dialect == Postgres {
		// Without statistics (a fresh import; this machine's Postgres runs
		// with autovacuum off) Postgres guesses a handful of rows per
		// group and prefers a bitmap scan of the group's whole remaining
		// range plus a sort to the ordered range scan of the primary key
		// that stops after the page: a page would cost as much as the rest
		// of the group. With sorts ruled out, the ordered scan is the only
		// plan left. SQLite walks its primary key index as it is.
		err = db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL enable_sort = off").Error; err != nil {
				return err
			}
			return page(tx)
		})
	} else {
		err = page(db.gorm.WithContext(ctx))
	}
	if err != nil {
		return nil, 0, internal("member page", err)
	}
	ids, exists := make([]string, 0, len(rows)), false
	for _, r := range rows {
		if !r.UserID.Valid {
			exists = true
			continue
		}
		ids = append(ids, r.UserID.String)
		counted += int(r.Counted.Int64)
	}
	if !exists {
		return nil, 0, groupNotFound(groupID)
	}
	sort.Strings(ids) // UNION ALL does not promise the subquery's order
	return ids, counted, nil
}

// PassEntryPoints returns the entry points a group pass must touch: those
// named by the group's unfinished recalculations up to version (old ∪ new
// mappings), plus the current mapping's.
func (db *DB) PassEntryPoints(ctx context.Context, orgID, groupID string, version int64) ([]string, error) {
	tx := db.gorm.WithContext(ctx)
	var lists []string
	err := tx.Model(&recalcRow{}).
		Where("org_id = ? AND group_id = ? AND status IN ? AND mapping_version <= ?", orgID, groupID, []string{scimflow.RecalcPending, scimflow.RecalcRunning}, version).
		Pluck("entry_points", &lists).Error
	if err != nil {
		return nil, internal("pass entry points", err)
	}
	var current []string
	if err := tx.Model(&mappingRow{}).Where("group_id = ?", groupID).Pluck("entry_point_id", &current).Error; err != nil {
		return nil, internal("pass entry points", err)
	}
	all := current
	for _, l := range lists {
		var ids []string
		if err := json.Unmarshal([]byte(l), &ids); err != nil {
			return nil, internal("pass entry points", err)
		}
		all = append(all, ids...)
	}
	return union(all, nil), nil
}

// RecordGroupProgress stores how far the running pass has got, so the
// admin sees progress even when the workflow cannot be queried. Lanes
// report side by side, each a lower bound of the truth, so the stored
// count only grows (until the next pass resets it), and it never passes
// the total.
func (db *DB) RecordGroupProgress(ctx context.Context, orgID, groupID string, processed int64) error {
	err := db.gorm.WithContext(ctx).Model(&recalcRow{}).
		Where("org_id = ? AND group_id = ? AND status = ? AND processed < ?", orgID, groupID, scimflow.RecalcRunning, processed).
		Update("processed", gorm.Expr("CASE WHEN total < ? THEN total ELSE ? END", processed, processed)).Error
	return internal("record progress", err)
}

// FinishedPass is what FinishGroupPass closed and found.
type FinishedPass struct {
	LatestVersion  int64    // the group's mapping version now
	GroupExists    bool     // false: the group is gone
	Recalculations []string // ids of the recalculations closed
}

// FinishGroupPass closes the group's unfinished recalculations up to
// version: completed, or failed with errMsg, each with its audit event
// (by the system). It reports the group's current mapping version (0 and
// false when the group is gone).
func (db *DB) FinishGroupPass(ctx context.Context, orgID, groupID string, version, processed, changed int64, errMsg string) (FinishedPass, error) {
	status, event := scimflow.RecalcCompleted, scimflow.EventRecalculationCompleted
	if errMsg != "" {
		status, event = scimflow.RecalcFailed, scimflow.EventRecalculationFailed
	}
	var (
		current []int64
		ids     []string
	)
	err := db.write(ctx, "finish group pass", func(tx *gorm.DB, q *scimflow.Queued) error {
		current, ids = nil, nil // a retried attempt starts afresh
		now := db.now()
		var closed []recalcRow
		err := tx.Raw(`UPDATE recalculations SET status = ?, processed = ?, changed = ?, error = ?, finished_at = ?, started_at = COALESCE(started_at, ?)
			WHERE org_id = ? AND group_id = ? AND status IN ? AND mapping_version <= ?
			RETURNING id, mapping_version, total, created_at, started_at`,
			status, processed, changed, errMsg, now, now, orgID, groupID, []string{scimflow.RecalcPending, scimflow.RecalcRunning}, version).
			Scan(&closed).Error
		if err != nil {
			return err
		}
		var g groupRow
		if err := tx.Select("id", "display_name", "mapping_version").Where("org_id = ? AND id = ?", orgID, groupID).Limit(1).Find(&g).Error; err != nil {
			return err
		}
		if g.ID != "" {
			current = append(current, g.MappingVersion)
		}
		target := scimflow.Target{Type: scimflow.TargetGroup, ID: groupID, Name: g.DisplayName}
		for _, r := range closed {
			ids = append(ids, r.ID)
			d := map[string]any{"recalculationId": r.ID, "mappingVersion": r.MappingVersion, "total": r.Total,
				"processed": processed, "changed": changed}
			if r.StartedAt != nil {
				d["durationMs"] = now.Sub(*r.StartedAt).Milliseconds()
			}
			if errMsg != "" {
				d["error"] = errMsg
			}
			q.Record(orgID, event, target, d)
		}
		return nil
	})
	if err != nil {
		return FinishedPass{}, err
	}
	f := FinishedPass{Recalculations: ids}
	if len(current) > 0 {
		f.LatestVersion, f.GroupExists = current[0], true
	}
	return f, nil
}

// ListOrgIDs returns every org id.
func (db *DB) ListOrgIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := db.gorm.WithContext(ctx).Model(&orgRow{}).Order("id").Pluck("id", &ids).Error
	return ids, internal("list orgs", err)
}

// StaleRecalculations returns unfinished recalculations older than age:
// pending ones whose workflow may never have started (the process died
// between the commit and the Temporal call, or Temporal was down), and
// running ones, whose workflow the caller checks (an operator may have
// terminated it).
func (db *DB) StaleRecalculations(ctx context.Context, age time.Duration) ([]*scimflow.Recalculation, error) {
	var rows []recalcRow
	err := db.gorm.WithContext(ctx).Where("status IN ? AND created_at < ?", []string{scimflow.RecalcPending, scimflow.RecalcRunning}, db.now().Add(-age)).
		Order("created_at").Limit(1000).Find(&rows).Error
	if err != nil {
		return nil, internal("stale recalculations", err)
	}
	out := make([]*scimflow.Recalculation, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// IsNotFound reports whether err says the org, group or user is gone.
func IsNotFound(err error) bool {
	var e *scimflow.Error
	return errors.As(err, &e) && e.Code == scimflow.ENOTFOUND
}

// RecentRecalculations returns the org's pending and running
// recalculations, then its latest finished ones, newest first, limit in
// all at most, with their groups' names.
func (db *DB) RecentRecalculations(ctx context.Context, orgID string, limit int) ([]*scimflow.Recalculation, error) {
	type row struct {
		Rec       recalcRow `gorm:"embedded"`
		GroupName string
	}
	tx := db.gorm.WithContext(ctx)
	q := func() *gorm.DB {
		return tx.Table("recalculations r").Select("r.*, COALESCE(g.display_name, '') AS group_name").
			Joins("LEFT JOIN groups g ON g.id = r.group_id").Where("r.org_id = ?", orgID)
	}
	var active, recent []row
	// recalculations_status serves the first, recalculations_org_created
	// (migration 00007) the second.
	err := q().Where("r.status IN ?", []string{scimflow.RecalcPending, scimflow.RecalcRunning}).
		Order("r.created_at DESC, r.id DESC").Limit(limit).Scan(&active).Error
	if err != nil {
		return nil, internal("active recalculations", err)
	}
	err = q().Order("r.created_at DESC, r.id DESC").Limit(limit).Scan(&recent).Error
	if err != nil {
		return nil, internal("recent recalculations", err)
	}
	out := make([]*scimflow.Recalculation, 0, limit)
	seen := map[string]bool{}
	for _, r := range append(active, recent...) {
		if seen[r.Rec.ID] || len(out) == limit {
			continue
		}
		seen[r.Rec.ID] = true
		d := r.Rec.domain()
		d.GroupName = r.GroupName
		out = append(out, d)
	}
	return out, nil
}
