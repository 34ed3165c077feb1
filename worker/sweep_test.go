package worker_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/testenv"
	"github.com/scimflow/scimflow/worker"
	"github.com/scimflow/scimflow/workflows"
)

// TestSweeperHandsOverLostWork commits an "Update Group" and a membership
// change while the engine is unreachable (the process "died" between the
// commit and the Temporal call), then runs the sweeper: both must be
// recalculated, exactly.
func TestSweeperHandsOverLostWork(t *testing.T) {
	t.Parallel()
	f := fixture{t, testenv.Server(t)}
	eng, _ := f.env.Engine(0)
	users := f.users(3, "s")
	flows := f.entryPoint("Flows")
	gid := f.group("Lost", users[0])
	f.eventually("the group's creation is processed", 20*time.Second, f.quiescent)

	f.env.DB.SetNotifier(nil) // from now on, the call to Temporal is lost
	id := f.updateGroup(gid, flows, "viewer")
	f.must(f.env.SCIM("PATCH", "/scim/v2/Groups/"+gid, patchOp(map[string]any{"op": "add", "path": "members", "value": members(users[1])})), 204)
	if rec := f.recalculation(id); rec["status"] != "pending" {
		t.Fatalf("without the engine the recalculation is %v, want pending", rec["status"])
	}
	if len(f.roles()) != 0 {
		t.Fatalf("roles changed without the engine: %v", f.roles())
	}

	s := &worker.Sweeper{DB: f.env.DB, Engine: eng, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.Sweep(context.Background(), 0)
	f.waitCompleted(id)
	f.eventually("quiescent", 20*time.Second, f.quiescent)
	got := f.roles()
	if got[users[0]+"/"+flows] != "viewer" || got[users[1]+"/"+flows] != "viewer" || len(got) != 2 {
		t.Errorf("after the sweep: %v, want users 0 and 1 viewers", got)
	}
	f.assertInvariant()
}

// TestReconcileRepairsDrift damages the stored roles behind the engine's
// back; reconciliation must find and repair exactly that, and report 0 the
// second time.
func TestReconcileRepairsDrift(t *testing.T) {
	t.Parallel()
	f := fixture{t, testenv.Server(t)}
	eng, _ := f.env.Engine(2)
	users := f.users(5, "r")
	flows := f.entryPoint("Flows")
	gid := f.group("Drift", users...)
	f.waitCompleted(f.updateGroup(gid, flows, "reporter"))

	sqlDB, _ := f.env.DB.SQL()
	if _, err := sqlDB.Exec("DELETE FROM effective_roles WHERE user_id = $1", users[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec("UPDATE effective_roles SET role = 'admin' WHERE user_id = $1", users[1]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := eng.Reconcile(ctx, f.env.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	// 6 users: the 5 provisioned ones and the org's local Org Admin.
	if res.Fixed != 2 || res.Users != 6 {
		t.Errorf("reconcile = %+v, want 6 users checked and 2 rows repaired", res)
	}
	f.assertInvariant()
	res, err = eng.Reconcile(ctx, f.env.OrgID)
	if err != nil || res.Fixed != 0 {
		t.Errorf("second reconcile = %+v, %v; want nothing to repair", res, err)
	}
}

// TestSweeperRestartsTerminatedRecalculation: an operator terminates a
// running recalculation in the Temporal UI; the sweeper notices that the
// record is running but its workflow is gone, and starts it again.
func TestSweeperRestartsTerminatedRecalculation(t *testing.T) {
	t.Parallel()
	f := fixture{t, testenv.Server(t)}
	eng, _ := f.env.Engine(1)
	users := f.users(60, "k") // 60 one-user batches: the pass outlives the terminate call
	flows := f.entryPoint("Flows")
	gid := f.group("Killed", users...)
	id := f.updateGroup(gid, flows, "contributor")
	f.eventually("the recalculation runs", 20*time.Second, func() bool { return f.recalculation(id)["status"] == "running" })
	ctx := context.Background()
	if err := eng.Temporal.TerminateWorkflow(ctx, workflows.GroupWorkflowID(f.env.OrgID, gid), "", "operator"); err != nil {
		t.Fatal(err)
	}
	if rec := f.recalculation(id); rec["status"] == "completed" {
		t.Fatal("the recalculation completed before it could be terminated")
	}
	s := &worker.Sweeper{DB: f.env.DB, Engine: eng, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.Sweep(ctx, 0)
	f.waitCompleted(id)
	got := f.roles()
	for _, u := range users {
		if got[u+"/"+flows] != "contributor" {
			t.Fatalf("user %s: %q after the restart", u, got[u+"/"+flows])
		}
	}
}
