package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// The audit trail. Events are queued by the write path (Queued.Record)
// and inserted by write, in the transaction of the change they record: a
// change that commits has its events, one that rolls back has none. One
// request is one INSERT, however many events it queued, and membership
// changes are one event per request, so the cost of the trail does not
// grow with the number of rows a request touches beyond the ids it names.

// maxAuditIDs bounds the ids an event lists (members added or removed by
// one request); the counts stay exact.
const maxAuditIDs = 10000

// DefaultAuditLimit and MaxAuditLimit bound a page of audit events.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 500
)

type auditRow struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	OrgID      string
	Time       time.Time
	Type       string
	ActorType  string
	ActorID    string
	ActorName  string
	TargetType string
	TargetID   string
	TargetName string
	Details    string
}

func (auditRow) TableName() string { return "audit_events" }

func (r *auditRow) domain() scimflow.AuditEvent {
	e := scimflow.AuditEvent{ID: strconv.FormatInt(r.ID, 10), OrgID: r.OrgID, Time: r.Time.UTC(), Type: r.Type,
		Actor:  scimflow.Actor{Type: r.ActorType, ID: r.ActorID, Name: r.ActorName},
		Target: scimflow.Target{Type: r.TargetType, ID: r.TargetID, Name: r.TargetName}}
	_ = json.Unmarshal([]byte(r.Details), &e.Details) // written by writeAudit: always an object
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	return e
}

// writeAudit inserts the events of one write, by actor, in its transaction.
func writeAudit(tx *gorm.DB, orgID string, actor scimflow.Actor, events []scimflow.AuditEvent, now time.Time) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]auditRow, len(events))
	for i, e := range events {
		details := e.Details
		if details == nil {
			details = map[string]any{}
		}
		b, err := json.Marshal(details)
		if err != nil {
			return err
		}
		org := e.OrgID
		if org == "" {
			org = orgID
		}
		rows[i] = auditRow{OrgID: org, Time: now, Type: e.Type, ActorType: actor.Type, ActorID: actor.ID, ActorName: actor.Name,
			TargetType: e.Target.Type, TargetID: e.Target.ID, TargetName: e.Target.Name, Details: string(b)}
	}
	return tx.Create(&rows).Error
}

// capIDs returns at most maxAuditIDs of ids, for an event's details.
func capIDs(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	if len(ids) > maxAuditIDs {
		return ids[:maxAuditIDs]
	}
	return ids
}

// AuditEvents returns a page of org's audit events matching f, newest
// first, and the cursor of the next page ("" on the last page).
func (db *DB) AuditEvents(ctx context.Context, orgID string, f scimflow.AuditFilter) ([]scimflow.AuditEvent, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	if limit > MaxAuditLimit {
		limit = MaxAuditLimit
	}
	q := db.gorm.WithContext(ctx).Where("org_id = ?", orgID)
	if f.Cursor != "" {
		before, err := decodeAuditCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("id < ?", before)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.ActorID != "" {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	if f.GroupID != "" {
		q = q.Where("target_type = ? AND target_id = ?", scimflow.TargetGroup, f.GroupID)
	}
	if f.UserID != "" {
		// A user's own events, and the membership changes that name them
		// (in the ids an event lists).
		named := "(details::jsonb -> 'added' @> to_jsonb(?::text) OR details::jsonb -> 'removed' @> to_jsonb(?::text))"
		if db.dialect == SQLite {
			named = "(EXISTS (SELECT 1 FROM json_each(details, '$.added') WHERE value = ?) OR EXISTS (SELECT 1 FROM json_each(details, '$.removed') WHERE value = ?))"
		}
		q = q.Where("((target_type = ? AND target_id = ?) OR (type = ? AND "+named+"))",
			scimflow.TargetUser, f.UserID, scimflow.EventMembersChanged, f.UserID, f.UserID)
	}
	if !f.Since.IsZero() {
		q = q.Where("time >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("time < ?", f.Until.UTC())
	}
	var rows []auditRow
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", internal("audit events", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = encodeAuditCursor(rows[limit-1].ID)
	}
	out := make([]scimflow.AuditEvent, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, next, nil
}

// Audit cursors are opaque to clients: the id of the last event seen.
func encodeAuditCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a:" + strconv.FormatInt(id, 10)))
}

func decodeAuditCursor(c string) (int64, error) {
	bad := scimflow.Errorf(scimflow.EINVALID, "invalid cursor: use the nextCursor of a previous page")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "a:") {
		return 0, bad
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(string(b), "a:"), 10, 64)
	if err != nil || id <= 0 {
		return 0, bad
	}
	return id, nil
}

// pruneBatch bounds the rows one pruning statement deletes, so that
// pruning a long-neglected trail never holds locks for long.
const pruneBatch = 5000

// PruneAudit deletes the audit events of every org older than before and
// reports how many it deleted. It runs from a schedule.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res := db.gorm.WithContext(ctx).Exec(
			"DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE time < ? ORDER BY time LIMIT ?)", before.UTC(), pruneBatch)
		if res.Error != nil {
			return total, internal("prune audit events", res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < pruneBatch {
			return total, nil
		}
	}
}
