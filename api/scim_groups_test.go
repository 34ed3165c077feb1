package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"

	"github.com/scimflow/scimflow/internal/testenv"
)

// Shorthands for request bodies.
var (
	patchOp = testenv.PatchOp
	members = testenv.Members
)

func createGroup(t testing.TB, env *testenv.Env, name string, memberIDs ...string) string {
	t.Helper()
	res := env.SCIM("POST", "/scim/v2/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": members(memberIDs...)})
	if res.Status != http.StatusCreated {
		t.Fatalf("create group %s: %d %s", name, res.Status, res.Body)
	}
	return res.JSON(t)["id"].(string)
}

// groupMembers returns the sorted member ids of a group as GET shows them.
func groupMembers(t testing.TB, env *testenv.Env, id string) []string {
	t.Helper()
	res := env.SCIM("GET", "/scim/v2/Groups/"+id, nil)
	if res.Status != 200 {
		t.Fatalf("GET group: %d %s", res.Status, res.Body)
	}
	var ids []string
	ms, _ := res.JSON(t)["members"].([]any)
	for _, m := range ms {
		ids = append(ids, m.(map[string]any)["value"].(string))
	}
	sort.Strings(ids)
	return ids
}

// TestConcurrentMemberPatches sends 50 PATCH requests at once, each adding
// a different member to the same group, as Entra does with one request per
// member. None may be lost. Then 25 removes race 25 adds of other members.
func TestConcurrentMemberPatches(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	const n = 50
	ids := make([]string, 2*n)
	for i := range ids {
		ids[i] = createUser(t, env, env.SCIMToken, fmt.Sprintf("user%02d@example.com", i))
	}
	gid := createGroup(t, env, "Engineering")

	parallel := func(reqs []map[string]any) {
		var wg sync.WaitGroup
		errs := make(chan string, len(reqs))
		for _, body := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if res := env.SCIM("PATCH", "/scim/v2/Groups/"+gid, body); res.Status != http.StatusNoContent {
					errs <- fmt.Sprintf("%d %s", res.Status, res.Body)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("concurrent PATCH failed: %s", e)
		}
	}

	var adds []map[string]any
	for _, id := range ids[:n] {
		adds = append(adds, patchOp(map[string]any{"op": "Add", "path": "members", "value": members(id)}))
	}
	parallel(adds)
	want := append([]string{}, ids[:n]...)
	sort.Strings(want)
	if got := groupMembers(t, env, gid); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after %d concurrent adds the group has %d members, want %d", n, len(got), n)
	}

	var mixed []map[string]any
	for i := range n / 2 {
		mixed = append(mixed,
			patchOp(map[string]any{"op": "Remove", "path": "members", "value": members(ids[i])}),
			patchOp(map[string]any{"op": "add", "path": "members", "value": members(ids[n+i])}))
	}
	parallel(mixed)
	want = append(append([]string{}, ids[n/2:n]...), ids[n:n+n/2]...)
	sort.Strings(want)
	if got := groupMembers(t, env, gid); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after concurrent adds and removes: %d members, want %d", len(got), len(want))
	}
	// Every change was recorded for recalculation: 50 + 25 adds, 25 removes.
	var queued int
	sqlDB, _ := env.DB.SQL()
	if err := sqlDB.QueryRowContext(context.Background(), "SELECT count(*) FROM recalc_outbox WHERE org_id = $1", env.OrgID).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != n+n {
		t.Errorf("outbox has %d rows, want %d (one per membership change)", queued, n+n)
	}
}

// TestLargeGroup works on a group of 100,000 members: single-member PATCHes
// are exact, GET streams every member, and excludedAttributes=members
// returns none. (Their cost is in BenchmarkGroupPatch: it does not grow
// with the group.)
func TestLargeGroup(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("large group: skipped with -short")
	}
	env := testenv.Server(t)
	const n = 100_000
	prefix := testenv.SeedUsers(t, env.DB, env.OrgID, n+1)
	gid := testenv.SeedGroup(t, env.DB, env.OrgID, "Everyone", prefix, n)
	newcomer := testenv.SeededUserID(prefix, n+1)
	leaver := testenv.SeededUserID(prefix, 4242)

	res := env.SCIM("PATCH", "/scim/v2/Groups/"+gid, patchOp(
		map[string]any{"op": "Add", "path": "members", "value": members(newcomer)},
		map[string]any{"op": "Remove", "path": "members", "value": members(leaver)}))
	if res.Status != http.StatusNoContent || len(res.Body) != 0 {
		t.Fatalf("PATCH on a large group: %d, %d bytes of body; want 204 and no body", res.Status, len(res.Body))
	}
	res = env.SCIM("GET", "/scim/v2/Groups/"+gid, nil)
	if res.Status != 200 {
		t.Fatalf("GET large group: %d", res.Status)
	}
	ms := res.JSON(t)["members"].([]any)
	if len(ms) != n {
		t.Fatalf("GET large group: %d members, want %d", len(ms), n)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		seen[m.(map[string]any)["value"].(string)] = true
	}
	if !seen[newcomer] || seen[leaver] || len(seen) != n {
		t.Errorf("members: newcomer present %v, leaver present %v, distinct %d", seen[newcomer], seen[leaver], len(seen))
	}
	res = env.SCIM("GET", "/scim/v2/Groups/"+gid+"?excludedAttributes=members", nil)
	if _, ok := res.JSON(t)["members"]; ok || len(res.Body) > 2000 {
		t.Errorf("excludedAttributes=members returned members (%d bytes)", len(res.Body))
	}
	res = env.SCIM("GET", "/scim/v2/Groups?filter=displayName+eq+%22everyone%22&excludedAttributes=members", nil)
	if body := res.JSON(t); fmt.Sprint(body["totalResults"]) != "1" {
		t.Errorf("list by displayName: %s", res.Body)
	}
}
