package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// The recalculation outbox (recalc_outbox) holds the users whose
// permissions a committed membership change, (de)activation or deletion
// affects. It is written in the same transaction as the change, so no
// change is ever committed without it; the org's membership workflow
// consumes it, and the sweeper wakes that workflow when a notification was
// lost.

type outboxRow struct {
	ID        int64 `gorm:"primaryKey"`
	OrgID     string
	UserID    string
	Reason    string
	CreatedAt time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
}

func (outboxRow) TableName() string { return "recalc_outbox" }

// enqueue records users whose permissions need recalculating, in one
// statement.
func enqueue(tx *gorm.DB, q *scimflow.Queued, orgID string, userIDs []string, reason string, now time.Time) error {
	if len(userIDs) == 0 {
		return nil
	}
	err := tx.Exec("INSERT INTO recalc_outbox (org_id, user_id, reason, created_at) SELECT ?, ids.id, ?, ? FROM "+eachID(tx),
		orgID, reason, now, idsParam(tx, userIDs)).Error
	if err != nil {
		return err
	}
	q.OrgID, q.Members = orgID, true
	return nil
}

// enqueueMembers records every member of a group (before the group, or
// all its memberships, go).
func enqueueMembers(tx *gorm.DB, q *scimflow.Queued, orgID, groupID, reason string, now time.Time) error {
	res := tx.Exec(`INSERT INTO recalc_outbox (org_id, user_id, reason, created_at)
		SELECT ?, user_id, ?, ? FROM group_members WHERE group_id = ?`, orgID, reason, now, groupID)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected > 0 {
		q.OrgID, q.Members = orgID, true
	}
	return nil
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
	if len(left) > 0 {
		// A full batch with more behind it is a bulk import under way.
		db.refreshStatistics(ctx, "users", "group_members", "effective_roles")
	}
	return len(userIDs), changed, len(left) > 0, nil
}

// OrgsWithStaleOutbox returns orgs whose outbox has rows older than age.
func (db *DB) OrgsWithStaleOutbox(ctx context.Context, age time.Duration) ([]string, error) {
	var ids []string
	err := db.gorm.WithContext(ctx).Model(&outboxRow{}).Where("created_at < ?", db.now().Add(-age)).
		Distinct("org_id").Limit(1000).Pluck("org_id", &ids).Error
	return ids, internal("stale outbox", err)
}
