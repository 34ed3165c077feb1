package worker_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/scimflow/scimflow/internal/benchseed"
	"github.com/scimflow/scimflow/internal/testenv"
	"github.com/scimflow/scimflow/workflows"
)

// BenchmarkGroupRecalculation is issue 11's benchmark. Each run seeds a
// fresh database (package benchseed: n users, 50 groups, 500 entry
// points, 5 groups per user, a target group of every user mapping 20
// entry points, four other groups mapped) and measures on it, in order:
//
//   - import: 100,000 members (all of them when n is smaller) added to an
//     empty group through the SCIM API in PATCHes of 5,000; median and
//     p95 per PATCH;
//   - floor: one set-based INSERT … SELECT … GROUP BY … ON CONFLICT DO
//     UPDATE computing the same new effective roles (every member × the
//     20 entry points, max role over the user's groups) into a bare table
//     (text keys as in effective_roles, smallint role, primary key only),
//     pre-filled with the rows effective_roles has for them;
//   - e2e: Update Group on the target (20 entry points, admin → approver)
//     through the API, Temporal (in-process temporaltest server) and a
//     separate `scimflow worker` process (built with -tags nodev), until
//     the recalculation says completed; and the worker's peak RSS
//     (VmHWM) once it has.
//
// Without statistics, nothing analyzes the database before the import
// and the floor; scimflow itself may analyze during the e2e pass (its
// rate-limited refresh of stale statistics is part of what is measured).
// With statistics, ANALYZE runs after the seed.
//
// Knobs (environment): SCIMFLOW_BENCH_MEMBERS (comma-separated, default
// 10000), SCIMFLOW_BENCH_STATS (off, on or both; default both),
// SCIMFLOW_BENCH_WORKER_BIN (a scimflow binary to run instead of building
// one), SCIMFLOW_BENCH_EXPLAIN=1 (log EXPLAIN (ANALYZE, BUFFERS) of the
// floor statement, which is then what is timed).
//
//	SCIMFLOW_BENCH_MEMBERS=100000 go test -run '^$' -bench GroupRecalculation -benchtime 1x -count 3 -timeout 2h ./worker/
func BenchmarkGroupRecalculation(b *testing.B) {
	for _, n := range benchMembers(b) {
		for _, stats := range benchStats(b) {
			b.Run(fmt.Sprintf("members=%d/stats=%s", n, stats), func(b *testing.B) { benchGroup(b, n, stats == "on") })
		}
	}
}

func benchMembers(b *testing.B) []int {
	v := os.Getenv("SCIMFLOW_BENCH_MEMBERS")
	if v == "" {
		return []int{10_000}
	}
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			b.Fatalf("SCIMFLOW_BENCH_MEMBERS=%q: want numbers ≥ 1", v)
		}
		out = append(out, n)
	}
	return out
}

func benchStats(b *testing.B) []string {
	switch v := os.Getenv("SCIMFLOW_BENCH_STATS"); v {
	case "", "both":
		return []string{"off", "on"}
	case "on", "off":
		return []string{v}
	default:
		b.Fatalf("SCIMFLOW_BENCH_STATS=%q: want off, on or both", v)
		return nil
	}
}

// BenchmarkMembershipImport is the import phase of
// BenchmarkGroupRecalculation on its own (same seed, same knobs but the
// worker's): 100,000 members added to an empty group in SCIM PATCHes of
// 5,000, median and p95 per PATCH.
//
//	SCIMFLOW_BENCH_MEMBERS=100000 SCIMFLOW_BENCH_STATS=off go test -run '^$' -bench MembershipImport -benchtime 1x -count 5 ./worker/
func BenchmarkMembershipImport(b *testing.B) {
	for _, n := range benchMembers(b) {
		for _, stats := range benchStats(b) {
			b.Run(fmt.Sprintf("members=%d/stats=%s", n, stats), func(b *testing.B) {
				env, org := benchSeed(b, n, stats == "on")
				p50, p95 := benchImport(b, env, org)
				b.ReportMetric(p50, "patch-p50-ms")
				b.ReportMetric(p95, "patch-p95-ms")
				b.Logf("members=%d stats=%s: PATCH of 5,000 p50 %.0f ms p95 %.0f ms; load average after: %s", n, stats, p50, p95, loadAverage())
			})
		}
	}
}

// benchSeed starts a test server on a fresh database and seeds its org
// with n users (package benchseed); with stats, ANALYZE runs afterwards.
func benchSeed(b *testing.B, n int, stats bool) (*testenv.Env, *benchseed.Org) {
	ctx := context.Background()
	env := testenv.Server(b)
	sqlDB, err := env.DB.SQL()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("load average before: %s", loadAverage())
	start := time.Now()
	org, err := benchseed.Seed(ctx, sqlDB, env.OrgID, n, b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "seed-s")
	if stats {
		start := time.Now()
		if _, err := sqlDB.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
		b.Logf("ANALYZE: %s", time.Since(start).Round(time.Millisecond))
	}
	return env, org
}

func benchGroup(b *testing.B, n int, stats bool) {
	bin := workerBinary(b)
	env, org := benchSeed(b, n, stats)

	p50, p95 := benchImport(b, env, org)
	b.ReportMetric(p50, "patch-p50-ms")
	b.ReportMetric(p95, "patch-p95-ms")

	floor := benchFloor(b, env, org, stats)
	b.ReportMetric(floor.Seconds(), "floor-s")

	e2e, rss := benchE2E(b, env, org, bin)
	b.ReportMetric(e2e.Seconds(), "e2e-s")
	b.ReportMetric(e2e.Seconds()/floor.Seconds(), "e2e/floor")
	b.ReportMetric(rss, "worker-rss-MB")
	b.Logf("members=%d stats=%v: floor %.1fs, e2e %.1fs (ratio %.2f), worker VmHWM %.0f MB, PATCH of 5,000 p50 %.0f ms p95 %.0f ms; load average after: %s",
		n, stats, floor.Seconds(), e2e.Seconds(), e2e.Seconds()/floor.Seconds(), rss, p50, p95, loadAverage())
}

// benchImport adds up to 100,000 seeded users to a new, empty group in
// SCIM PATCHes of 5,000 and returns the median and p95 per PATCH in ms.
// The API is not wired to Temporal yet, so a PATCH ends with its commit
// (outbox rows included) and nothing recalculates meanwhile; the outbox is
// emptied afterwards (the group has no mapping: nothing to recalculate),
// and the members stay: during the Update Group each user is in 6 groups.
func benchImport(b *testing.B, env *testenv.Env, org *benchseed.Org) (p50, p95 float64) {
	res := env.SCIM("POST", "/scim/v2/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Imported"})
	if res.Status != 201 {
		b.Fatalf("create group: %d %s", res.Status, res.Body)
	}
	gid := res.JSON(b)["id"].(string)
	const perPatch = 5000
	total := min(org.Members, 100_000)
	var lat []float64
	for from := 1; from <= total; from += perPatch {
		ids := make([]string, 0, perPatch)
		for i := from; i < from+perPatch && i <= total; i++ {
			ids = append(ids, benchseed.UserID(org.OrgID, i))
		}
		body, err := json.Marshal(testenv.PatchOp(map[string]any{"op": "Add", "path": "members", "value": testenv.Members(ids...)}))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res := env.SCIM("PATCH", "/scim/v2/Groups/"+gid, body)
		lat = append(lat, float64(time.Since(start).Microseconds())/1000)
		if res.Status != 204 {
			b.Fatalf("PATCH: %d %s", res.Status, res.Body)
		}
	}
	sqlDB, _ := env.DB.SQL()
	if _, err := sqlDB.Exec("TRUNCATE recalc_outbox"); err != nil {
		b.Fatal(err)
	}
	b.Logf("import: %d PATCHes of %d members: %v ms", len(lat), perPatch, lat)
	slices.Sort(lat)
	// The median of an even count is the mean of the middle two; p95 by
	// nearest rank.
	return (lat[(len(lat)-1)/2] + lat[len(lat)/2]) / 2, lat[(len(lat)*95+99)/100-1]
}

// benchFloor times the single statement the issue takes as the floor.
func benchFloor(b *testing.B, env *testenv.Env, org *benchseed.Org, stats bool) time.Duration {
	ctx := context.Background()
	sqlDB, _ := env.DB.SQL()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string, args ...any) {
		b.Helper()
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	// The product's batch statement runs with JIT off (without statistics
	// the planner would compile it, for seconds); the floor too, so that
	// it is the best one statement does here.
	exec("SET jit = off")
	exec(`CREATE TABLE bench_floor (user_id text NOT NULL, entry_point_id text NOT NULL, role smallint NOT NULL,
		PRIMARY KEY (user_id, entry_point_id))`)
	defer exec("DROP TABLE bench_floor")
	exec(`INSERT INTO bench_floor SELECT e.user_id, e.entry_point_id, r.rank
		FROM effective_roles e JOIN roles r ON r.name = e.role
		WHERE e.org_id = $1 AND e.entry_point_id = ANY($2) ORDER BY 1, 2`, org.OrgID, org.TargetEntryPoints)
	exec("SELECT count(*) FROM bench_floor") // hint bits, as the seed does for its tables
	if stats {
		exec("ANALYZE bench_floor")
	}
	// The new mapping, as Update Group will set it; back afterwards.
	exec("UPDATE group_mappings SET role = 'approver' WHERE group_id = $1", org.Target)
	defer exec("UPDATE group_mappings SET role = $2 WHERE group_id = $1", org.Target, benchseed.TargetRole)
	q := `INSERT INTO bench_floor (user_id, entry_point_id, role)
		SELECT gm.user_id, m.entry_point_id, max(r.rank)
		FROM group_members gm
		JOIN users u ON u.id = gm.user_id AND u.active
		JOIN group_mappings m ON m.group_id = gm.group_id
		JOIN roles r ON r.name = m.role
		WHERE gm.user_id IN (SELECT user_id FROM group_members WHERE group_id = $1) AND m.entry_point_id = ANY($2)
		GROUP BY gm.user_id, m.entry_point_id
		ON CONFLICT (user_id, entry_point_id) DO UPDATE SET role = excluded.role
		WHERE bench_floor.role <> excluded.role`
	explain := os.Getenv("SCIMFLOW_BENCH_EXPLAIN") == "1"
	if explain {
		q = "EXPLAIN (ANALYZE, BUFFERS) " + q
	}
	start := time.Now()
	rows, err := conn.QueryContext(ctx, q, org.Target, org.TargetEntryPoints)
	if err != nil {
		b.Fatalf("floor: %v", err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	if explain {
		b.Logf("floor plan:\n%s", strings.Join(plan, "\n"))
	}
	var changed int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM bench_floor WHERE role = 4").Scan(&changed); err != nil {
		b.Fatal(err)
	}
	if want := int64(org.Members) * int64(len(org.TargetEntryPoints)); changed != want {
		b.Fatalf("floor wrote %d approver rows, want %d", changed, want)
	}
	return d
}

// benchE2E runs a `scimflow worker` process, wires the API to Temporal,
// sends Update Group and waits for the recalculation to complete. It
// returns the time from the request to completed and the worker's VmHWM
// in MB.
func benchE2E(b *testing.B, env *testenv.Env, org *benchseed.Org, bin string) (time.Duration, float64) {
	hostPort, ns := testenv.TemporalServer(b)
	c := testenv.DialTemporal(b, hostPort, ns)
	env.UseEngine(c, 0)
	pid := startWorker(b, bin, env.DBURL, hostPort, ns)
	waitPollers(b, c)

	var eps []any
	for _, id := range org.TargetEntryPoints {
		eps = append(eps, map[string]any{"id": id, "role": "approver"})
	}
	start := time.Now()
	res := env.Do(env.AdminToken, "PUT", "/api/v1/scim/groups/"+org.Target+"/entry-points", map[string]any{"entryPoints": eps})
	if res.Status != 202 {
		b.Fatalf("update group: %d %s", res.Status, res.Body)
	}
	id := res.JSON(b)["recalculation"].(map[string]any)["id"].(string)
	body := waitCompleted(b, env, id)
	d := time.Since(start)
	rss := vmHWM(b, pid)
	b.Logf("recalculation: %v", body)

	sqlDB, _ := env.DB.SQL()
	var approver int64
	err := sqlDB.QueryRow("SELECT count(*) FROM effective_roles WHERE org_id = $1 AND entry_point_id = ANY($2) AND role = 'approver'",
		org.OrgID, org.TargetEntryPoints).Scan(&approver)
	if err != nil {
		b.Fatal(err)
	}
	if want := int64(org.Members) * int64(len(org.TargetEntryPoints)); approver != want {
		b.Fatalf("after the recalculation %d approver rows, want %d", approver, want)
	}
	return d, rss
}

func waitCompleted(b *testing.B, env *testenv.Env, id string) map[string]any {
	deadline := time.Now().Add(3 * time.Hour)
	for time.Now().Before(deadline) {
		body := env.Do(env.AdminToken, "GET", "/api/v1/recalculations/"+id, nil).JSON(b)
		switch body["status"] {
		case "completed":
			return body
		case "failed":
			b.Fatalf("recalculation failed: %v", body)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	b.Fatalf("recalculation %s did not complete", id)
	return nil
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// workerBinary returns SCIMFLOW_BENCH_WORKER_BIN or a scimflow binary
// built once per benchmark process, as the Dockerfile builds it.
func workerBinary(b *testing.B) string {
	if p := os.Getenv("SCIMFLOW_BENCH_WORKER_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "scimflow-bench-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "scimflow")
		out, err := exec.Command("go", "build", "-tags", "nodev", "-o", builtBin, "github.com/scimflow/scimflow/cmd/scimflow").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return builtBin
}

// startWorker starts `scimflow worker` against the database and Temporal
// and returns its pid; it is stopped (SIGTERM) when b ends.
func startWorker(b *testing.B, bin, dbURL, hostPort, ns string) int {
	logPath := filepath.Join(b.TempDir(), "worker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "worker")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+hostPort, "TEMPORAL_NAMESPACE="+ns,
		"SCIMFLOW_OPS_ADDR=127.0.0.1:0", "TEMPORAL_TASK_QUEUE="+workflows.DefaultTaskQueue)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		logFile.Close()
		if b.Failed() {
			if out, err := os.ReadFile(logPath); err == nil {
				b.Logf("worker log:\n%s", out)
			}
		}
	})
	return cmd.Process.Pid
}

// waitPollers waits until a worker polls both task queue types, so that
// the worker's start-up is not part of the measured time.
func waitPollers(b *testing.B, c client.Client) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		ready := true
		for _, t := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			res, err := c.DescribeTaskQueue(context.Background(), workflows.DefaultTaskQueue, t)
			if err != nil || len(res.Pollers) == 0 {
				ready = false
			}
		}
		if ready {
			return
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	b.Fatal("the worker process never polled the task queue")
}

// vmHWM is the peak resident set size of process pid, in MB.
func vmHWM(b *testing.B, pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
