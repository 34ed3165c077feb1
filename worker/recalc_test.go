package worker_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/testenv"
	"github.com/scimflow/scimflow/workflows"
)

// Integration tests of the recalculation engine: the real API, a real
// Postgres, an in-process Temporal server and real workers.

// Shorthands for request bodies.
var (
	patchOp = testenv.PatchOp
	members = testenv.Members
)

type fixture struct {
	t   *testing.T
	env *testenv.Env
}

func (f fixture) must(res *testenv.Response, status int) map[string]any {
	f.t.Helper()
	if res.Status != status {
		f.t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
	}
	if len(res.Body) == 0 {
		return nil
	}
	return res.JSON(f.t)
}

func (f fixture) users(n int, prefix string) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = f.must(f.env.SCIM("POST", "/scim/v2/Users", map[string]any{"userName": fmt.Sprintf("%s%d@example.com", prefix, i)}), 201)["id"].(string)
	}
	return ids
}

func (f fixture) group(name string, ids ...string) string {
	return f.must(f.env.SCIM("POST", "/scim/v2/Groups", map[string]any{"displayName": name, "members": members(ids...)}), 201)["id"].(string)
}

func (f fixture) entryPoint(name string) string {
	return f.must(f.env.Do(f.env.AdminToken, "POST", "/api/v1/entry-points", map[string]any{"name": name}), 201)["id"].(string)
}

// updateGroup is the admin's "Update Group"; it returns the recalculation id.
func (f fixture) updateGroup(gid string, mapping ...string) string {
	f.t.Helper()
	var eps []any
	for i := 0; i+1 < len(mapping); i += 2 {
		eps = append(eps, map[string]any{"id": mapping[i], "role": mapping[i+1]})
	}
	if eps == nil {
		eps = []any{}
	}
	body := f.must(f.env.Do(f.env.AdminToken, "PUT", "/api/v1/scim/groups/"+gid+"/entry-points", map[string]any{"entryPoints": eps}), 202)
	return body["recalculation"].(map[string]any)["id"].(string)
}

// eventually polls cond until it holds or the deadline passes.
func (f fixture) eventually(what string, d time.Duration, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: not reached within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

func (f fixture) recalculation(id string) map[string]any {
	return f.must(f.env.Do(f.env.AdminToken, "GET", "/api/v1/recalculations/"+id, nil), 200)
}

func (f fixture) waitCompleted(id string) map[string]any {
	f.t.Helper()
	var rec map[string]any
	f.eventually("recalculation "+id+" completed", 60*time.Second, func() bool {
		rec = f.recalculation(id)
		if rec["status"] == "failed" {
			f.t.Fatalf("recalculation failed: %v", rec)
		}
		return rec["status"] == "completed"
	})
	return rec
}

// roles returns the stored effective roles of the org as "user/ep" -> role.
func (f fixture) roles() map[string]string {
	got, err := f.env.DB.EffectiveRoles(context.Background(), f.env.OrgID)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range got {
		out[k[0]+"/"+k[1]] = v
	}
	return out
}

// quiescent reports whether nothing is pending: every recalculation has
// finished and the outbox is empty.
func (f fixture) quiescent() bool {
	sqlDB, _ := f.env.DB.SQL()
	var open, outbox int
	sqlDB.QueryRow("SELECT count(*) FROM recalculations WHERE org_id = $1 AND status IN ('pending','running')", f.env.OrgID).Scan(&open)
	sqlDB.QueryRow("SELECT count(*) FROM recalc_outbox WHERE org_id = $1", f.env.OrgID).Scan(&outbox)
	return open == 0 && outbox == 0
}

// assertInvariant checks DESIGN.md's invariant: the stored effective roles
// equal a from-scratch computation. Recomputing every user from scratch
// must change nothing.
func (f fixture) assertInvariant() {
	f.t.Helper()
	before := f.roles()
	var users []string
	sqlDB, _ := f.env.DB.SQL()
	rows, err := sqlDB.Query("SELECT id FROM users WHERE org_id = $1", f.env.OrgID)
	if err != nil {
		f.t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		users = append(users, id)
	}
	rows.Close()
	n, err := f.env.DB.RecalculateUsers(context.Background(), f.env.OrgID, users, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if n != 0 {
		after := f.roles()
		var diff []string
		for k, v := range after {
			if before[k] != v {
				diff = append(diff, fmt.Sprintf("%s: stored %q, from scratch %q", k, before[k], v))
			}
		}
		for k, v := range before {
			if _, ok := after[k]; !ok {
				diff = append(diff, fmt.Sprintf("%s: stored %q, from scratch none", k, v))
			}
		}
		f.t.Fatalf("invariant broken: %d stored effective roles differ from a from-scratch computation:\n%s", n, strings.Join(diff, "\n"))
	}
}

func TestUpdateGroupRecalculates(t *testing.T) {
	t.Parallel()
	f := fixture{t, testenv.Server(t)}
	eng, _ := f.env.Engine(7) // small batches: 20 members take three activities
	users := f.users(25, "u")
	flows, reports := f.entryPoint("Flows"), f.entryPoint("Reports")
	gid := f.group("Sales", users[:20]...)

	rec := f.waitCompleted(f.updateGroup(gid, flows, "approver", reports, "viewer"))
	if rec["total"].(interface{ String() string }).String() != "20" || rec["processed"].(interface{ String() string }).String() != "20" {
		t.Errorf("recalculation record = %v, want total and processed 20", rec)
	}
	got := f.roles()
	if len(got) != 40 {
		t.Errorf("%d effective roles, want 40 (20 members × 2 entry points)", len(got))
	}
	for _, u := range users[:20] {
		if got[u+"/"+flows] != "approver" || got[u+"/"+reports] != "viewer" {
			t.Fatalf("member %s: flows %q reports %q", u, got[u+"/"+flows], got[u+"/"+reports])
		}
	}
	for _, u := range users[20:] {
		if _, ok := got[u+"/"+flows]; ok {
			t.Errorf("non-member %s got access", u)
		}
	}
	recordHistory(t, eng.Temporal, workflows.GroupWorkflowID(f.env.OrgID, gid), "group_recalculation_lanes")
	recordHistory(t, eng.Temporal, workflows.MembersWorkflowID(f.env.OrgID), "member_recalculation")
	// Narrowing the mapping revokes what is no longer granted.
	f.waitCompleted(f.updateGroup(gid, reports, "contributor"))
	got = f.roles()
	if len(got) != 20 || got[users[0]+"/"+reports] != "contributor" {
		t.Errorf("after narrowing: %d roles, user0 reports %q", len(got), got[users[0]+"/"+reports])
	}
	// The group page shows the last recalculation.
	g := f.must(f.env.Do(f.env.AdminToken, "GET", "/api/v1/scim/groups/"+gid, nil), 200)
	if g["recalculation"].(map[string]any)["status"] != "completed" {
		t.Errorf("group detail recalculation = %v", g["recalculation"])
	}
	f.assertInvariant()
}

func TestMembershipChangesApplyWithinSeconds(t *testing.T) {
	t.Parallel()
	f := fixture{t, testenv.Server(t)}
	f.env.Engine(0)
	users := f.users(3, "m")
	flows := f.entryPoint("Flows")
	gid := f.group("Ops", users[0])
	f.waitCompleted(f.updateGroup(gid, flows, "reporter"))

	access := func(u string) string { return f.roles()[u+"/"+flows] }
	start := time.Now()
	f.must(f.env.SCIM("PATCH", "/scim/v2/Groups/"+gid, patchOp(map[string]any{"op": "Add", "path": "members", "value": members(users[1])})), 204)
	f.eventually("added member gets access", 10*time.Second, func() bool { return access(users[1]) == "reporter" })
	t.Logf("added member had access %s after the PATCH", time.Since(start).Round(time.Millisecond))

	f.must(f.env.SCIM("PATCH", "/scim/v2/Users/"+users[1], patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": false}})), 200)
	f.eventually("deactivated member loses access", 10*time.Second, func() bool { return access(users[1]) == "" })
	f.must(f.env.SCIM("PATCH", "/scim/v2/Users/"+users[1], patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": true}})), 200)
	f.eventually("reactivated member regains access", 10*time.Second, func() bool { return access(users[1]) == "reporter" })

	f.must(f.env.SCIM("PATCH", "/scim/v2/Groups/"+gid, patchOp(map[string]any{"op": "remove", "path": `members[value eq "` + users[0] + `"]`})), 204)
	f.eventually("removed member loses access", 10*time.Second, func() bool { return access(users[0]) == "" })

	f.must(f.env.SCIM("DELETE", "/scim/v2/Groups/"+gid, nil), 204)
	f.eventually("deleting the group revokes its access", 10*time.Second, func() bool { return len(f.roles()) == 0 })
	// A new group with the same name inherits nothing.
	f.group("Ops", users[2])
	f.eventually("quiescent", 10*time.Second, f.quiescent)
	if len(f.roles()) != 0 {
		t.Errorf("a new group with an old name inherited access: %v", f.roles())
	}
	f.assertInvariant()
}

// TestWorkerReplacedMidRecalculation stops the only worker in the middle
// of a recalculation and starts another: the result must be exact.
func TestWorkerReplacedMidRecalculation(t *testing.T) {
	t.Parallel()
	f := fixture{t, testenv.Server(t)}
	eng, w1 := f.env.Engine(2)
	users := f.users(40, "w")
	flows := f.entryPoint("Flows")
	gid := f.group("Big", users...)
	id := f.updateGroup(gid, flows, "admin")
	f.eventually("first batches done", 30*time.Second, func() bool {
		p, _ := f.recalculation(id)["processed"].(interface{ String() string })
		return p != nil && p.String() != "0"
	})
	w1.Stop()
	if rec := f.recalculation(id); rec["status"] == "completed" {
		t.Fatal("the recalculation finished before the worker stopped: the replacement would not be tested")
	}
	f.env.NewWorker(eng.Temporal)
	f.waitCompleted(id)
	got := f.roles()
	for _, u := range users {
		if got[u+"/"+flows] != "admin" {
			t.Fatalf("user %s has %q after the worker was replaced, want admin", u, got[u+"/"+flows])
		}
	}
	f.assertInvariant()
}

// TestChurnKeepsInvariant interleaves mapping updates, membership churn and
// deactivations with running recalculations, then checks the invariant
// once everything is quiescent.
func TestChurnKeepsInvariant(t *testing.T) {
	t.Parallel()
	f := fixture{t, testenv.Server(t)}
	f.env.Engine(3)
	users := f.users(30, "c")
	eps := []string{f.entryPoint("A"), f.entryPoint("B"), f.entryPoint("C")}
	groups := []string{f.group("G1", users[:15]...), f.group("G2", users[10:25]...), f.group("G3")}
	roles := []string{"viewer", "contributor", "reporter", "approver", "admin"}

	var wg sync.WaitGroup
	for worker := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(worker), 7))
			for range 15 {
				g := groups[rng.IntN(len(groups))]
				u := users[rng.IntN(len(users))]
				var res *testenv.Response
				switch rng.IntN(4) {
				case 0:
					res = f.env.Do(f.env.AdminToken, "PUT", "/api/v1/scim/groups/"+g+"/entry-points", map[string]any{"entryPoints": []any{
						map[string]any{"id": eps[rng.IntN(3)], "role": roles[rng.IntN(5)]}}})
				case 1:
					res = f.env.SCIM("PATCH", "/scim/v2/Groups/"+g, patchOp(map[string]any{"op": "Add", "path": "members", "value": members(u)}))
				case 2:
					res = f.env.SCIM("PATCH", "/scim/v2/Groups/"+g, patchOp(map[string]any{"op": "Remove", "path": "members", "value": members(u)}))
				case 3:
					res = f.env.SCIM("PATCH", "/scim/v2/Users/"+u, patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": rng.IntN(2) == 0}}))
				}
				if res.Status >= 300 {
					t.Errorf("churn request failed: %d %s", res.Status, res.Body)
				}
			}
		}()
	}
	wg.Wait()
	f.eventually("quiescent after churn", 90*time.Second, f.quiescent)
	f.assertInvariant()
	if res := f.env.Do(f.env.AdminToken, "GET", "/api/v1/scim/groups", nil); res.Status != http.StatusOK {
		t.Errorf("group list after churn: %d", res.Status)
	}
}

// TestSecondUpdateGroupIsCoalesced clicks Update Group twice while the
// first recalculation runs: the running workflow takes the newer mapping
// (no second workflow races it), both records complete, and the result is
// the newer mapping.
func TestSecondUpdateGroupIsCoalesced(t *testing.T) {
	t.Parallel()
	f := fixture{t, testenv.Server(t)}
	eng, _ := f.env.Engine(1)
	users := f.users(40, "co")
	flows, reports := f.entryPoint("Flows"), f.entryPoint("Reports")
	gid := f.group("Twice", users...)
	first := f.updateGroup(gid, flows, "viewer")
	f.eventually("first pass under way", 20*time.Second, func() bool {
		p, _ := f.recalculation(first)["processed"].(interface{ String() string })
		return p != nil && p.String() != "0"
	})
	second := f.updateGroup(gid, reports, "approver")
	f.waitCompleted(second)
	if rec := f.waitCompleted(first); rec["status"] != "completed" {
		t.Errorf("first record: %v", rec)
	}
	got := f.roles()
	for _, u := range users {
		if got[u+"/"+reports] != "approver" || got[u+"/"+flows] != "" {
			t.Fatalf("user %s: flows %q reports %q; want only the second mapping", u, got[u+"/"+flows], got[u+"/"+reports])
		}
	}
	v, err := eng.Temporal.QueryWorkflow(context.Background(), workflows.GroupWorkflowID(f.env.OrgID, gid), "", workflows.QueryProgress)
	if err != nil {
		t.Fatalf("progress query: %v", err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.Passes < 2 {
		t.Errorf("progress = %+v, want the second version coalesced into a restarted pass", p)
	}
	recordHistory(t, eng.Temporal, workflows.GroupWorkflowID(f.env.OrgID, gid), "group_recalculation_lanes_coalesced")
	f.assertInvariant()
}
