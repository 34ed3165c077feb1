package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/testenv"
)

// TestRecalculatePlanWithoutStatistics: on a database whose statistics
// were never collected (a fresh IdP import), the recalculation statement
// reaches memberships, users and stored roles through their indexes, one
// user at a time, never by scanning a table whose size grows with the
// org. (The product never runs ANALYZE to make this hold; neither does
// this test.)
func TestRecalculatePlanWithoutStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	org := newOrg(t, db)
	sqlDB, _ := db.SQL()
	for _, stmt := range []string{
		`INSERT INTO users (id, org_id, source, user_name, version, created_at, updated_at)
			SELECT md5(i::text)::uuid::text, $1, 'scim', 'p' || i, 1, now(), now() FROM generate_series(1, 5000) i`,
		`INSERT INTO groups (id, org_id, display_name, created_at, updated_at) VALUES ('plan-g', $1, 'Plan', now(), now())`,
		`INSERT INTO group_members (group_id, user_id, created_at) SELECT 'plan-g', id, now() FROM users WHERE org_id = $1`,
		`INSERT INTO entry_points (id, org_id, name, created_at, updated_at)
			SELECT 'plan-ep' || i, $1, 'EP' || i, now(), now() FROM generate_series(1, 10) i`,
		`INSERT INTO group_mappings SELECT 'plan-g', id, 'admin' FROM entry_points WHERE org_id = $1`,
		`INSERT INTO effective_roles (user_id, entry_point_id, org_id, role, updated_at)
			SELECT u.id, e.id, $1, 'viewer', now() FROM users u, entry_points e WHERE u.org_id = $1 AND e.org_id = $1`,
	} {
		if _, err := sqlDB.ExecContext(ctx, stmt, org); err != nil {
			t.Fatal(err)
		}
	}
	var analyzed int
	sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM pg_stats WHERE tablename IN ('users', 'group_members', 'effective_roles')`).Scan(&analyzed)
	if analyzed != 0 {
		t.Fatalf("the tables have statistics (%d columns): the test needs a never-analyzed database", analyzed)
	}
	var ids []string
	rows, err := sqlDB.QueryContext(ctx, "SELECT id FROM users WHERE org_id = $1 ORDER BY id LIMIT 1000", org)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	for name, eps := range map[string][]string{"all entry points": nil, "a mapping's entry points": {"plan-ep1", "plan-ep2"}} {
		plan, err := db.ExplainRecalculate(ctx, org, ids, eps)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"users", "group_members", "effective_roles"} {
			if strings.Contains(plan, "Seq Scan on "+table) {
				t.Errorf("%s: the plan scans %s:\n%s", name, table, plan)
			}
		}
	}
	// And the statement does what it says on these tables.
	n, err := db.RecalculateUsers(ctx, org, ids, nil)
	if err != nil || n != 10*len(ids) {
		t.Errorf("RecalculateUsers = %d, %v; want %d viewer rows raised to admin", n, err, 10*len(ids))
	}
}

// TestRefreshStatistics: after a bulk import, scimflow analyzes the
// tables whose statistics are missing, and leaves small tables alone.
func TestRefreshStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	org := newOrg(t, db)
	testenv.SeedUsers(t, db, org, 12_000)
	sqlDB, _ := db.SQL()
	// pg_stat counters reach pg_stat_user_tables when the inserting
	// session reports them; poll until the import is visible.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var live int64
		sqlDB.QueryRowContext(ctx, "SELECT n_live_tup + n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'users'").Scan(&live)
		if live >= 12_000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pg_stat_user_tables never showed the import (%d rows)", live)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
	db.RefreshStatistics(ctx, "users", "groups")
	stats := func(table string) (n int) {
		sqlDB.QueryRowContext(ctx, "SELECT count(*) FROM pg_stats WHERE tablename = $1", table).Scan(&n)
		return n
	}
	if stats("users") == 0 {
		t.Error("users has no statistics after a 12,000-row import and RefreshStatistics")
	}
	if stats("groups") != 0 {
		t.Error("the small groups table was analyzed")
	}
}
