package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/internal/testenv"
)

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// readiness is the body of /readyz.
type readiness struct {
	Status, Check, Reason string
}

func readyz(t *testing.T, base string) (int, readiness) {
	t.Helper()
	status, body := get(t, base+"/readyz")
	var r readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	return status, r
}

// TestReadyzNeedsMigratedSchema: on a database `scimflow migrate` has not
// prepared, every SCIM call would fail, so neither serve nor the worker
// may say they are ready; after migrate both are.
func TestReadyzNeedsMigratedSchema(t *testing.T) {
	t.Parallel()
	addr, ns := testenv.TemporalServer(t)
	vars := map[string]string{"DATABASE_URL": testenv.EmptyDatabaseURL(t), "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0",
		"SCIMFLOW_OPS_ADDR": "127.0.0.1:0", "TEMPORAL_ADDRESS": addr, "TEMPORAL_NAMESPACE": ns}
	api, _, _ := startServer(t, vars, "serve")
	ops, _, _ := startServer(t, vars, "worker")
	for _, base := range []string{api, ops} {
		status, r := readyz(t, base)
		if status != http.StatusServiceUnavailable || r.Check != "schema" || !strings.Contains(r.Reason, "scimflow migrate") {
			t.Errorf("%s/readyz on an unmigrated database: %d %+v, want 503 naming the schema", base, status, r)
		}
		if status, _ := get(t, base+"/healthz"); status != http.StatusOK {
			t.Errorf("%s/healthz = %d: the process is alive", base, status)
		}
	}
	if _, err := runCmd(t, vars, "migrate"); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{api, ops} {
		if status, r := readyz(t, base); status != http.StatusOK || r.Status != "ready" {
			t.Errorf("%s/readyz after migrate: %d %+v", base, status, r)
		}
	}
	status, body := get(t, ops+"/metrics")
	if status != http.StatusOK || !strings.Contains(body, "scimflow_reconcile_repaired_rows_total") {
		t.Errorf("worker /metrics: %d, lacks scimflow_reconcile_repaired_rows_total:\n%.2000s", status, body)
	}
	if status, _ := get(t, ops+"/scim/v2/Users"); status != http.StatusNotFound {
		t.Errorf("worker ops port serves %d for the API: it has none", status)
	}
}

// TestReadyzNeedsTemporal: a serve replica that cannot reach Temporal says
// so on /readyz.
func TestReadyzNeedsTemporal(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0",
		"TEMPORAL_ADDRESS": closedAddr(t)}
	base, _, _ := startServer(t, vars, "serve")
	if status, r := readyz(t, base); status != http.StatusServiceUnavailable || r.Check != "temporal" {
		t.Errorf("/readyz without Temporal: %d %+v, want 503 naming temporal", status, r)
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
