package worker_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/testenv"
)

// BenchmarkGroupRecalculation measures "Update Group" end to end — API
// call to completed recalculation, through Temporal, a worker and
// Postgres — for a group of n members, each user in about 5 groups, the
// group mapped to 20 entry points out of 500. In the same run it times one
// hand-written set-based SQL statement pair doing the same recomputation,
// and it samples the worker process's heap to show it does not grow with
// the group.
//
//	go test -run '^$' -bench GroupRecalculation -benchtime 1x -timeout 30m ./worker/
func BenchmarkGroupRecalculation(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) { benchGroup(b, n) })
	}
}

func benchGroup(b *testing.B, n int) {
	ctx := context.Background()
	env := testenv.Server(b)
	f := fixture{t: nil, env: env}
	prefix := testenv.SeedUsers(b, env.DB, env.OrgID, n)
	eps := testenv.SeedEntryPoints(b, env.DB, env.OrgID, 500)
	// Five groups of all n users: every user is in 5 groups; four of them
	// already map 20 entry points each.
	var groups []string
	for g := range 5 {
		groups = append(groups, testenv.SeedGroup(b, env.DB, env.OrgID, fmt.Sprintf("G%d", g), prefix, n))
	}
	for g := 1; g < 5; g++ {
		var ms []scimflow.Mapping
		for i := range 20 {
			ms = append(ms, scimflow.Mapping{EntryPointID: eps[(g*37+i*11)%500], Role: []string{"viewer", "contributor", "reporter", "approver", "admin"}[(g+i)%5]})
		}
		if _, err := env.DB.SetGroupMappings(ctx, env.OrgID, groups[g], ms, nil); err != nil {
			b.Fatal(err)
		}
	}
	var users []string
	for i := 1; i <= n; i++ {
		users = append(users, testenv.SeededUserID(prefix, i))
	}
	if _, err := env.DB.RecalculateUsers(ctx, env.OrgID, users, nil); err != nil {
		b.Fatal(err)
	}
	target := groups[0]
	var mapping []string
	for i := range 20 {
		mapping = append(mapping, eps[(i*23)%500], "approver")
	}

	roleA := func(role string) []scimflow.Mapping {
		var ms []scimflow.Mapping
		for i := 0; i < len(mapping); i += 2 {
			ms = append(ms, scimflow.Mapping{EntryPointID: mapping[i], Role: role})
		}
		return ms
	}
	var epList []string
	for i := 0; i < len(mapping); i += 2 {
		epList = append(epList, mapping[i])
	}
	sqlDB, _ := env.DB.SQL()
	// The yardstick: one hand-written set-based recomputation of the
	// group's members on the mapped entry points, in one transaction.
	handSQL := func() time.Duration {
		start := time.Now()
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, err = tx.ExecContext(ctx, `
		INSERT INTO effective_roles (user_id, entry_point_id, org_id, role, updated_at)
		SELECT d.user_id, d.entry_point_id, $1, r.name, now() FROM (
			SELECT gm.user_id, m.entry_point_id, max(r.rank) AS rank
			FROM group_members gm
			JOIN users u ON u.id = gm.user_id AND u.active
			JOIN group_mappings m ON m.group_id = gm.group_id
			JOIN roles r ON r.name = m.role
			WHERE gm.user_id IN (SELECT user_id FROM group_members WHERE group_id = $2) AND m.entry_point_id = ANY($3)
			GROUP BY gm.user_id, m.entry_point_id) d
		JOIN roles r ON r.rank = d.rank
		ON CONFLICT (user_id, entry_point_id) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at
		WHERE effective_roles.role <> excluded.role`, env.OrgID, target, epList)
		if err != nil {
			b.Fatal(err)
		}
		_, err = tx.ExecContext(ctx, `
		DELETE FROM effective_roles e WHERE e.org_id = $1 AND e.entry_point_id = ANY($3)
		AND e.user_id IN (SELECT user_id FROM group_members WHERE group_id = $2)
		AND NOT EXISTS (SELECT 1 FROM group_members gm JOIN users u ON u.id = gm.user_id AND u.active
			JOIN group_mappings m ON m.group_id = gm.group_id
			WHERE gm.user_id = e.user_id AND m.entry_point_id = e.entry_point_id)`, env.OrgID, target, epList)
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	// Start from the "admin" mapping, fully materialised.
	if _, err := env.DB.SetGroupMappings(ctx, env.OrgID, target, roleA("admin"), nil); err != nil {
		b.Fatal(err)
	}
	handSQL()

	// The engine hears about writes from now on: the setup above was
	// materialised by hand and must not run recalculations of its own.
	eng, _ := env.Engine(0)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	// Each iteration does the same change twice: admin → approver through
	// the product (API, Temporal, worker), then approver → admin with the
	// hand-written SQL. Both rewrite 20 roles of every member.
	var e2e, hand time.Duration
	for b.Loop() {
		start := time.Now()
		for i := 1; i < len(mapping); i += 2 {
			mapping[i] = "approver"
		}
		id := updateGroupB(b, env, target, mapping...)
		waitB(b, f, id)
		e2e += time.Since(start)

		b.StopTimer()
		// The way back is the yardstick's: the engine must not hear of it.
		env.DB.SetNotifier(nil)
		if _, err := env.DB.SetGroupMappings(ctx, env.OrgID, target, roleA("admin"), nil); err != nil {
			b.Fatal(err)
		}
		hand += handSQL()
		env.DB.SetNotifier(eng)
		b.StartTimer()
	}
	close(stop)
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(e2e.Seconds()/float64(b.N), "e2e-s/op")
	b.ReportMetric(hand.Seconds()/float64(b.N), "hand-sql-s/op")
	b.ReportMetric(e2e.Seconds()/hand.Seconds(), "ratio")
}

func updateGroupB(b *testing.B, env *testenv.Env, gid string, mapping ...string) string {
	var eps []any
	for i := 0; i+1 < len(mapping); i += 2 {
		eps = append(eps, map[string]any{"id": mapping[i], "role": mapping[i+1]})
	}
	res := env.Do(env.AdminToken, "PUT", "/api/v1/scim/groups/"+gid+"/entry-points", map[string]any{"entryPoints": eps})
	if res.Status != 202 {
		b.Fatalf("update group: %d %s", res.Status, res.Body)
	}
	return res.JSON(b)["recalculation"].(map[string]any)["id"].(string)
}

func waitB(b *testing.B, f fixture, id string) {
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		res := f.env.Do(f.env.AdminToken, "GET", "/api/v1/recalculations/"+id, nil)
		body := res.JSON(b)
		switch body["status"] {
		case "completed":
			return
		case "failed":
			b.Fatalf("recalculation failed: %v", body)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	b.Fatalf("recalculation %s did not complete", id)
}
