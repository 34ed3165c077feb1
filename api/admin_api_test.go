package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

func wantAdminError(t *testing.T, res *testenv.Response, status int, code string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status = %d, want %d; body %s", res.Status, status, res.Body)
	}
	body := res.JSON(t)
	e, _ := body["error"].(map[string]any)
	if e == nil || e["code"] != code || e["message"] == "" {
		t.Errorf("error body = %s, want code %q and a message", res.Body, code)
	}
}

func (a admin) do(method, path string, body any) *testenv.Response {
	a.t.Helper()
	return a.env.Do(a.token, method, path, body)
}

type admin struct {
	t     *testing.T
	env   *testenv.Env
	token string
}

func newAdmin(t *testing.T, env *testenv.Env) admin { return admin{t, env, env.AdminToken} }

func (a admin) createEntryPoint(name string) string {
	a.t.Helper()
	res := a.do("POST", "/api/v1/entry-points", map[string]any{"name": name})
	if res.Status != http.StatusCreated {
		a.t.Fatalf("create entry point: %d %s", res.Status, res.Body)
	}
	return res.JSON(a.t)["id"].(string)
}

// TestPrerequisites turns each prerequisite off alone and checks that the
// SCIM admin endpoints answer 403 with its own code; all met gives 200.
func TestPrerequisites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.Server(t)
	gid := createGroup(t, env, "Sales")
	free, business := scimflow.PlanFree, scimflow.PlanBusiness
	off, on := false, true

	// A SCIM user promoted to nothing: an admin token owned by a member.
	member := createUser(t, env, env.SCIMToken, "member@example.com")
	_, memberToken, err := env.DB.CreateToken(ctx, env.OrgID, store.NewToken{Scope: scimflow.ScopeAdmin, UserID: member})
	if err == nil || memberToken != "" {
		t.Fatalf("an admin token for a non-admin user was created")
	}

	paths := []string{"/api/v1/scim/groups", "/api/v1/scim/groups/" + gid, "/api/v1/scim/groups/" + gid + "/entry-points"}
	check := func(label, token string, status int, code string) {
		t.Helper()
		for _, p := range paths {
			res := env.Do(token, "GET", p, nil)
			if status == 200 {
				if res.Status != 200 {
					t.Errorf("%s: GET %s = %d %s, want 200", label, p, res.Status, res.Body)
				}
				continue
			}
			wantAdminError(t, res, status, code)
		}
	}
	check("all met", env.AdminToken, 200, "")

	env.DB.UpdateOrg(ctx, env.OrgID, store.OrgUpdate{Plan: &free})
	check("free plan", env.AdminToken, 403, "plan_not_supported")
	env.DB.UpdateOrg(ctx, env.OrgID, store.OrgUpdate{Plan: &business})

	check("SCIM token on admin API", env.SCIMToken, 403, "not_org_admin")

	env.DB.UpdateOrg(ctx, env.OrgID, store.OrgUpdate{SCIMGroups: &off})
	check("feature off", env.AdminToken, 403, "scim_groups_disabled")
	env.DB.UpdateOrg(ctx, env.OrgID, store.OrgUpdate{SCIMGroups: &on})

	toks, _ := env.DB.ListTokens(ctx, env.OrgID, scimflow.ScopeSCIM)
	for _, tk := range toks {
		env.DB.RevokeToken(ctx, env.OrgID, tk.ID)
	}
	check("no active SCIM token", env.AdminToken, 403, "scim_integration_inactive")
	env.DB.CreateToken(ctx, env.OrgID, store.NewToken{Scope: scimflow.ScopeSCIM})
	check("all met again", env.AdminToken, 200, "")

	wantAdminError(t, env.Do("", "GET", "/api/v1/scim/groups", nil), 401, "unauthorized")
	wantAdminError(t, env.Do("sfw_nope", "GET", "/api/v1/entry-points", nil), 401, "unauthorized")
}

// TestAdminTenantIsolation checks every admin endpoint with ids of another
// org: each is a plain 404, and nothing of the other org changes.
func TestAdminTenantIsolation(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	orgB, adminB, scimB := env.NewOrg("Other", scimflow.PlanEnterprise)
	_ = orgB
	b := admin{t, env, adminB}
	epB := b.createEntryPoint("Their flows")
	userB := createUser(t, env, scimB, "them@b.example")
	gB := env.Do(scimB, "POST", "/scim/v2/Groups", map[string]any{"displayName": "Theirs", "members": members(userB)}).JSON(t)["id"].(string)
	if res := b.do("PUT", "/api/v1/scim/groups/"+gB+"/entry-points", map[string]any{"entryPoints": []any{map[string]any{"id": epB, "role": "admin"}}}); res.Status != 202 {
		t.Fatalf("org B update group: %d %s", res.Status, res.Body)
	}
	recB := b.do("GET", "/api/v1/scim/groups/"+gB, nil).JSON(t)["recalculation"].(map[string]any)["id"].(string)

	a := newAdmin(t, env)
	epA := a.createEntryPoint("Our flows")
	gA := createGroup(t, env, "Ours")
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/v1/entry-points/" + epB},
		{"PATCH", "/api/v1/entry-points/" + epB},
		{"DELETE", "/api/v1/entry-points/" + epB},
		{"GET", "/api/v1/entry-points/" + epB + "/members"},
		{"GET", "/api/v1/users/" + userB + "/entry-points"},
		{"GET", "/api/v1/scim/groups/" + gB},
		{"GET", "/api/v1/scim/groups/" + gB + "/entry-points"},
		{"PUT", "/api/v1/scim/groups/" + gB + "/entry-points"},
		{"GET", "/api/v1/recalculations/" + recB},
	} {
		var body any
		switch req.method {
		case "PATCH":
			body = map[string]any{"name": "stolen"}
		case "PUT":
			body = map[string]any{"entryPoints": []any{}}
		}
		res := a.do(req.method, req.path, body)
		wantAdminError(t, res, 404, "not_found")
	}
	// Org B's entry point cannot be mapped by org A either.
	res := a.do("PUT", "/api/v1/scim/groups/"+gA+"/entry-points", map[string]any{"entryPoints": []any{map[string]any{"id": epB, "role": "viewer"}}})
	wantAdminError(t, res, 400, "invalid")
	// Lists show only org A.
	if body := string(a.do("GET", "/api/v1/scim/groups", nil).Body); strings.Contains(body, "Theirs") || !strings.Contains(body, "Ours") {
		t.Errorf("group list leaks or misses: %s", body)
	}
	if body := string(a.do("GET", "/api/v1/entry-points", nil).Body); strings.Contains(body, "Their flows") || !strings.Contains(body, epA) {
		t.Errorf("entry point list leaks or misses: %s", body)
	}
	// Org B is untouched.
	if res := b.do("GET", "/api/v1/scim/groups/"+gB+"/entry-points", nil); !strings.Contains(string(res.Body), `"role":"admin"`) {
		t.Errorf("org B's mapping changed: %s", res.Body)
	}
	if res := b.do("GET", "/api/v1/entry-points/"+epB, nil); res.JSON(t)["name"] != "Their flows" {
		t.Errorf("org B's entry point changed: %s", res.Body)
	}
}

func TestUpdateGroupValidation(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	a := newAdmin(t, env)
	ep := a.createEntryPoint("Flows")
	gid := createGroup(t, env, "Sales")
	path := "/api/v1/scim/groups/" + gid + "/entry-points"

	res := a.do("GET", path, nil)
	if eps := res.JSON(t)["entryPoints"].([]any); len(eps) != 1 || eps[0].(map[string]any)["selected"] != false || eps[0].(map[string]any)["role"] != nil {
		t.Fatalf("a new group has mappings: %s", res.Body)
	}
	for name, body := range map[string]any{
		"unknown role":        map[string]any{"entryPoints": []any{map[string]any{"id": ep, "role": "owner"}}},
		"unknown entry point": map[string]any{"entryPoints": []any{map[string]any{"id": "nope", "role": "viewer"}}},
		"duplicate":           map[string]any{"entryPoints": []any{map[string]any{"id": ep, "role": "viewer"}, map[string]any{"id": ep, "role": "admin"}}},
		"missing list":        map[string]any{},
		"unknown field":       map[string]any{"entryPoints": []any{}, "displayName": "x"},
		"not JSON":            "{",
	} {
		res := a.do("PUT", path, body)
		if res.Status != 400 {
			t.Errorf("%s: %d %s, want 400", name, res.Status, res.Body)
		}
	}
	if body := string(a.do("GET", path, nil).Body); strings.Contains(body, `"selected":true`) {
		t.Errorf("refused updates changed the mapping: %s", body)
	}
	res = a.do("PUT", path, map[string]any{"entryPoints": []any{map[string]any{"id": ep, "role": "Approver"}}})
	if res.Status != 202 {
		t.Fatalf("update group: %d %s", res.Status, res.Body)
	}
	rec := res.JSON(t)["recalculation"].(map[string]any)
	if rec["groupId"] != gid || rec["status"] != "pending" || rec["id"] == "" {
		t.Errorf("recalculation = %v", rec)
	}
	if body := string(a.do("GET", path, nil).Body); !strings.Contains(body, `"role":"approver","selected":true`) {
		t.Errorf("mapping not saved: %s", body)
	}
	// Name and SCIM ID are read-only here.
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		wantAdminError(t, a.do(m, "/api/v1/scim/groups/"+gid, map[string]any{"displayName": "Renamed"}), 405, "method_not_allowed")
	}
	if g := a.do("GET", "/api/v1/scim/groups/"+gid, nil).JSON(t); g["displayName"] != "Sales" || g["mappingCount"].(interface{ String() string }).String() != "1" {
		t.Errorf("group after refused rename: %v", g)
	}
}

// TestEffectiveRolesThroughAPI maps two groups to the same entry point and
// checks the user page: the highest role wins and both grants are shown;
// a deactivated user has nothing; reactivation restores the access.
func TestEffectiveRolesThroughAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.Server(t)
	a := newAdmin(t, env)
	flows, reports := a.createEntryPoint("Flows"), a.createEntryPoint("Reports")
	u := createUser(t, env, env.SCIMToken, "multi@example.com")
	other := createUser(t, env, env.SCIMToken, "tie@example.com")
	eng, leads, twins := createGroup(t, env, "Eng", u), createGroup(t, env, "Leads", u, other), createGroup(t, env, "Twins", other)
	set := func(g string, eps ...any) {
		if res := a.do("PUT", "/api/v1/scim/groups/"+g+"/entry-points", map[string]any{"entryPoints": eps}); res.Status != 202 {
			t.Fatalf("update group: %d %s", res.Status, res.Body)
		}
	}
	set(eng, map[string]any{"id": flows, "role": "contributor"}, map[string]any{"id": reports, "role": "reporter"})
	set(leads, map[string]any{"id": flows, "role": "approver"})
	set(twins, map[string]any{"id": flows, "role": "approver"})
	// No engine in this test: recalculate as the engine would.
	recalc := func() {
		if _, err := env.DB.RecalculateUsers(ctx, env.OrgID, []string{u, other}, nil); err != nil {
			t.Fatal(err)
		}
	}
	recalc()
	res := a.do("GET", "/api/v1/users/"+u+"/entry-points", nil)
	body := string(res.Body)
	for _, want := range []string{`"name":"Flows"},"grantedBy":[{"groupId":"` + leads + `","groupName":"Leads","role":"approver"},{"groupId":"` + eng + `","groupName":"Eng","role":"contributor"}],"role":"approver"`,
		`"name":"Reports"},"grantedBy":[{"groupId":"` + eng + `","groupName":"Eng","role":"reporter"}],"role":"reporter"`} {
		if !strings.Contains(body, want) {
			t.Errorf("user access lacks %s\nbody: %s", want, body)
		}
	}
	res = a.do("GET", "/api/v1/users/"+other+"/entry-points", nil)
	if !strings.Contains(string(res.Body), `"role":"approver"`) || strings.Count(string(res.Body), `"groupId"`) != 2 {
		t.Errorf("tie: %s", res.Body)
	}
	members := a.do("GET", "/api/v1/entry-points/"+flows+"/members", nil)
	if !strings.Contains(string(members.Body), `"total":2`) {
		t.Errorf("entry point members: %s", members.Body)
	}

	deactivate := patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": false}})
	if res := env.SCIM("PATCH", "/scim/v2/Users/"+u, deactivate); res.Status != 200 {
		t.Fatal(res.Status)
	}
	recalc()
	if res := a.do("GET", "/api/v1/users/"+u+"/entry-points", nil); strings.Contains(string(res.Body), "role") {
		t.Errorf("deactivated user keeps access: %s", res.Body)
	}
	env.SCIM("PATCH", "/scim/v2/Users/"+u, patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": true}}))
	recalc()
	if res := a.do("GET", "/api/v1/users/"+u+"/entry-points", nil); strings.Count(string(res.Body), `"role":"approver"`) != 2 {
		t.Errorf("reactivated user: %s", res.Body)
	}
	// Deleting an entry point revokes its access at once.
	if res := a.do("DELETE", "/api/v1/entry-points/"+flows, nil); res.Status != 204 {
		t.Fatal(res.Status)
	}
	if res := a.do("GET", "/api/v1/users/"+u+"/entry-points", nil); strings.Contains(string(res.Body), "Flows") {
		t.Errorf("deleted entry point still grants access: %s", res.Body)
	}
	if res := a.do("GET", "/api/v1/roles", nil); !strings.Contains(string(res.Body), `"name":"viewer"`) || !strings.Contains(string(res.Body), "approve change requests") {
		t.Errorf("roles: %s", res.Body)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	env.SCIM("GET", "/scim/v2/Users", nil)
	for path, want := range map[string]string{
		"/healthz": `"ok"`,
		"/readyz":  `"ready"`,
		"/metrics": `scimflow_http_requests_total{method="GET",route="/scim/v2/Users",status="200",surface="scim"} 1`,
	} {
		res := env.Do("", "GET", path, nil)
		if res.Status != 200 || !strings.Contains(string(res.Body), want) {
			t.Errorf("GET %s = %d, body lacks %s:\n%.300s", path, res.Status, want, res.Body)
		}
	}
}

// TestUnroutedRequestsAnswerInTheirSurface: a URL no route matches is
// answered in the format of the surface it is under.
func TestUnroutedRequestsAnswerInTheirSurface(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	res := env.SCIM("GET", "/scim/v2/Nope", nil)
	wantSCIMError(t, res, 404, "")
	wantAdminError(t, env.Do(env.AdminToken, "GET", "/api/v1/nope", nil), 404, "not_found")
	wantAdminError(t, env.Do(env.AdminToken, "DELETE", "/healthz", nil), 405, "method_not_allowed")
	b := newBrowser(t, env)
	b.login(env.AdminToken)
	p := b.get("/admin/nope")
	wantPage(t, p, 404, "Not found", "<html")
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /admin/nope: Content-Type %q, want text/html", ct)
	}
}

// TestUpdateGroupIfVersion: a conditional Update Group applies only on the
// mapping version it names; a stale one is 409 mapping_changed and
// changes nothing.
func TestUpdateGroupIfVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.Server(t)
	a := newAdmin(t, env)
	flows, reports := a.createEntryPoint("Flows"), a.createEntryPoint("Reports")
	gid := createGroup(t, env, "Ops")
	put := func(ep, role string, ifVersion int) *testenv.Response {
		return a.do("PUT", "/api/v1/scim/groups/"+gid+"/entry-points", map[string]any{
			"entryPoints": []any{map[string]any{"id": ep, "role": role}}, "ifVersion": ifVersion})
	}
	if res := put(flows, "viewer", 0); res.Status != http.StatusAccepted {
		t.Fatalf("PUT ifVersion 0 on a new group: %d %s", res.Status, res.Body)
	}
	wantAdminError(t, put(reports, "admin", 0), http.StatusConflict, "mapping_changed")
	ms, err := env.DB.GroupMappings(ctx, env.OrgID, gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].EntryPointID != flows || ms[0].Role != "viewer" {
		t.Errorf("mapping after the refused PUT = %+v, want the first one", ms)
	}
	if res := put(reports, "admin", 1); res.Status != http.StatusAccepted {
		t.Errorf("PUT ifVersion 1: %d %s", res.Status, res.Body)
	}
}
