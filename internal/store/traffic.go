package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// FailureRing is how many of its latest failed requests each SCIM token
// keeps (scim_failures, migration 00007).
const FailureRing = 20

// trafficRetention is how long hourly traffic counters are kept.
const trafficRetention = 7 * 24 * time.Hour

// AddSCIMTraffic adds counted SCIM traffic and failures, as the API
// buffers them for a few seconds: one upsert per token and hour, one
// overwrite of a ring slot per failure. Unlike the other store methods it
// takes rows of several orgs: the buffer is one per replica, and each row
// names its org. Rows of tokens deleted meanwhile are dropped.
func (db *DB) AddSCIMTraffic(ctx context.Context, counts []scimflow.TrafficCount, failures []scimflow.SCIMFailure) error {
	latest := "greatest(scim_traffic.last_at, excluded.last_at)"
	if db.dialect == SQLite {
		latest = "max(scim_traffic.last_at, excluded.last_at)"
	}
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, c := range counts {
			err := tx.Exec(`INSERT INTO scim_traffic (token_id, hour, org_id, requests, errors, last_at)
				SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM api_tokens WHERE id = ?)
				ON CONFLICT (token_id, hour) DO UPDATE SET requests = scim_traffic.requests + excluded.requests,
					errors = scim_traffic.errors + excluded.errors, last_at = `+latest,
				c.TokenID, c.Hour.UTC(), c.OrgID, c.Requests, c.Errors, c.LastAt.UTC(), c.TokenID).Error
			if err != nil {
				return err
			}
		}
		for _, f := range failures {
			// Two replicas may pick the same slot at once: one failure of
			// the pair is lost, which a list of recent examples can afford.
			err := tx.Exec(`INSERT INTO scim_failures (token_id, slot, seq, org_id, at, method, path, status, scim_type, detail)
				SELECT ?, n % ?, n, ?, ?, ?, ?, ?, ?, ?
				FROM (SELECT COALESCE(max(seq), 0) + 1 AS n FROM scim_failures WHERE token_id = ?) s
				WHERE EXISTS (SELECT 1 FROM api_tokens WHERE id = ?)
				ON CONFLICT (token_id, slot) DO UPDATE SET seq = excluded.seq, at = excluded.at, method = excluded.method,
					path = excluded.path, status = excluded.status, scim_type = excluded.scim_type, detail = excluded.detail`,
				f.TokenID, FailureRing, f.OrgID, f.At.UTC(), f.Method, clip(f.Path, 500), f.Status, clip(f.SCIMType, 100), clip(f.Detail, 1000),
				f.TokenID, f.TokenID).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return internal("record scim traffic", err)
	}
	return nil
}

// PruneSCIMTraffic deletes hourly counters older than the retention.
func (db *DB) PruneSCIMTraffic(ctx context.Context) error {
	err := db.gorm.WithContext(ctx).Exec("DELETE FROM scim_traffic WHERE hour < ?", db.now().Add(-trafficRetention)).Error
	if err != nil {
		return internal("prune scim traffic", err)
	}
	return nil
}

// SCIMTraffic returns, per SCIM token of org, its requests and errors in
// the hours that start at or after since (so up to an hour more than
// now - since), and its latest request in them. It reads at most one row
// per token and hour.
func (db *DB) SCIMTraffic(ctx context.Context, orgID string, since time.Time) (map[string]scimflow.TokenTraffic, error) {
	var rows []struct {
		TokenID  string
		Requests int64
		Errors   int64
		LastAt   time.Time
	}
	err := db.gorm.WithContext(ctx).Raw(`SELECT token_id, requests, errors, last_at FROM scim_traffic WHERE org_id = ? AND hour >= ?`,
		orgID, since.UTC().Truncate(time.Hour)).Scan(&rows).Error
	if err != nil {
		return nil, internal("scim traffic", err)
	}
	out := map[string]scimflow.TokenTraffic{}
	for _, r := range rows {
		t := out[r.TokenID]
		t.Requests += r.Requests
		t.Errors += r.Errors
		if at := r.LastAt.UTC(); t.LastAt == nil || at.After(*t.LastAt) {
			t.LastAt = &at
		}
		out[r.TokenID] = t
	}
	return out, nil
}

// SCIMFailures returns the latest failed SCIM requests of token tokenID of
// org, newest first. A token of another org is ENOTFOUND.
func (db *DB) SCIMFailures(ctx context.Context, orgID, tokenID string) ([]scimflow.SCIMFailure, error) {
	var n int64
	err := db.gorm.WithContext(ctx).Model(&tokenRow{}).Where("org_id = ? AND id = ? AND scope = ?", orgID, tokenID, string(scimflow.ScopeSCIM)).Count(&n).Error
	if err != nil {
		return nil, internal("find token", err)
	}
	if n == 0 {
		return nil, scimflow.Errorf(scimflow.ENOTFOUND, "SCIM token %s not found", tokenID)
	}
	var rows []struct {
		At       time.Time
		Method   string
		Path     string
		Status   int
		SCIMType string `gorm:"column:scim_type"`
		Detail   string
	}
	err = db.gorm.WithContext(ctx).Raw(`SELECT at, method, path, status, scim_type, detail FROM scim_failures
		WHERE token_id = ? AND org_id = ? ORDER BY seq DESC`, tokenID, orgID).Scan(&rows).Error
	if err != nil {
		return nil, internal("scim failures", err)
	}
	out := make([]scimflow.SCIMFailure, len(rows))
	for i, r := range rows {
		out[i] = scimflow.SCIMFailure{TokenID: tokenID, OrgID: orgID, At: r.At.UTC(), Method: r.Method, Path: r.Path,
			Status: r.Status, SCIMType: r.SCIMType, Detail: r.Detail}
	}
	return out, nil
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
