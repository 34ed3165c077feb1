package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// metricValue sums the samples of metric name whose labels include every
// k="v" of labels; found is false when no sample matches.
func metricValue(body, name string, labels ...string) (sum float64, found bool) {
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		metric, _, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(series, l)
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err == nil {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

// cluster is serve and worker, as separate commands, on one database and
// one Temporal server, with an org to work in.
type cluster struct {
	vars                  map[string]string
	api, ops              string
	db                    *store.DB
	orgID, admin, scimTok string
}

func startCluster(t *testing.T, extra map[string]string) *cluster {
	t.Helper()
	addr, ns := testenv.TemporalServer(t)
	c := &cluster{vars: map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0",
		"SCIMFLOW_OPS_ADDR": "127.0.0.1:0", "TEMPORAL_ADDRESS": addr, "TEMPORAL_NAMESPACE": ns}}
	for k, v := range extra {
		c.vars[k] = v
	}
	org := runJSON(t, c.vars, "org", "create", "--name", "Metrics", "--plan", "enterprise", "--scim-groups", "--json")
	c.orgID, c.admin = org["id"].(string), org["adminToken"].(string)
	c.scimTok = runJSON(t, c.vars, "token", "create", "--org", c.orgID, "--scope", "scim", "--json")["token"].(string)
	c.api, _, _ = startServer(t, c.vars, "serve")
	c.ops, _, _ = startServer(t, c.vars, "worker")
	db, err := store.Open(context.Background(), c.vars["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c.db = db
	return c
}

// updateGroup maps a seeded group of n members to two entry points and
// waits until its recalculation completed.
func (c *cluster) updateGroup(t *testing.T, n int) (groupID string) {
	t.Helper()
	prefix := testenv.SeedUsers(t, c.db, c.orgID, n)
	groupID = testenv.SeedGroup(t, c.db, c.orgID, "Engineering", prefix, n)
	eps := testenv.SeedEntryPoints(t, c.db, c.orgID, 2)
	body := fmt.Sprintf(`{"entryPoints":[{"id":%q,"role":"approver"},{"id":%q,"role":"viewer"}]}`, eps[0], eps[1])
	status, res := do(t, "PUT", c.api+"/api/v1/scim/groups/"+groupID+"/entry-points", c.admin, body)
	if status != http.StatusAccepted {
		t.Fatalf("Update Group: %d %v", status, res)
	}
	id := res["recalculation"].(map[string]any)["id"].(string)
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, rec := do(t, "GET", c.api+"/api/v1/recalculations/"+id, c.admin, "")
		if rec["status"] == "completed" {
			return groupID
		}
		if rec["status"] == "failed" || time.Now().After(deadline) {
			t.Fatalf("recalculation did not complete: %v", rec)
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not synchronisation
	}
}

// TestMetricsMoveWithActivity scrapes serve's and the worker's /metrics
// after real work: SCIM calls, an Update Group, a reconciliation that
// repairs a drifted row.
func TestMetricsMoveWithActivity(t *testing.T) {
	t.Parallel()
	c := startCluster(t, nil)
	const members = 40
	c.updateGroup(t, members)

	status, user := do(t, "POST", c.api+"/scim/v2/Users", c.scimTok, `{"userName":"metrics@example.com"}`)
	if status != http.StatusCreated {
		t.Fatalf("POST /Users: %d %v", status, user)
	}
	do(t, "GET", c.api+"/scim/v2/Users/"+user["id"].(string), c.scimTok, "")
	do(t, "GET", c.api+"/scim/v2/Users/does-not-exist", c.scimTok, "")

	// Drift: a row lost behind scimflow's back; reconcile repairs it.
	sqlDB, _ := c.db.SQL()
	if _, err := sqlDB.Exec("DELETE FROM effective_roles WHERE ctid IN (SELECT ctid FROM effective_roles WHERE org_id = $1 LIMIT 1)", c.orgID); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, c.vars, "reconcile", "--org", c.orgID); err != nil || !strings.Contains(out, "repaired 1 ") {
		t.Fatalf("reconcile: %v %q", err, out)
	}

	_, apiBody := get(t, c.api+"/metrics")
	_, opsBody := get(t, c.ops+"/metrics")
	for _, tc := range []struct {
		body, name string
		labels     []string
		min        float64
	}{
		{apiBody, "scimflow_http_requests_total", []string{`route="/scim/v2/Users"`, `method="POST"`, `status="201"`}, 1},
		{apiBody, "scimflow_http_requests_total", []string{`route="/scim/v2/Users/:id"`, `status="404"`}, 1},
		{apiBody, "scimflow_http_request_duration_seconds_count", []string{`route="/api/v1/scim/groups/:id/entry-points"`, `status="2xx"`}, 1},
		{apiBody, "scimflow_scim_operations_total", []string{`resource="Users"`, `operation="create"`, `result="success"`}, 1},
		{apiBody, "scimflow_scim_operations_total", []string{`resource="Users"`, `operation="get"`, `result="client_error"`}, 1},
		{apiBody, "temporal_request_total", nil, 1}, // serve's SignalWithStart
		{opsBody, "scimflow_recalculations_started_total", nil, 1},
		{opsBody, "scimflow_recalculations_finished_total", []string{`result="completed"`}, 1},
		{opsBody, "scimflow_recalculation_duration_seconds_count", []string{`result="completed"`}, 1},
		{opsBody, "scimflow_recalculation_batches_total", []string{`kind="group"`}, 1},
		{opsBody, "scimflow_recalculation_rows_changed_total", []string{`kind="group"`}, 2 * members},
		{opsBody, "scimflow_recalculation_batches_total", []string{`kind="reconcile"`}, 1},
		{opsBody, "scimflow_reconcile_repaired_rows_total", nil, 1},
		{opsBody, "scimflow_recalculations_pending", []string{`status="pending"`}, 0},
		{opsBody, "scimflow_outbox_depth", nil, 0},
		{opsBody, "scimflow_outbox_oldest_age_seconds", nil, 0},
		{opsBody, "temporal_activity_execution_latency_seconds_count", []string{`activity_type="RecalculateGroupBatch"`}, 1},
		{opsBody, "temporal_worker_start_total", nil, 1},
	} {
		v, found := metricValue(tc.body, tc.name, tc.labels...)
		if !found || v < tc.min {
			t.Errorf("%s%v = %v (found %v), want ≥ %v", tc.name, tc.labels, v, found, tc.min)
		}
	}
	for name, body := range map[string]string{"serve": apiBody, "worker": opsBody} {
		if strings.Contains(body, c.orgID) {
			t.Errorf("%s /metrics names the org %s", name, c.orgID)
		}
	}
}
