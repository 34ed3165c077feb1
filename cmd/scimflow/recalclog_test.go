package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// TestWorkerLogsRecalculations: the worker's log tells an operator what
// happened: a line when a group recalculation starts and one when it
// completes (ids, users, rows changed, duration), a warning when a batch
// is retried, and a line per membership batch.
func TestWorkerLogsRecalculations(t *testing.T) {
	t.Parallel()
	addr, ns := testenv.TemporalServer(t)
	vars := map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0",
		"SCIMFLOW_OPS_ADDR": "127.0.0.1:0", "TEMPORAL_ADDRESS": addr, "TEMPORAL_NAMESPACE": ns, "SCIMFLOW_LOG_FORMAT": "json"}
	org := runJSON(t, vars, "org", "create", "--name", "Logs", "--plan", "enterprise", "--scim-groups", "--json")
	orgID, admin := org["id"].(string), org["adminToken"].(string)
	scimTok := runJSON(t, vars, "token", "create", "--org", orgID, "--scope", "scim", "--json")["token"].(string)
	api, _, _ := startServer(t, vars, "serve")
	db, err := store.Open(context.Background(), vars["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const n = 40
	prefix := testenv.SeedUsers(t, db, orgID, n)
	groupID := testenv.SeedGroup(t, db, orgID, "Engineering", prefix, n)
	eps := testenv.SeedEntryPoints(t, db, orgID, 1)
	logs, _, _ := startWorker(t, vars)

	// The first attempts of the batches lose their connection while they
	// wait for the lock, so they are retried.
	locker, lock := lockEffectiveRoles(t, vars["DATABASE_URL"])
	body := fmt.Sprintf(`{"entryPoints":[{"id":%q,"role":"approver"}]}`, eps[0])
	status, res := do(t, "PUT", api+"/api/v1/scim/groups/"+groupID+"/entry-points", admin, body)
	if status != http.StatusAccepted {
		t.Fatalf("Update Group: %d %v", status, res)
	}
	recID := res["recalculation"].(map[string]any)["id"].(string)
	poll(t, "a retried batch", 60*time.Second, func() (bool, error) {
		_, err := locker.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`)
		return strings.Contains(logs.String(), "recalculation batch retried"), err
	})
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	poll(t, "the recalculation to complete", 60*time.Second, func() (bool, error) {
		_, rec := do(t, "GET", api+"/api/v1/recalculations/"+recID, admin, "")
		return rec["status"] == "completed", fmt.Errorf("%v", rec)
	})
	poll(t, "the completion line", 10*time.Second, func() (bool, error) {
		return strings.Contains(logs.String(), "group recalculation completed"), nil
	})

	want := map[string]func(l map[string]any) bool{
		"group recalculation started": func(l map[string]any) bool {
			return l["level"] == "INFO" && l["org"] == orgID && l["group"] == groupID && l["users"] == float64(n) && hasID(l["recalculations"], recID)
		},
		"group recalculation completed": func(l map[string]any) bool {
			return l["level"] == "INFO" && l["org"] == orgID && l["group"] == groupID && l["users"] == float64(n) &&
				l["changed"] == float64(n) && l["duration"] != nil && hasID(l["recalculations"], recID)
		},
		"recalculation batch retried": func(l map[string]any) bool {
			return l["level"] == "WARN" && l["org"] == orgID && l["group"] == groupID && l["attempt"].(float64) >= 2
		},
	}
	checkLogLines(t, logs.String(), want)

	// A membership change: one batch, one line.
	member := testenv.SeededUserID(prefix, 1)
	patch := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"%s\"]"}]}`, member)
	if status, res := do(t, "PATCH", api+"/scim/v2/Groups/"+groupID, scimTok, patch); status/100 != 2 {
		t.Fatalf("PATCH group: %d %v", status, res)
	}
	poll(t, "the membership line", 60*time.Second, func() (bool, error) {
		return strings.Contains(logs.String(), "membership recalculation completed"), nil
	})
	checkLogLines(t, logs.String(), map[string]func(l map[string]any) bool{
		"membership recalculation completed": func(l map[string]any) bool {
			return l["level"] == "INFO" && l["org"] == orgID && l["users"] == float64(1) && l["changed"] == float64(1) && l["duration"] != nil
		},
	})
}

// checkLogLines fails t unless, for each message, some JSON log line with
// that message satisfies its check.
func checkLogLines(t *testing.T, logs string, want map[string]func(map[string]any) bool) {
	t.Helper()
	for msg, ok := range want {
		found := false
		for line := range strings.SplitSeq(logs, "\n") {
			var l map[string]any
			if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == msg && ok(l) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no %q line as expected in the worker log:\n%s", msg, logs)
		}
	}
}

func hasID(v any, id string) bool {
	ids, _ := v.([]any)
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
