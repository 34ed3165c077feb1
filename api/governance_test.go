package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

func mapping(pairs ...string) map[string]any {
	eps := []any{}
	for i := 0; i+1 < len(pairs); i += 2 {
		eps = append(eps, map[string]any{"id": pairs[i], "role": pairs[i+1]})
	}
	return map[string]any{"entryPoints": eps}
}

func (a admin) updateGroup(gid string, body map[string]any) map[string]any {
	a.t.Helper()
	res := a.do("PUT", "/api/v1/scim/groups/"+gid+"/entry-points", body)
	if res.Status != http.StatusAccepted {
		a.t.Fatalf("update group: %d %s", res.Status, res.Body)
	}
	return res.JSON(a.t)["recalculation"].(map[string]any)
}

// entryImpact returns the preview's entry for entry point id.
func entryImpact(t *testing.T, preview map[string]any, id string) map[string]any {
	t.Helper()
	for _, e := range preview["entryPoints"].([]any) {
		if e := e.(map[string]any); e["id"] == id {
			return e
		}
	}
	t.Fatalf("preview has no entry for entry point %s: %v", id, preview)
	return nil
}

// numOf reads a JSON number (the test client decodes json.Number).
func numOf(v any) float64 {
	switch n := v.(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case float64:
		return n
	}
	return -1
}

func counts(e map[string]any) [4]float64 {
	return [4]float64{numOf(e["gain"]), numOf(e["lose"]), numOf(e["raise"]), numOf(e["lower"])}
}

// TestPreviewAPI previews a change whose effect on each member depends on
// their other groups, and checks the counts, the users held by another
// group, the sample, validation and that nothing changed.
func TestPreviewAPI(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	a := newAdmin(t, env)
	finance, flows, reports := a.createEntryPoint("Finance"), a.createEntryPoint("Flows"), a.createEntryPoint("Reports")
	u1, u2, u3, u4 := createUser(t, env, env.SCIMToken, "u1@x"), createUser(t, env, env.SCIMToken, "u2@x"),
		createUser(t, env, env.SCIMToken, "u3@x"), createUser(t, env, env.SCIMToken, "u4@x")
	g := createGroup(t, env, "Staff", u1, u2, u3, u4)
	exec := createGroup(t, env, "Executives", u2)
	a.updateGroup(exec, mapping(finance, "admin"))
	a.updateGroup(g, mapping(finance, "viewer", reports, "approver"))
	// u4 is deactivated: no access before or after, never counted.
	if res := env.SCIM("PATCH", "/scim/v2/Users/"+u4, testenv.PatchOp(map[string]any{"op": "replace", "path": "active", "value": false})); res.Status != 200 {
		t.Fatalf("deactivate: %d %s", res.Status, res.Body)
	}
	before := a.do("GET", "/api/v1/scim/groups/"+g, nil).JSON(t)

	res := a.do("POST", "/api/v1/scim/groups/"+g+"/entry-points/preview", mapping(finance, "approver", flows, "viewer"))
	if res.Status != 200 {
		t.Fatalf("preview: %d %s", res.Status, res.Body)
	}
	p := res.JSON(t)
	if numOf(p["members"]) != 4 || numOf(p["usersAffected"]) != 3 {
		t.Errorf("members, usersAffected = %v, %v, want 4, 3", p["members"], p["usersAffected"])
	}
	// Finance viewer -> approver: u1 and u3 go up; u2 keeps admin through Executives.
	fin := entryImpact(t, p, finance)
	if got, want := counts(fin), [4]float64{0, 0, 2, 0}; got != want {
		t.Errorf("Finance gain/lose/raise/lower = %v, want %v", got, want)
	}
	if fin["from"] != "viewer" || fin["to"] != "approver" {
		t.Errorf("Finance from/to = %v/%v", fin["from"], fin["to"])
	}
	held := fin["unchangedThrough"].([]any)
	if len(held) != 1 || held[0].(map[string]any)["groupName"] != "Executives" || held[0].(map[string]any)["role"] != "admin" || numOf(held[0].(map[string]any)["users"]) != 1 {
		t.Errorf("Finance unchangedThrough = %v, want 1 user holding admin through Executives", held)
	}
	if got, want := counts(entryImpact(t, p, flows)), [4]float64{3, 0, 0, 0}; got != want {
		t.Errorf("Flows = %v, want %v", got, want)
	}
	rep := entryImpact(t, p, reports)
	if got, want := counts(rep), [4]float64{0, 3, 0, 0}; got != want {
		t.Errorf("Reports = %v, want %v", got, want)
	}
	if rep["to"] != nil {
		t.Errorf("Reports to = %v, want null", rep["to"])
	}
	sample := p["sample"].([]any)
	if len(sample) == 0 {
		t.Fatalf("empty sample")
	}
	for _, s := range sample {
		s := s.(map[string]any)
		if s["userId"] == u4 || s["userName"] == "" || s["userName"] == nil {
			t.Errorf("sample entry %v: want an active member with a userName", s)
		}
	}

	// Nothing changed: same mapping version, no new event.
	after := a.do("GET", "/api/v1/scim/groups/"+g, nil).JSON(t)
	if !reflect.DeepEqual(before["recalculation"], after["recalculation"]) {
		t.Errorf("preview started a recalculation: %v -> %v", before["recalculation"], after["recalculation"])
	}
	evs := a.do("GET", "/api/v1/audit-events?type=mapping.updated&groupId="+g, nil).JSON(t)["events"].([]any)
	if len(evs) != 1 {
		t.Errorf("mapping.updated events of the group = %d, want 1 (the preview records none)", len(evs))
	}

	// Bad input: the admin error format, nothing else.
	wantAdminError(t, a.do("POST", "/api/v1/scim/groups/"+g+"/entry-points/preview", mapping("nope", "viewer")), 400, "invalid")
	wantAdminError(t, a.do("POST", "/api/v1/scim/groups/"+g+"/entry-points/preview", mapping(finance, "owner")), 400, "invalid")
	wantAdminError(t, a.do("POST", "/api/v1/scim/groups/"+g+"/entry-points/preview", map[string]any{}), 400, "invalid")
	wantAdminError(t, a.do("POST", "/api/v1/scim/groups/nope/entry-points/preview", mapping()), 404, "not_found")
	_, adminB, _ := env.NewOrg("Other", scimflow.PlanEnterprise)
	wantAdminError(t, env.Do(adminB, "POST", "/api/v1/scim/groups/"+g+"/entry-points/preview", mapping()), 404, "not_found")
}

// TestMappingHistoryAndRestore stores a version per Update Group, lists
// them newest first with their actor, restores one (skipping an entry
// point deleted since) and refuses stale or unknown versions.
func TestMappingHistoryAndRestore(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	a := newAdmin(t, env)
	e1, e2, e3 := a.createEntryPoint("Alpha"), a.createEntryPoint("Beta"), a.createEntryPoint("Gamma")
	g := createGroup(t, env, "Team", createUser(t, env, env.SCIMToken, "m@x"))
	a.updateGroup(g, mapping(e1, "viewer", e3, "admin")) // version 1
	a.updateGroup(g, mapping(e2, "approver"))            // version 2

	vs := a.do("GET", "/api/v1/scim/groups/"+g+"/mapping-versions", nil).JSON(t)["versions"].([]any)
	if len(vs) != 2 {
		t.Fatalf("versions = %d, want 2: %v", len(vs), vs)
	}
	v2, v1 := vs[0].(map[string]any), vs[1].(map[string]any)
	if numOf(v2["version"]) != 2 || numOf(v1["version"]) != 1 {
		t.Fatalf("versions not newest first: %v", vs)
	}
	if actor := v1["actor"].(map[string]any); actor["type"] != "admin" || actor["id"] == "" {
		t.Errorf("version 1 actor = %v, want the admin", actor)
	}
	if eps := v1["entryPoints"].([]any); len(eps) != 2 || eps[0].(map[string]any)["name"] != "Alpha" || eps[1].(map[string]any)["role"] != "admin" {
		t.Errorf("version 1 entry points = %v", eps)
	}

	// Gamma goes; restoring version 1 brings Alpha back and names Gamma.
	if res := a.do("DELETE", "/api/v1/entry-points/"+e3, nil); res.Status != 204 {
		t.Fatalf("delete entry point: %d %s", res.Status, res.Body)
	}
	wantAdminError(t, a.do("POST", "/api/v1/scim/groups/"+g+"/mapping-versions/1/restore", map[string]any{"ifVersion": 1}), 409, "mapping_changed")
	res := a.do("POST", "/api/v1/scim/groups/"+g+"/mapping-versions/1/restore", map[string]any{"ifVersion": 2})
	if res.Status != 202 {
		t.Fatalf("restore: %d %s", res.Status, res.Body)
	}
	body := res.JSON(t)
	if skipped := body["skipped"].([]any); len(skipped) != 1 || skipped[0].(map[string]any)["name"] != "Gamma" {
		t.Errorf("skipped = %v, want Gamma", skipped)
	}
	if rec := body["recalculation"].(map[string]any); numOf(rec["mappingVersion"]) != 3 {
		t.Errorf("restore's recalculation = %v, want mapping version 3", rec)
	}
	eps := a.do("GET", "/api/v1/scim/groups/"+g+"/entry-points", nil).JSON(t)["entryPoints"].([]any)
	selected := map[string]any{}
	for _, e := range eps {
		if e := e.(map[string]any); e["selected"] == true {
			selected[e["name"].(string)] = e["role"]
		}
	}
	if want := map[string]any{"Alpha": "viewer"}; !reflect.DeepEqual(selected, want) {
		t.Errorf("mapping after restore = %v, want %v", selected, want)
	}
	evs := a.do("GET", "/api/v1/audit-events?type=mapping.updated&groupId="+g+"&limit=1", nil).JSON(t)["events"].([]any)
	if d := evs[0].(map[string]any)["details"].(map[string]any); numOf(d["restoredFrom"]) != 1 || len(d["skipped"].([]any)) != 1 {
		t.Errorf("restore event details = %v", d)
	}

	wantAdminError(t, a.do("POST", "/api/v1/scim/groups/"+g+"/mapping-versions/9/restore", nil), 404, "not_found")
	wantAdminError(t, a.do("POST", "/api/v1/scim/groups/"+g+"/mapping-versions/x/restore", nil), 404, "not_found")
	_, adminB, _ := env.NewOrg("Other", scimflow.PlanEnterprise)
	wantAdminError(t, env.Do(adminB, "GET", "/api/v1/scim/groups/"+g+"/mapping-versions", nil), 404, "not_found")
	wantAdminError(t, env.Do(adminB, "POST", "/api/v1/scim/groups/"+g+"/mapping-versions/1/restore", nil), 404, "not_found")
}

type event struct{ Type, Actor, Target string }

func auditEvents(t *testing.T, a admin, query string) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		q := query + "&limit=4"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		res := a.do("GET", "/api/v1/audit-events?"+q, nil)
		if res.Status != 200 {
			t.Fatalf("audit events %s: %d %s", q, res.Status, res.Body)
		}
		body := res.JSON(t)
		for _, e := range body["events"].([]any) {
			out = append(out, e.(map[string]any))
		}
		next, _ := body["nextCursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
}

// TestAuditTrailComplete runs a scripted sequence of SCIM and admin
// changes and checks that the trail has exactly one event per change,
// newest first, with the right actor, and nothing else; then the filters,
// paging and tenant isolation.
func TestAuditTrailComplete(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	env.Engine(0)
	a := newAdmin(t, env)
	ctx := context.Background()
	baseline := len(auditEvents(t, a, ""))

	ep := a.createEntryPoint("Payroll")
	u1 := createUser(t, env, env.SCIMToken, "one@x")
	u2 := createUser(t, env, env.SCIMToken, "two@x")
	g := createGroup(t, env, "Finance", u1)
	patch := func(path string, op map[string]any) {
		t.Helper()
		if res := env.SCIM("PATCH", path, testenv.PatchOp(op)); res.Status != 200 && res.Status != 204 {
			t.Fatalf("PATCH %s: %d %s", path, res.Status, res.Body)
		}
	}
	patch("/scim/v2/Groups/"+g, map[string]any{"op": "add", "path": "members", "value": testenv.Members(u2)})
	patch("/scim/v2/Groups/"+g, map[string]any{"op": "add", "path": "members", "value": testenv.Members(u2)}) // changes nothing
	patch("/scim/v2/Users/"+u2, map[string]any{"op": "replace", "path": "active", "value": false})
	patch("/scim/v2/Groups/"+g, map[string]any{"op": "replace", "path": "displayName", "value": "Finance EMEA"})
	rec := a.updateGroup(g, mapping(ep, "approver"))
	deadline := time.Now().Add(30 * time.Second)
	for a.do("GET", "/api/v1/recalculations/"+rec["id"].(string), nil).JSON(t)["status"] != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("recalculation did not complete")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res := a.do("PATCH", "/api/v1/entry-points/"+ep, map[string]any{"name": "Payroll EU"}); res.Status != 200 {
		t.Fatalf("rename: %d %s", res.Status, res.Body)
	}
	tok, _, err := env.DB.CreateToken(ctx, env.OrgID, store.NewToken{Scope: scimflow.ScopeSCIM, Name: "Okta"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.RevokeToken(ctx, env.OrgID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.RevokeToken(ctx, env.OrgID, tok.ID); err != nil { // revoked already: nothing
		t.Fatal(err)
	}
	if res := env.SCIM("DELETE", "/scim/v2/Users/"+u2, nil); res.Status != 204 {
		t.Fatalf("delete user: %d", res.Status)
	}
	if res := env.SCIM("DELETE", "/scim/v2/Groups/"+g, nil); res.Status != 204 {
		t.Fatalf("delete group: %d", res.Status)
	}
	if res := a.do("DELETE", "/api/v1/entry-points/"+ep, nil); res.Status != 204 {
		t.Fatalf("delete entry point: %d", res.Status)
	}
	// A refused change records nothing.
	wantAdminError(t, a.do("POST", "/api/v1/entry-points", map[string]any{"name": ""}), 400, "invalid")

	all := auditEvents(t, a, "")
	got := []event{}
	for _, e := range all[:len(all)-baseline] {
		got = append(got, event{e["type"].(string), e["actor"].(map[string]any)["type"].(string), e["target"].(map[string]any)["id"].(string)})
	}
	want := []event{
		{"entry_point.deleted", "admin", ep},
		{"scim.group.deleted", "scim_token", g},
		{"scim.user.deleted", "scim_token", u2},
		{"token.revoked", "system", tok.ID},
		{"token.created", "system", tok.ID},
		{"entry_point.renamed", "admin", ep},
		{"recalculation.completed", "system", g},
		{"mapping.updated", "admin", g},
		{"scim.group.updated", "scim_token", g},
		{"scim.user.updated", "scim_token", u2},
		{"scim.group.members_changed", "scim_token", g},
		{"scim.group.created", "scim_token", g},
		{"scim.user.created", "scim_token", u2},
		{"scim.user.created", "scim_token", u1},
		{"entry_point.created", "admin", ep},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("trail:\n got %v\nwant %v", got, want)
	}
	byType := map[string]map[string]any{}
	for _, e := range all {
		if _, ok := byType[e["type"].(string)]; !ok {
			byType[e["type"].(string)] = e
		}
	}
	if d := byType["scim.group.members_changed"]["details"].(map[string]any); fmt.Sprint(d["added"]) != fmt.Sprint([]any{u2}) || numOf(d["addedCount"]) != 1 {
		t.Errorf("members_changed details = %v, want u2 added", d)
	}
	if d := byType["scim.user.updated"]["details"].(map[string]any); fmt.Sprint(d["changed"]) != "[active]" {
		t.Errorf("user updated details = %v, want changed [active]", d)
	}
	if d := byType["mapping.updated"]["details"].(map[string]any); len(d["before"].([]any)) != 0 || len(d["after"].([]any)) != 1 {
		t.Errorf("mapping.updated details = %v, want before [] and after [Payroll]", d)
	}
	if d := byType["recalculation.completed"]["details"].(map[string]any); numOf(d["total"]) != 2 || d["recalculationId"] != rec["id"] {
		t.Errorf("recalculation.completed details = %v", d)
	}
	if a := byType["scim.user.created"]["actor"].(map[string]any); a["name"] != "test" {
		t.Errorf("SCIM actor = %v, want the token's name", a)
	}

	// Filters.
	if n := len(auditEvents(t, a, "type=scim.user.created")); n != 2 {
		t.Errorf("type filter: %d events, want 2", n)
	}
	var u2types []string
	for _, e := range auditEvents(t, a, "userId="+u2) {
		u2types = append(u2types, e["type"].(string))
	}
	if want := []string{"scim.user.deleted", "scim.user.updated", "scim.group.members_changed", "scim.user.created"}; !reflect.DeepEqual(u2types, want) {
		t.Errorf("userId filter = %v, want %v", u2types, want)
	}
	if n := len(auditEvents(t, a, "groupId="+g)); n != 6 {
		t.Errorf("groupId filter: %d events, want 6", n)
	}
	if n := len(auditEvents(t, a, "since="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)))); n != 0 {
		t.Errorf("since the future: %d events", n)
	}
	wantAdminError(t, a.do("GET", "/api/v1/audit-events?type=nope", nil), 400, "invalid")
	wantAdminError(t, a.do("GET", "/api/v1/audit-events?cursor=nope", nil), 400, "invalid")
	wantAdminError(t, a.do("GET", "/api/v1/audit-events?since=yesterday", nil), 400, "invalid")
	wantAdminError(t, a.do("GET", "/api/v1/audit-events?limit=0", nil), 400, "invalid")

	// Another org sees only its own trail.
	_, adminB, _ := env.NewOrg("Other", scimflow.PlanEnterprise)
	for _, e := range auditEvents(t, admin{t, env, adminB}, "") {
		if e["target"].(map[string]any)["id"] == g || e["target"].(map[string]any)["id"] == u1 {
			t.Errorf("org B sees org A's event %v", e)
		}
	}
	if n := len(auditEvents(t, admin{t, env, adminB}, "userId="+u2)); n != 0 {
		t.Errorf("org B sees %d events of org A's user", n)
	}
}
