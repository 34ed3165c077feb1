package store

import (
	"context"
	"time"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// Backlog is the recalculation work waiting in the database, over every
// org (for metrics: no org is named).
type Backlog struct {
	Pending, Running int64     // recalculations by status
	OutboxRows       int64     // membership changes not yet recalculated
	OutboxOldest     time.Time // zero when the outbox is empty
}

// Backlog counts the recalculation work waiting in the database.
func (db *DB) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	tx := db.gorm.WithContext(ctx)
	var byStatus []struct {
		Status string
		N      int64
	}
	err := tx.Model(&recalcRow{}).Select("status, count(*) AS n").
		Where("status IN ?", []string{scimflow.RecalcPending, scimflow.RecalcRunning}).Group("status").Scan(&byStatus).Error
	if err != nil {
		return b, internal("backlog", err)
	}
	for _, s := range byStatus {
		if s.Status == scimflow.RecalcPending {
			b.Pending = s.N
		} else {
			b.Running = s.N
		}
	}
	if err := tx.Model(&outboxRow{}).Count(&b.OutboxRows).Error; err != nil {
		return b, internal("backlog", err)
	}
	if b.OutboxRows > 0 {
		var oldest []outboxRow
		if err := tx.Order("id").Limit(1).Find(&oldest).Error; err != nil {
			return b, internal("backlog", err)
		}
		if len(oldest) == 1 {
			b.OutboxOldest = oldest[0].CreatedAt
		}
	}
	return b, nil
}
