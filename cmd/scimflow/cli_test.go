package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/testenv"
)

// TestCommandsNeverCreateADatabase runs every command that works on an
// existing database from a folder without one: each fails, names the
// file it looked for and how to get one, and leaves nothing behind.
// migrate creates it; then the same commands find it.
func TestCommandsNeverCreateADatabase(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "scimflow.db")
	vars := map[string]string{"SCIMFLOW_DATA_DIR": dir, "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0", "SCIMFLOW_OPS_ADDR": "127.0.0.1:0",
		"TEMPORAL_ADDRESS": "127.0.0.1:1"}
	commands := [][]string{
		{"serve"}, {"worker"}, {"reconcile", "--org", "o"},
		{"org", "create", "--name", "Acme"}, {"org", "update", "--org", "o", "--name", "B"},
		{"token", "create", "--org", "o", "--scope", "scim"}, {"token", "list", "--org", "o"},
		{"token", "revoke", "--org", "o", "--id", "t"},
	}
	for _, args := range commands {
		_, err := runCmd(t, vars, args...)
		if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), path) ||
			!strings.Contains(err.Error(), "scimflow migrate") || !strings.Contains(err.Error(), "DATABASE_URL") {
			t.Errorf("scimflow %s without a database: %v, want an error naming %s, migrate and DATABASE_URL", strings.Join(args, " "), err, path)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("scimflow %s created %s", strings.Join(args, " "), dir)
		}
	}
	// An explicit SQLite URL is no licence to create one either.
	other := filepath.Join(t.TempDir(), "other.db")
	if _, err := runCmd(t, map[string]string{"DATABASE_URL": "sqlite:" + other}, "token", "list", "--org", "o"); err == nil || !strings.Contains(err.Error(), other) {
		t.Errorf("token list on a missing sqlite: URL: %v, want an error naming %s", err, other)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token list created %s", other)
	}

	// Only the database: migrate would also prepare the (unreachable)
	// Temporal at TEMPORAL_ADDRESS.
	if _, err := runCmd(t, withoutTemporal(vars), "migrate"); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("migrate did not create %s: %v", path, err)
	}
	org := runJSON(t, vars, "org", "create", "--name", "Acme", "--json")
	runJSON(t, vars, "token", "list", "--org", org["id"].(string), "--json")
}

// sqliteDeployment is a migrated SQLite database in a fresh data dir.
func sqliteDeployment(t *testing.T, temporalAddr, namespace string) map[string]string {
	t.Helper()
	vars := map[string]string{"SCIMFLOW_DATA_DIR": t.TempDir(), "SCIMFLOW_OPS_ADDR": "127.0.0.1:0",
		"TEMPORAL_ADDRESS": temporalAddr, "TEMPORAL_NAMESPACE": namespace}
	if _, err := runCmd(t, withoutTemporal(vars), "migrate"); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return vars
}

// withoutTemporal is vars without TEMPORAL_ADDRESS: migrate then prepares
// the database alone.
func withoutTemporal(vars map[string]string) map[string]string {
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		if k != "TEMPORAL_ADDRESS" {
			out[k] = v
		}
	}
	return out
}

// TestReconcileFailsLoudly: reconcile never reports "0 users, 0
// repaired" for a reconciliation that did not happen.
func TestReconcileFailsLoudly(t *testing.T) {
	t.Parallel()
	temporalAddr, ns := testenv.TemporalServer(t)

	t.Run("unknown org", func(t *testing.T) {
		t.Parallel()
		vars := sqliteDeployment(t, temporalAddr, ns)
		_, err := runCmd(t, vars, "reconcile", "--org", "no-such-org")
		if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), "org no-such-org not found") {
			t.Errorf("reconcile of an unknown org: %v, want a non-zero exit naming the org", err)
		}
	})

	t.Run("Temporal unreachable", func(t *testing.T) {
		t.Parallel()
		addr := closedAddr(t)
		vars := sqliteDeployment(t, addr, "default")
		org := runJSON(t, vars, "org", "create", "--name", "Acme", "--json")["id"].(string)
		start := time.Now()
		_, err := runCmd(t, vars, "reconcile", "--org", org, "--wait", "2s")
		if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "does not answer") {
			t.Errorf("reconcile against nothing at %s: %v, want a non-zero exit naming the address", addr, err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("reconcile took %s to give up, want about --wait", d)
		}
	})

	t.Run("no worker", func(t *testing.T) {
		t.Parallel()
		vars := sqliteDeployment(t, temporalAddr, ns)
		vars["TEMPORAL_TASK_QUEUE"] = "nobody-polls-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		org := runJSON(t, vars, "org", "create", "--name", "Acme", "--json")["id"].(string)
		_, err := runCmd(t, vars, "reconcile", "--org", org, "--wait", "2s")
		if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), "no worker") || !strings.Contains(err.Error(), vars["TEMPORAL_TASK_QUEUE"]) {
			t.Errorf("reconcile without a worker: %v, want a non-zero exit naming the task queue", err)
		}
	})

	t.Run("worker on another database", func(t *testing.T) {
		t.Parallel()
		queue := "other-db-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		mine := sqliteDeployment(t, temporalAddr, ns)
		theirs := sqliteDeployment(t, temporalAddr, ns)
		mine["TEMPORAL_TASK_QUEUE"], theirs["TEMPORAL_TASK_QUEUE"] = queue, queue
		org := runJSON(t, mine, "org", "create", "--name", "Acme", "--json")["id"].(string)
		startServer(t, theirs, "worker")
		_, err := runCmd(t, mine, "reconcile", "--org", org)
		if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), "does not know org "+org) {
			t.Errorf("reconcile through a worker on another database: %v, want a non-zero exit saying the worker does not know the org", err)
		}
	})
}
