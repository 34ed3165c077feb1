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

// StartGroupPass marks the group's unfinished recalculations up to version
// as running and returns the number of members to process.
func (db *DB) StartGroupPass(ctx context.Context, orgID, groupID string, version int64, workflowID string) (int64, error) {
	if _, err := db.FindGroup(ctx, orgID, groupID); err != nil {
		return 0, err
	}
	tx := db.gorm.WithContext(ctx)
	var members int64
	if err := tx.Model(&groupMemberRow{}).Where("group_id = ?", groupID).Count(&members).Error; err != nil {
		return 0, internal("count members", err)
	}
	err := tx.Model(&recalcRow{}).
		Where("org_id = ? AND group_id = ? AND status IN ? AND mapping_version <= ?", orgID, groupID, []string{scimflow.RecalcPending, scimflow.RecalcRunning}, version).
		Updates(map[string]any{"status": scimflow.RecalcRunning, "workflow_id": workflowID, "total": members, "processed": 0,
			"started_at": gorm.Expr("COALESCE(started_at, ?)", db.now())}).Error
	if err != nil {
		return 0, internal("start group pass", err)
	}
	return members, nil
}

// GroupMemberPage returns up to limit member ids of a group after the
// given id, in id order (a keyset page: no OFFSET, however large the
// group). The same statement says whether the group still exists in org:
// a pass over a deleted group ends with ENOTFOUND rather than an empty
// page, so its recalculation is recorded as failed, not as completed.
func (db *DB) GroupMemberPage(ctx context.Context, orgID, groupID, after string, limit int) ([]string, error) {
	var rows []sql.NullString
	err := db.gorm.WithContext(ctx).Raw(`
		SELECT user_id FROM (
			SELECT user_id FROM group_members WHERE group_id = ? AND user_id > ? ORDER BY user_id LIMIT ?
		) page
		UNION ALL
		SELECT NULL FROM groups WHERE id = ? AND org_id = ?`, groupID, after, limit, groupID, orgID).Scan(&rows).Error
	if err != nil {
		return nil, internal("member page", err)
	}
	ids, exists := make([]string, 0, len(rows)), false
	for _, r := range rows {
		if !r.Valid {
			exists = true
			continue
		}
		ids = append(ids, r.String)
	}
	if !exists {
		return nil, groupNotFound(groupID)
	}
	sort.Strings(ids) // UNION ALL does not promise the subquery's order
	return ids, nil
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
// admin sees progress even when the workflow cannot be queried.
func (db *DB) RecordGroupProgress(ctx context.Context, orgID, groupID string, processed int64) error {
	err := db.gorm.WithContext(ctx).Model(&recalcRow{}).
		Where("org_id = ? AND group_id = ? AND status = ?", orgID, groupID, scimflow.RecalcRunning).
		Update("processed", processed).Error
	return internal("record progress", err)
}

// FinishGroupPass closes the group's unfinished recalculations up to
// version: completed, or failed with errMsg. It returns the group's
// current mapping version (0 and false when the group is gone).
func (db *DB) FinishGroupPass(ctx context.Context, orgID, groupID string, version, processed, changed int64, errMsg string) (int64, bool, error) {
	tx := db.gorm.WithContext(ctx)
	status := scimflow.RecalcCompleted
	if errMsg != "" {
		status = scimflow.RecalcFailed
	}
	now := db.now()
	err := tx.Model(&recalcRow{}).
		Where("org_id = ? AND group_id = ? AND status IN ? AND mapping_version <= ?", orgID, groupID, []string{scimflow.RecalcPending, scimflow.RecalcRunning}, version).
		Updates(map[string]any{"status": status, "processed": processed, "changed": changed, "error": errMsg,
			"finished_at": now, "started_at": gorm.Expr("COALESCE(started_at, ?)", now)}).Error
	if err != nil {
		return 0, false, internal("finish group pass", err)
	}
	var v []int64
	if err := tx.Model(&groupRow{}).Where("org_id = ? AND id = ?", orgID, groupID).Pluck("mapping_version", &v).Error; err != nil {
		return 0, false, internal("finish group pass", err)
	}
	if len(v) == 0 {
		return 0, false, nil
	}
	return v[0], true, nil
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
