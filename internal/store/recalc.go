package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

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
// given id, in id order (a keyset page: no OFFSET, however large the group).
func (db *DB) GroupMemberPage(ctx context.Context, orgID, groupID, after string, limit int) ([]string, error) {
	var ids []string
	err := db.gorm.WithContext(ctx).Table("group_members gm").Joins("JOIN groups g ON g.id = gm.group_id").
		Where("gm.group_id = ? AND g.org_id = ? AND gm.user_id > ?", groupID, orgID, after).
		Order("gm.user_id").Limit(limit).Pluck("gm.user_id", &ids).Error
	return ids, internal("member page", err)
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

// ProcessOutbox recalculates the users of the oldest outbox rows of org
// (up to limit rows), then deletes exactly the rows it read. Ids are
// handed out at insert, not at commit: a row committed during the batch
// may carry a lower id than rows already read, so "delete up to the
// highest id" could drop a change nobody recalculated. A row read here
// was committed before the recalculation started, which reads after
// locking its users, so the recalculation sees its change. A retried
// batch redoes idempotent work.
func (db *DB) ProcessOutbox(ctx context.Context, orgID string, limit int) (users, changed int, more bool, err error) {
	tx := db.gorm.WithContext(ctx)
	var rows []outboxRow
	if err := tx.Where("org_id = ?", orgID).Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return 0, 0, false, internal("outbox", err)
	}
	if len(rows) == 0 {
		return 0, 0, false, nil
	}
	rowIDs := make([]int64, len(rows))
	userIDs := make([]string, 0, len(rows))
	seen := map[string]bool{}
	for i, r := range rows {
		rowIDs[i] = r.ID
		if !seen[r.UserID] {
			seen[r.UserID] = true
			userIDs = append(userIDs, r.UserID)
		}
	}
	if changed, err = db.RecalculateUsers(ctx, orgID, userIDs, nil); err != nil {
		return 0, 0, false, err
	}
	for i := 0; i < len(rowIDs); i += chunk {
		if err := tx.Where("id IN ?", rowIDs[i:min(i+chunk, len(rowIDs))]).Delete(&outboxRow{}).Error; err != nil {
			return 0, 0, false, internal("outbox", err)
		}
	}
	var left []int64
	if err := tx.Model(&outboxRow{}).Where("org_id = ?", orgID).Limit(1).Pluck("id", &left).Error; err != nil {
		return 0, 0, false, internal("outbox", err)
	}
	return len(userIDs), changed, len(left) > 0, nil
}

// ReconcileUsers recomputes from scratch the effective roles of up to
// limit users of org after the given id and reports how many rows were
// wrong (and are now fixed).
func (db *DB) ReconcileUsers(ctx context.Context, orgID, after string, limit int) (next string, users, fixed int, done bool, err error) {
	if _, err := db.FindOrg(ctx, orgID); err != nil {
		return "", 0, 0, false, err
	}
	var ids []string
	err = db.gorm.WithContext(ctx).Model(&userRow{}).Where("org_id = ? AND id > ?", orgID, after).
		Order("id").Limit(limit).Pluck("id", &ids).Error
	if err != nil {
		return "", 0, 0, false, internal("reconcile", err)
	}
	if len(ids) == 0 {
		return after, 0, 0, true, nil
	}
	fixed, err = db.RecalculateUsers(ctx, orgID, ids, nil)
	if err != nil {
		return "", 0, 0, false, err
	}
	// Effective roles of users that no longer exist vanish with them
	// (foreign keys), so users are the whole space to check.
	return ids[len(ids)-1], len(ids), fixed, len(ids) < limit, nil
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

// OrgsWithStaleOutbox returns orgs whose outbox has rows older than age.
func (db *DB) OrgsWithStaleOutbox(ctx context.Context, age time.Duration) ([]string, error) {
	var ids []string
	err := db.gorm.WithContext(ctx).Model(&outboxRow{}).Where("created_at < ?", db.now().Add(-age)).
		Distinct("org_id").Limit(1000).Pluck("org_id", &ids).Error
	return ids, internal("stale outbox", err)
}

// IsNotFound reports whether err says the org, group or user is gone.
func IsNotFound(err error) bool {
	var e *scimflow.Error
	return errors.As(err, &e) && e.Code == scimflow.ENOTFOUND
}
