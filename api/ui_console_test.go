package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// consolePages returns the admin pages of an org with a user, a group
// with that user as a member, and an entry point; every page the
// navigation reaches, and the pages one level below.
func consolePages(t *testing.T, env *testenv.Env) []string {
	t.Helper()
	uid := createUser(t, env, env.SCIMToken, "ann@example.com")
	gid := createGroup(t, env, "Finance", uid)
	if res := env.Do(env.AdminToken, "POST", "/api/v1/entry-points", map[string]any{"name": "Invoices"}); res.Status != http.StatusCreated {
		t.Fatalf("create entry point: %d %s", res.Status, res.Body)
	}
	return []string{
		"/admin/scim/groups",
		"/admin/scim/groups/" + gid,
		"/admin/users/" + uid,
		"/admin/tokens",
		"/admin/entry-points",
		"/admin/users",
		"/admin/recalculations",
		"/admin/docs/generic",
		"/admin/docs/entra-id",
		"/admin/docs/okta",
		"/admin/docs/onelogin",
	}
}

var (
	assetRef = regexp.MustCompile(`<(?:link|script|img)\b[^>]*?\b(?:href|src)="(/[^"]*)"`)
	pageLink = regexp.MustCompile(`<a\b[^>]*?\bhref="(/admin/[^"#]*)`)
)

// TestUIConsoleNavigationAndAssets loads every page signed in: each has
// the same navigation with Sign out, and every asset and link it refers
// to answers 200.
func TestUIConsoleNavigationAndAssets(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	pages := consolePages(t, env)
	b := newBrowser(t, env)
	b.login(env.AdminToken)

	checked := map[string]bool{}
	check := func(from, ref string) {
		t.Helper()
		ref = strings.ReplaceAll(ref, "&amp;", "&")
		if checked[ref] {
			return
		}
		checked[ref] = true
		if p := b.get(ref); p.status != http.StatusOK {
			t.Errorf("%s refers to %s: %d", from, ref, p.status)
		}
	}
	for _, path := range pages {
		p := b.get(path)
		wantPage(t, p, http.StatusOK, `<nav aria-label="Main">`, `href="/admin/scim/groups"`, `href="/admin/tokens"`, `href="/admin/entry-points"`, `href="/admin/users"`, `href="/admin/recalculations"`,
			`href="/admin/docs/generic"`, ">Sign out</button>", `rel="icon"`)
		for _, m := range assetRef.FindAllStringSubmatch(p.body, -1) {
			check(path, m[1])
		}
		for _, m := range pageLink.FindAllStringSubmatch(p.body, -1) {
			check(path, m[1])
		}
	}
	for _, asset := range []string{"/admin/static/ui.css", "/admin/static/ui.js", "/admin/static/favicon.svg"} {
		if !checked[asset] {
			t.Errorf("no page refers to %s", asset)
		}
	}
	if p := b.get("/favicon.ico"); p.status != http.StatusMovedPermanently || p.header.Get("Location") != "/admin/static/favicon.svg" {
		t.Errorf("/favicon.ico: %d to %q, want a redirect to the UI's icon", p.status, p.header.Get("Location"))
	}

	// Signed out, the guides stay readable, without the navigation.
	anon := newBrowser(t, env)
	p := anon.get("/admin/docs/okta")
	wantPage(t, p, http.StatusOK, "Okta")
	if strings.Contains(p.body, "Sign out") {
		t.Errorf("a signed-out guide shows Sign out")
	}
}

func TestUIPlural(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	uid := createUser(t, env, env.SCIMToken, "bob@example.com")
	gid := createGroup(t, env, "Solo", uid)
	b := newBrowser(t, env)
	b.login(env.AdminToken)
	wantPage(t, b.get("/admin/scim/groups/"+gid), http.StatusOK, "1 member ·")
	wantPage(t, b.get("/admin/scim/groups"), http.StatusOK, "1 group<")
}

func TestUIEntryPoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.Server(t)
	ann := createUser(t, env, env.SCIMToken, "ann@example.com")
	bob := createUser(t, env, env.SCIMToken, "bob@example.com")
	gid := createGroup(t, env, "Finance", ann, bob)
	b := newBrowser(t, env)
	b.login(env.AdminToken)

	wantPage(t, b.get("/admin/entry-points"), http.StatusOK, "no entry points yet")
	wantPage(t, b.get("/admin/scim/groups/"+gid), http.StatusOK, `<a href="/admin/entry-points">Create entry points</a>`)
	csrf := b.csrf("/admin/entry-points")
	p := b.post("/admin/entry-points", url.Values{"csrf": {csrf}, "name": {"Invoices"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", p.status, p.body)
	}
	wantPage(t, b.get(p.header.Get("Location")), http.StatusOK, "Entry point “Invoices” created", "no group")
	wantPage(t, b.post("/admin/entry-points", url.Values{"csrf": {csrf}, "name": {"invoices"}}), http.StatusUnprocessableEntity,
		"already exists", `value="invoices"`)
	wantPage(t, b.post("/admin/entry-points", url.Values{"csrf": {csrf}, "name": {"  "}}), http.StatusUnprocessableEntity, "name is required")

	eps, _, err := env.DB.ListEntryPoints(ctx, env.OrgID, "", 0, 10)
	if err != nil || len(eps) != 1 {
		t.Fatalf("entry points: %v %v", eps, err)
	}
	ep := eps[0].ID
	if res := env.Do(env.AdminToken, "PUT", "/api/v1/scim/groups/"+gid+"/entry-points",
		map[string]any{"entryPoints": []map[string]string{{"id": ep, "role": "approver"}}}); res.Status != http.StatusAccepted {
		t.Fatalf("map: %d %s", res.Status, res.Body)
	}
	// No engine runs here: materialise the effective roles directly.
	if _, err := env.DB.RecalculateUsers(ctx, env.OrgID, []string{ann, bob}, []string{ep}); err != nil {
		t.Fatal(err)
	}
	list := b.get("/admin/entry-points")
	wantPage(t, list, http.StatusOK, `<td class="num" data-label="Users with access">2</td>`, `/admin/scim/groups/`+gid+`">Finance</a> as Approver`)

	p = b.post("/admin/entry-points/"+ep+"/rename", url.Values{"csrf": {csrf}, "name": {"Invoices (EU)"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("rename: %d\n%s", p.status, p.body)
	}
	wantPage(t, b.get("/admin/entry-points/"+ep), http.StatusOK, "<h1>Invoices (EU)</h1>", "2 users with access", "Finance</a> as <strong>Approver")

	confirm := b.get("/admin/entry-points/" + ep + "/delete")
	wantPage(t, confirm, http.StatusOK, "2 users lose access", "Finance (Approver)", `id="confirm-delete"`)
	p = b.post("/admin/entry-points/"+ep+"/delete", url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", p.status, p.body)
	}
	wantPage(t, b.get(p.header.Get("Location")), http.StatusOK, "Entry point “Invoices (EU)” deleted")
	if acc, _ := env.DB.UserAccess(ctx, env.OrgID, ann); len(acc) != 0 {
		t.Errorf("after the delete, ann still has %v", acc)
	}

	// Another org's entry point is a plain 404, for every page and form.
	other, _, _ := env.NewOrg("Other", scimflow.PlanBusiness)
	foreign, err := env.DB.CreateEntryPoint(ctx, other, "Theirs")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/admin/entry-points/" + foreign.ID, "/admin/entry-points/" + foreign.ID + "/delete"} {
		wantPage(t, b.get(path), http.StatusNotFound, "Not found")
	}
	wantPage(t, b.post("/admin/entry-points/"+foreign.ID+"/delete", url.Values{"csrf": {csrf}}), http.StatusNotFound)
	wantPage(t, b.post("/admin/entry-points/"+foreign.ID+"/rename", url.Values{"csrf": {csrf}, "name": {"Mine"}}), http.StatusNotFound)
	if e, err := env.DB.FindEntryPoint(ctx, other, foreign.ID); err != nil || e.Name != "Theirs" {
		t.Errorf("the other org's entry point changed: %v %v", e, err)
	}
}

func TestUIPeople(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	var ids []string
	for i := 1; i <= 30; i++ {
		ids = append(ids, createUser(t, env, env.SCIMToken, fmt.Sprintf("user%02d@example.com", i)))
	}
	gid := createGroup(t, env, "Everyone", ids...)
	if res := env.SCIM("PATCH", "/scim/v2/Users/"+ids[1], testenv.PatchOp(map[string]any{"op": "replace", "path": "active", "value": false})); res.Status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", res.Status, res.Body)
	}
	b := newBrowser(t, env)
	b.login(env.AdminToken)

	p := b.get("/admin/users")
	wantPage(t, p, http.StatusOK, "30 users", "user01@example.com", "user25@example.com", `rel="next"`, "deactivated")
	if strings.Contains(p.body, "user26@") || strings.Contains(p.body, `rel="prev"`) {
		t.Errorf("first page shows more than 25 users, or a previous link")
	}
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.body)
	p2 := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	wantPage(t, p2, http.StatusOK, "user26@example.com", "user30@example.com", `rel="prev"`)
	if strings.Contains(p2.body, "user25@") || strings.Contains(p2.body, `rel="next"`) {
		t.Errorf("second page:\n%s", p2.body)
	}
	wantPage(t, b.get("/admin/users?search=USER07"), http.StatusOK, "1 user matches “USER07”", "user07@example.com")
	wantPage(t, b.get("/admin/users?search=nobody-like-this"), http.StatusOK, "No user matches")

	wantPage(t, b.get("/admin/users/"+ids[1]), http.StatusOK, "deactivated", `href="/admin/scim/groups/`+gid+`">Everyone</a>`)

	// The group's members: sorted by userName, paged, with their state.
	g := b.get("/admin/scim/groups/" + gid)
	wantPage(t, g, http.StatusOK, "30 members, sorted by user name", "user01@example.com", "deactivated", `rel="next"`)
	if strings.Contains(g.body, "more.") || strings.Contains(g.body, "user26@") {
		t.Errorf("group page lists more than a page of members")
	}
	if i, j := strings.Index(g.body, "user01@"), strings.Index(g.body, "user02@"); i < 0 || j < i {
		t.Errorf("members not sorted by userName")
	}
	next = regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(g.body)
	if !strings.Contains(next[1], "#members") {
		t.Errorf("members' next link %q does not come back to the members", next[1])
	}
	wantPage(t, b.get(strings.ReplaceAll(next[1], "&amp;", "&")), http.StatusOK, "user30@example.com")

	_, _, otherSCIM := env.NewOrg("Other", scimflow.PlanBusiness)
	foreign := createUser(t, env, otherSCIM, "them@example.com")
	wantPage(t, b.get("/admin/users/"+foreign), http.StatusNotFound, "Not found")
	if p := b.get("/admin/users?search=them"); strings.Contains(p.body, "them@example.com") {
		t.Errorf("the search finds another org's user")
	}
}

func TestSCIMTokenHealth(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	for i := 0; i < 3; i++ {
		if res := env.SCIM("GET", "/scim/v2/Users", nil); res.Status != http.StatusOK {
			t.Fatalf("list users: %d", res.Status)
		}
	}
	env.SCIM("GET", "/scim/v2/Users/no-such-user", nil)
	env.SCIM("POST", "/scim/v2/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}})

	res := env.Do(env.AdminToken, "GET", "/api/v1/scim/tokens", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("GET tokens: %d %s", res.Status, res.Body)
	}
	var list struct {
		Tokens []map[string]any `json:"tokens"`
	}
	if err := json.Unmarshal(res.Body, &list); err != nil || len(list.Tokens) != 1 {
		t.Fatalf("tokens: %s (%v)", res.Body, err)
	}
	tok := list.Tokens[0]
	if tok["requests24h"] != 5.0 || tok["errors24h"] != 2.0 || tok["lastUsedAt"] == nil || tok["name"] != "test" {
		t.Errorf("token = %v, want 5 requests, 2 errors, a last use", tok)
	}
	if _, ok := tok["token"]; ok || strings.Contains(string(res.Body), "sfw_") {
		t.Errorf("the token list shows a secret: %s", res.Body)
	}
	id := tok["id"].(string)
	res = env.Do(env.AdminToken, "GET", "/api/v1/scim/tokens/"+id+"/errors", nil)
	var errs struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(res.Body, &errs); err != nil || res.Status != http.StatusOK || len(errs.Errors) != 2 {
		t.Fatalf("errors: %d %s", res.Status, res.Body)
	}
	newest, oldest := errs.Errors[0], errs.Errors[1]
	if newest["method"] != "POST" || newest["path"] != "/scim/v2/Users" || newest["status"] != 400.0 || newest["scimType"] != "invalidValue" || newest["detail"] == "" || newest["time"] == nil {
		t.Errorf("newest error = %v", newest)
	}
	if oldest["method"] != "GET" || oldest["status"] != 404.0 || oldest["path"] != "/scim/v2/Users/no-such-user" {
		t.Errorf("oldest error = %v", oldest)
	}

	// Another org's token, and an admin token, are not this org's SCIM tokens.
	for _, bad := range foreignTokenIDs(t, env) {
		res := env.Do(env.AdminToken, "GET", "/api/v1/scim/tokens/"+bad+"/errors", nil)
		if res.Status != http.StatusNotFound || !strings.Contains(string(res.Body), `"code":"not_found"`) {
			t.Errorf("errors of token %s: %d %s, want a plain 404", bad, res.Status, res.Body)
		}
	}

	b := newBrowser(t, env)
	b.login(env.AdminToken)
	wantPage(t, b.get("/admin/tokens"), http.StatusOK, `data-label="Requests (24 h)">5</td>`, `/admin/tokens/`+id+`/errors`)
	wantPage(t, b.get("/admin/tokens/"+id+"/errors"), http.StatusOK, "POST /scim/v2/Users", "invalidValue", "GET /scim/v2/Users/no-such-user", "404")
	for _, bad := range foreignTokenIDs(t, env) {
		wantPage(t, b.get("/admin/tokens/"+bad+"/errors"), http.StatusNotFound, "Not found")
	}
	if p := b.get("/admin/scim/groups"); strings.Contains(p.body, `class="banner"`) {
		t.Errorf("a banner with 2 errors in 5 requests:\n%s", p.body)
	}

	// A high error rate is shown on every page.
	for i := 0; i < 10; i++ {
		env.SCIM("GET", "/scim/v2/Groups/nope", nil)
	}
	for _, path := range []string{"/admin/scim/groups", "/admin/users", "/admin/docs/okta"} {
		wantPage(t, b.get(path), http.StatusOK, `class="banner"`, "12 of 15 SCIM requests failed in the last 24 hours.")
	}
}

// foreignTokenIDs returns the id of another org's SCIM token and of this
// org's admin token.
func foreignTokenIDs(t *testing.T, env *testenv.Env) []string {
	t.Helper()
	ctx := context.Background()
	other, _, _ := env.NewOrg("Elsewhere", scimflow.PlanBusiness)
	theirs, err := env.DB.ListTokens(ctx, other, scimflow.ScopeSCIM)
	if err != nil || len(theirs) == 0 {
		t.Fatalf("other org's tokens: %v %v", theirs, err)
	}
	admins, err := env.DB.ListTokens(ctx, env.OrgID, scimflow.ScopeAdmin)
	if err != nil || len(admins) == 0 {
		t.Fatalf("admin tokens: %v %v", admins, err)
	}
	return []string{theirs[0].ID, admins[0].ID}
}

func TestUIProvisioningBanners(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.Server(t)
	b := newBrowser(t, env)
	b.login(env.AdminToken)
	if p := b.get("/admin/scim/groups"); strings.Contains(p.body, `class="banner"`) {
		t.Errorf("a banner on a fresh org:\n%s", p.body)
	}

	// Quiet for two days since the last request.
	sqlDB, err := env.DB.SQL()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, `UPDATE api_tokens SET created_at = now() - interval '30 days', last_used_at = now() - interval '2 days'
		WHERE org_id = $1 AND scope = 'scim'`, env.OrgID); err != nil {
		t.Fatal(err)
	}
	wantPage(t, b.get("/admin/entry-points"), http.StatusOK, "No SCIM request has arrived for over 24 hours (the last one on")

	// A token that expires soon, and one that expired.
	if _, _, err := env.DB.CreateToken(ctx, env.OrgID, store.NewToken{Scope: scimflow.ScopeSCIM, Name: "Okta", ExpiresIn: 3 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	p := b.get("/admin/users")
	wantPage(t, p, http.StatusOK, "The SCIM token “Okta” expires in 3 days")
	if strings.Contains(p.body, "No SCIM request has arrived") {
		t.Errorf("a new token resets the quiet period, but the page still warns:\n%s", p.body)
	}
	if _, err := sqlDB.ExecContext(ctx, `UPDATE api_tokens SET expires_at = now() - interval '1 day' WHERE name = 'Okta' AND org_id = $1`, env.OrgID); err != nil {
		t.Fatal(err)
	}
	wantPage(t, b.get("/admin/tokens"), http.StatusOK, "The SCIM token “Okta” expired on")
}

func TestUIRecalculations(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	uid := createUser(t, env, env.SCIMToken, "ann@example.com")
	gid := createGroup(t, env, "Finance", uid)
	other := createGroup(t, env, "Support")
	res := env.Do(env.AdminToken, "POST", "/api/v1/entry-points", map[string]any{"name": "Invoices"})
	ep := res.JSON(t)["id"].(string)
	b := newBrowser(t, env)
	b.login(env.AdminToken)
	wantPage(t, b.get("/admin/recalculations"), http.StatusOK, "No recalculation yet")

	if res := env.Do(env.AdminToken, "PUT", "/api/v1/scim/groups/"+gid+"/entry-points",
		map[string]any{"entryPoints": []map[string]string{{"id": ep, "role": "viewer"}}}); res.Status != http.StatusAccepted {
		t.Fatalf("update group: %d %s", res.Status, res.Body)
	}
	// No engine runs: the recalculation stays pending.
	p := b.get("/admin/recalculations")
	wantPage(t, p, http.StatusOK, `/admin/scim/groups/`+gid+`?recalculation=`, ">Finance</a>", `data-status="pending"`, "pending</span> since")
	list := b.get("/admin/scim/groups")
	wantPage(t, list, http.StatusOK, "pending</span> since", "none yet")
	if !strings.Contains(list.body, other) {
		t.Errorf("groups list lacks Support")
	}
	wantPage(t, b.get("/admin/scim/groups/"+gid), http.StatusOK, "(mapping included)")
}
