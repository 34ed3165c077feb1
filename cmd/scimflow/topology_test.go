package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/sdk/client"

	"github.com/scimflow/scimflow/internal/access"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
	"github.com/scimflow/scimflow/workflows"
)

// TestTopology runs scimflow's production topology for real, without
// Docker: a standalone Temporal server built from the pinned
// go.temporal.io/server and configured as the compose stack configures the
// official image (persistence on the local Postgres, schema set up by the
// compose file's own script and Temporal's SQL tool), `scimflow migrate`,
// two `scimflow serve` and two `scimflow worker` processes built as the
// production image builds them (-tags nodev). It provisions a 20,000-member
// group, maps it with Update Group, SIGKILLs one worker in the middle of the
// pass and checks that the other one finishes it, that both API replicas
// answer its progress throughout, and that the stored effective roles then
// equal a from-scratch computation with access.Effective.
//
// It needs TEST_DATABASE_URL (a Postgres the test may create databases on,
// reachable by the Temporal server too) and takes about three minutes on
// two busy cores, two thirds of it building the binaries:
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run TestTopology -v ./cmd/scimflow
func TestTopology(t *testing.T) {
	pg := topologyPostgres(t)
	compose := loadCompose(t)
	bins := buildTopologyBinaries(t)
	dir := t.TempDir()
	suffix := randomHex(6)
	scimflowDB := "scimflow_t_" + suffix
	temporalDB, visibilityDB := scimflowDB+"_temporal", scimflowDB+"_visibility"
	createDatabase(t, pg, scimflowDB, temporalDB, visibilityDB)
	databaseURL := withDB(pg, scimflowDB)

	// Temporal: its schema, then the server, as the compose stack runs them.
	setUpTemporalSchema(t, compose, bins, pg, temporalDB, visibilityDB)
	frontend := startTemporal(t, compose, bins, dir, pg, temporalDB, visibilityDB)
	const namespace = "default"
	tc, err := client.Dial(client.Options{HostPort: frontend, Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	// A fresh cluster has no namespace: `scimflow migrate` creates it and
	// scimflow's search attributes, as the compose stack runs it.
	env := []string{"DATABASE_URL=" + databaseURL, "TEMPORAL_ADDRESS=" + frontend, "TEMPORAL_NAMESPACE=" + namespace}
	out, err := runProcess(bins.scimflow, env, "migrate")
	if err != nil || !strings.Contains(out, "applied") || !strings.Contains(out, "created, search attributes registered") {
		t.Fatalf("scimflow migrate: %v\n%s", err, out)
	}

	// Two API replicas and two workers. Batches of 250 make a pass of
	// 80 batches, long enough to kill a worker in its middle.
	// Each is ready when the compose file's probe, `scimflow healthcheck`,
	// passes against it.
	var apis []string
	for i := range 2 {
		p := startProcess(t, dir, fmt.Sprintf("serve-%d", i), bins.scimflow,
			append(env, "SCIMFLOW_HTTP_ADDR=127.0.0.1:0", "SCIMFLOW_RATE_LIMIT=0"), "serve", "--batch-size", "250")
		base := p.waitFor(t, regexp.MustCompile(`listening on (http://\S+)`), 30*time.Second)
		waitHealthy(t, bins.scimflow, p, "serve", "SCIMFLOW_HTTP_ADDR="+strings.TrimPrefix(base, "http://"))
		apis = append(apis, base)
	}
	var workers []*process
	for i := range 2 {
		p := startProcess(t, dir, fmt.Sprintf("worker-%d", i), bins.scimflow, append(env, "SCIMFLOW_OPS_ADDR=127.0.0.1:0"), "worker")
		ops := p.waitFor(t, regexp.MustCompile(`ops: http://(\S+)/readyz`), 30*time.Second)
		waitHealthy(t, bins.scimflow, p, "worker", "SCIMFLOW_OPS_ADDR="+ops)
		workers = append(workers, p)
	}
	waitForPollers(t, tc, workers)

	// An org, its tokens, and the data: 20,000 users seeded in bulk (every
	// tenth deactivated), group "Everyone" with all of them and "Leads"
	// with the first thousand, created through SCIM.
	org := cliJSON(t, bins.scimflow, env, "org", "create", "--name", "Topology", "--plan", "enterprise", "--scim-groups", "--json")
	orgID, adminToken := org["id"].(string), org["adminToken"].(string)
	scimToken := cliJSON(t, bins.scimflow, env, "token", "create", "--org", orgID, "--scope", "scim", "--json")["token"].(string)
	db, err := store.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const members = 20000
	prefix := testenv.SeedUsers(t, db, orgID, members)
	sqlDB, err := db.SQL()
	if err != nil {
		t.Fatal(err)
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := sqlDB.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`UPDATE users SET active = false WHERE id IN (SELECT $1 || i FROM generate_series(10, $2, 10) AS i)`, prefix, members)
	everyone := apiCall(t, apis[0], "POST", "/scim/v2/Groups", scimToken, `{"displayName":"Everyone"}`, http.StatusCreated)["id"].(string)
	leads := apiCall(t, apis[1], "POST", "/scim/v2/Groups", scimToken, `{"displayName":"Leads"}`, http.StatusCreated)["id"].(string)
	now := time.Now().UTC()
	mustExec(`INSERT INTO group_members (group_id, user_id, created_at) SELECT $1, $2 || i, $3 FROM generate_series(1, $4) AS i`, everyone, prefix, now, members)
	mustExec(`INSERT INTO group_members (group_id, user_id, created_at) SELECT $1, $2 || i, $3 FROM generate_series(1, 1000) AS i`, leads, prefix, now)
	var eps []string
	for _, name := range []string{"Payments", "Reports", "Audit"} {
		eps = append(eps, apiCall(t, apis[0], "POST", "/api/v1/entry-points", adminToken, `{"name":"`+name+`"}`, http.StatusCreated)["id"].(string))
	}

	// Leads first, to completion: Everyone's pass then has to respect a
	// higher role granted by another group.
	rec := updateGroup(t, apis[1], adminToken, leads, `{"id":"`+eps[0]+`","role":"admin"},{"id":"`+eps[2]+`","role":"reporter"}`)
	waitCompleted(t, apis, adminToken, rec, 60*time.Second)

	rec = updateGroup(t, apis[0], adminToken, everyone, `{"id":"`+eps[0]+`","role":"viewer"},{"id":"`+eps[1]+`","role":"approver"}`)
	start := time.Now()
	var killedAt map[string]any
	poll(t, "Everyone's pass under way", 60*time.Second, func() (bool, error) {
		p := progress(t, apis[0], adminToken, rec)
		processed, total := p["processed"].(float64), p["total"].(float64)
		if p["status"] == "completed" {
			t.Fatalf("the pass completed before a worker could be killed in its middle: %v", p)
		}
		if processed > 0 && processed < total {
			killedAt = p
			return true, nil
		}
		return false, nil
	})
	workers[0].kill(t)
	t.Logf("killed worker-0 at %v/%v processed, %s into the pass", killedAt["processed"], killedAt["total"], time.Since(start).Round(time.Millisecond))

	// Both replicas answer the progress of the same recalculation while the
	// surviving worker finishes it.
	final := waitCompleted(t, apis, adminToken, rec, 120*time.Second)
	t.Logf("Everyone's pass completed in %s: %v", time.Since(start).Round(time.Millisecond), final)
	if final["processed"] != final["total"] || final["total"].(float64) < members*0.9 {
		t.Errorf("final progress %v: want processed = total ≥ %d", final, members*9/10)
	}
	if workers[1].exited() {
		t.Errorf("worker-1 exited: %s", workers[1].tail())
	}

	checkFromScratch(t, db, orgID)
}

// topologyPostgres returns the URL of the Postgres server of
// TEST_DATABASE_URL: the Temporal server connects to it too, so it must
// be a server this machine reaches by host and port.
func topologyPostgres(t *testing.T) *url.URL {
	t.Helper()
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		if testenv.Required() {
			t.Fatal("integration dependency missing (TEST_REQUIRE_INTEGRATION=1): TEST_DATABASE_URL is not set")
		}
		t.Skip("skipping: TEST_DATABASE_URL is not set")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "5432")
	}
	return u
}

func withDB(server *url.URL, name string) string {
	u := *server
	u.Path = "/" + name
	return u.String()
}

// createDatabase creates scimflow's empty database and registers the
// removal of every database of the test; it runs after the processes
// that use them have been killed (cleanups run last first).
func createDatabase(t *testing.T, server *url.URL, scimflowDB string, more ...string) {
	t.Helper()
	admin, err := sql.Open("pgx", server.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, name := range append([]string{scimflowDB}, more...) {
			admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		}
		admin.Close()
	})
	if _, err := admin.Exec("CREATE DATABASE " + scimflowDB); err != nil {
		if testenv.Required() {
			t.Fatalf("Postgres at TEST_DATABASE_URL: %v", err)
		}
		t.Skipf("skipping: Postgres at TEST_DATABASE_URL: %v", err)
	}
}

type topologyBinaries struct{ scimflow, temporalServer, sqlTool string }

// buildTopologyBinaries builds scimflow as the Dockerfile does, and the
// Temporal server and its SQL tool at the versions go.mod pins (tool
// directives), concurrently.
func buildTopologyBinaries(t *testing.T) topologyBinaries {
	t.Helper()
	dir := t.TempDir()
	b := topologyBinaries{
		scimflow:       filepath.Join(dir, "scimflow"),
		temporalServer: filepath.Join(dir, "temporal-server"),
		sqlTool:        filepath.Join(dir, "temporal-sql-tool"),
	}
	builds := []struct{ out, pkg, tags string }{
		{b.scimflow, ".", "nodev"},
		{b.temporalServer, "go.temporal.io/server/cmd/server", ""},
		{b.sqlTool, "go.temporal.io/server/cmd/tools/sql", ""},
	}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	start := time.Now()
	for i, bd := range builds {
		wg.Go(func() {
			args := []string{"build", "-o", bd.out}
			if bd.tags != "" {
				args = append(args, "-tags", bd.tags)
			}
			out, err := exec.Command("go", append(args, bd.pkg)...).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("go build %s: %v\n%s", bd.pkg, err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("built scimflow, temporal-server and temporal-sql-tool in %s", time.Since(start).Round(time.Millisecond))
	return b
}

// serviceEnv is a compose service's environment with overrides, as a
// process environment (PATH and HOME kept, nothing else inherited).
func serviceEnv(s composeService, override map[string]string) []string {
	vars := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME")}
	for k, v := range s.Environment {
		vars[k] = v
	}
	for k, v := range override {
		vars[k] = v
	}
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// postgresOverrides points a Temporal service of the compose file at the
// test's Postgres and databases.
func postgresOverrides(pg *url.URL, temporalDB, visibilityDB string) map[string]string {
	user, password := "", ""
	if pg.User != nil {
		user = pg.User.Username()
		password, _ = pg.User.Password()
	}
	return map[string]string{
		"SQL_HOST": pg.Hostname(), "SQL_PORT": pg.Port(), "SQL_USER": user, "SQL_PASSWORD": password,
		"POSTGRES_SEEDS": pg.Hostname(), "DB_PORT": pg.Port(), "POSTGRES_USER": user, "POSTGRES_PWD": password,
		"DBNAME": temporalDB, "VISIBILITY_DBNAME": visibilityDB,
	}
}

// setUpTemporalSchema runs the compose file's schema script with the SQL
// tool just built and the schema files of the pinned module, where the
// admin-tools image has its own.
func setUpTemporalSchema(t *testing.T, c composeFile, bins topologyBinaries, pg *url.URL, temporalDB, visibilityDB string) {
	t.Helper()
	_, svc, ok := serviceRunning(c, "temporalio/admin-tools")
	if !ok || len(svc.Command) != 1 || !slices.Equal(svc.Entrypoint, []string{"/bin/sh", "-ec"}) {
		t.Fatalf("the compose file's Temporal schema service is not a /bin/sh -ec script: %+v", svc)
	}
	script := strings.ReplaceAll(svc.Command[0], "$$", "$") // compose's escape
	script = strings.ReplaceAll(script, "/etc/temporal/schema", filepath.Join(moduleDir(t, "go.temporal.io/server"), "schema"))
	override := postgresOverrides(pg, temporalDB, visibilityDB)
	env := serviceEnv(svc, override)
	env = append(env, "PATH="+filepath.Dir(bins.sqlTool)+string(os.PathListSeparator)+os.Getenv("PATH"))
	start := time.Now()
	cmd := exec.Command("/bin/sh", "-ec", script)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Temporal schema script: %v\n%s", err, out)
	}
	t.Logf("Temporal schema set up in %s", time.Since(start).Round(time.Millisecond))
}

// startTemporal starts the Temporal server as the official image does
// (`temporal-server start` with its embedded config template), with the
// compose file's environment and dynamic config on free local ports, and
// waits for the compose file's health check to pass. It returns the
// frontend's host:port.
func startTemporal(t *testing.T, c composeFile, bins topologyBinaries, dir string, pg *url.URL, temporalDB, visibilityDB string) string {
	t.Helper()
	_, svc, ok := serviceRunning(c, "temporalio/server")
	if !ok || svc.Healthcheck == nil || len(svc.Configs) != 1 {
		t.Fatalf("the compose file's Temporal service lacks a health check or its dynamic config: %+v", svc)
	}
	dynamic := filepath.Join(dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dynamic, []byte(c.Configs[svc.Configs[0].Source].Content), 0o644); err != nil {
		t.Fatal(err)
	}
	override := postgresOverrides(pg, temporalDB, visibilityDB)
	override["BIND_ON_IP"] = "127.0.0.1"
	override["DYNAMIC_CONFIG_FILE_PATH"] = dynamic
	override["LOG_LEVEL"] = "warn"
	// The shared Postgres allows 100 connections: keep Temporal's pools
	// (one per service and store) small.
	for k, v := range map[string]string{"SQL_MAX_CONNS": "4", "SQL_MAX_IDLE_CONNS": "4", "SQL_VIS_MAX_CONNS": "2", "SQL_VIS_MAX_IDLE_CONNS": "2"} {
		override[k] = v
	}
	ports := map[string]int{}
	for _, k := range []string{"FRONTEND_GRPC_PORT", "FRONTEND_HTTP_PORT", "FRONTEND_MEMBERSHIP_PORT", "HISTORY_GRPC_PORT",
		"HISTORY_MEMBERSHIP_PORT", "MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT", "WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT"} {
		ports[k] = freePort(t)
		override[k] = strconv.Itoa(ports[k])
	}
	p := startProcessEnv(t, dir, "temporal", bins.temporalServer, serviceEnv(svc, override), "start")

	// The compose health check, pointed at this server's HTTP port.
	check := strings.Join(svc.Healthcheck.Test, " ")
	m := regexp.MustCompile(`http://localhost:7243(/\S+)`).FindStringSubmatch(check)
	if m == nil {
		t.Fatalf("the compose file's Temporal health check %q is not a GET on port 7243", check)
	}
	healthURL := fmt.Sprintf("http://127.0.0.1:%d%s", ports["FRONTEND_HTTP_PORT"], m[1])
	start := time.Now()
	poll(t, "Temporal healthy", 90*time.Second, func() (bool, error) {
		if p.exited() {
			t.Fatalf("temporal-server exited: %s", p.tail())
		}
		return statusOf(healthURL) == http.StatusOK, nil
	})
	t.Logf("Temporal healthy in %s", time.Since(start).Round(time.Millisecond))
	return fmt.Sprintf("127.0.0.1:%d", ports["FRONTEND_GRPC_PORT"])
}

// waitHealthy runs `scimflow healthcheck <role>` with addr (the variable
// that locates the process) until it passes.
func waitHealthy(t *testing.T, bin string, p *process, role, addr string) {
	t.Helper()
	poll(t, p.name+" healthy", 60*time.Second, func() (bool, error) {
		if p.exited() {
			t.Fatalf("%s exited: %s", p.name, p.tail())
		}
		out, err := runProcess(bin, []string{addr}, "healthcheck", role)
		if err != nil {
			return false, fmt.Errorf("%v: %s", err, out)
		}
		return true, nil
	})
}

// waitForPollers waits until every worker process polls the activity
// task queue (a worker's default identity starts with its pid).
func waitForPollers(t *testing.T, c client.Client, workers []*process) {
	t.Helper()
	poll(t, "workers polling", 60*time.Second, func() (bool, error) {
		res, err := c.DescribeTaskQueue(context.Background(), workflows.DefaultTaskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil {
			return false, err
		}
		for _, w := range workers {
			if w.exited() {
				t.Fatalf("%s exited: %s", w.name, w.tail())
			}
			if !slices.ContainsFunc(res.GetPollers(), func(p *taskqueuepb.PollerInfo) bool {
				return strings.HasPrefix(p.GetIdentity(), strconv.Itoa(w.cmd.Process.Pid)+"@")
			}) {
				return false, nil
			}
		}
		return true, nil
	})
}

// checkFromScratch compares every stored effective role of org with
// access.Effective over the memberships, mappings and active flags the
// database holds now.
func checkFromScratch(t *testing.T, db *store.DB, orgID string) {
	t.Helper()
	sqlDB, err := db.SQL()
	if err != nil {
		t.Fatal(err)
	}
	rows := func(q string, scan func(*sql.Rows) error) {
		t.Helper()
		r, err := sqlDB.Query(q, orgID)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for r.Next() {
			if err := scan(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
	}
	active := map[string]bool{}
	rows(`SELECT id, active FROM users WHERE org_id = $1`, func(r *sql.Rows) error {
		var id string
		var a bool
		err := r.Scan(&id, &a)
		active[id] = a
		return err
	})
	groups := map[string][]string{}
	rows(`SELECT gm.user_id, gm.group_id FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE g.org_id = $1`, func(r *sql.Rows) error {
		var u, g string
		err := r.Scan(&u, &g)
		groups[u] = append(groups[u], g)
		return err
	})
	var mappings []scimflow.Mapping
	rows(`SELECT m.group_id, m.entry_point_id, m.role FROM group_mappings m JOIN groups g ON g.id = m.group_id WHERE g.org_id = $1`, func(r *sql.Rows) error {
		var m scimflow.Mapping
		err := r.Scan(&m.GroupID, &m.EntryPointID, &m.Role)
		mappings = append(mappings, m)
		return err
	})
	want := map[[2]string]string{}
	for u, a := range active {
		for ep, role := range access.Effective(a, groups[u], mappings) {
			want[[2]string{u, ep}] = role.String()
		}
	}
	got, err := db.EffectiveRoles(context.Background(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	for k, w := range want {
		if got[k] != w {
			diffs = append(diffs, fmt.Sprintf("user %s, entry point %s: stored %q, want %q", k[0], k[1], got[k], w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("user %s, entry point %s: stored %q, want no access", k[0], k[1], g))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		t.Fatalf("%d stored effective roles differ from access.Effective (of %d), for example:\n%s", len(diffs), len(want), strings.Join(diffs[:min(10, len(diffs))], "\n"))
	}
	t.Logf("%d effective roles of %d users equal access.Effective", len(want), len(active))
	if len(want) < 2*17000 {
		t.Errorf("only %d effective roles: the mappings did not reach the group's members", len(want))
	}
}

// updateGroup replaces a group's mappings through one API replica and
// returns the recalculation's id.
func updateGroup(t *testing.T, api, token, group, entryPoints string) string {
	t.Helper()
	res := apiCall(t, api, "PUT", "/api/v1/scim/groups/"+group+"/entry-points", token, `{"entryPoints":[`+entryPoints+`]}`, http.StatusAccepted)
	rec, _ := res["recalculation"].(map[string]any)
	id, _ := rec["id"].(string)
	if id == "" {
		t.Fatalf("Update Group answered %v", res)
	}
	return id
}

func progress(t *testing.T, api, token, rec string) map[string]any {
	t.Helper()
	return apiCall(t, api, "GET", "/api/v1/recalculations/"+rec, token, "", http.StatusOK)
}

// waitCompleted polls every replica in turn for the recalculation's
// progress until each reports it completed, checking that they agree on
// what they report, and returns the final progress.
func waitCompleted(t *testing.T, apis []string, token, rec string, timeout time.Duration) map[string]any {
	t.Helper()
	var last map[string]any
	done := map[string]bool{}
	poll(t, "recalculation "+rec+" completed on every replica", timeout, func() (bool, error) {
		for _, api := range apis {
			p := progress(t, api, token, rec)
			if p["id"] != rec {
				t.Fatalf("%s answers recalculation %v for %s", api, p["id"], rec)
			}
			switch p["status"] {
			case "failed":
				t.Fatalf("recalculation failed: %v", p)
			case "completed":
				done[api] = true
				last = p
			}
		}
		return len(done) == len(apis), nil
	})
	return last
}

func apiCall(t *testing.T, base, method, path, token, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s%s: %d %s, want %d", method, base, path, res.StatusCode, b, want)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return m
}

// statusOf returns the status of a GET, or 0 when there is no answer.
func statusOf(u string) int {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get(u)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// cliJSON runs a scimflow CLI command as its own process and decodes its
// JSON output.
func cliJSON(t *testing.T, bin string, env []string, args ...string) map[string]any {
	t.Helper()
	out, err := runProcess(bin, env, args...)
	if err != nil {
		t.Fatalf("scimflow %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("scimflow %s printed %q: %v", strings.Join(args, " "), out, err)
	}
	return m
}

// runProcess runs bin to completion with only env (and PATH) set and
// returns its standard output, or its combined output on failure.
func runProcess(bin string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// process is a long-running child process whose output goes to a file
// of the test's directory.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

func startProcess(t *testing.T, dir, name, bin string, env []string, args ...string) *process {
	t.Helper()
	return startProcessEnv(t, dir, name, bin, append([]string{"PATH=" + os.Getenv("PATH")}, env...), args...)
}

// startProcessEnv starts bin with exactly env; the process is killed when
// the test ends, and its output logged if the test failed.
func startProcessEnv(t *testing.T, dir, name, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(bin, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("--- %s (%s) output, last lines:\n%s", name, p.cmd.ProcessState, p.tail())
		}
	})
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL, as a crashing machine would, and waits for the end.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

func (p *process) tail() string {
	lines := strings.Split(strings.TrimRight(p.out.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// waitFor waits until the process prints a line matching re and returns
// the first submatch.
func (p *process) waitFor(t *testing.T, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	var got string
	poll(t, p.name+" printing "+re.String(), timeout, func() (bool, error) {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			got = m[1]
			return true, nil
		}
		if p.exited() {
			t.Fatalf("%s exited: %s", p.name, p.tail())
		}
		return false, nil
	})
	return got
}

// poll calls f until it reports true, and fails t when timeout passes
// first, with f's last error. f fails t itself when the wait is hopeless.
func poll(t *testing.T, what string, timeout time.Duration, f func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := f()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last error: %v)", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// freePort returns a free local port below 32768: Temporal stores the
// membership port of its services in a smallint column, and the kernel's
// ephemeral ports (what port 0 picks) are above it.
func freePort(t *testing.T) int {
	t.Helper()
	for range 1000 {
		port := 20000 + mrand.IntN(12000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
