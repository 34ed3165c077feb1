package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// browser is an HTTP client with cookies that does not follow redirects,
// so that tests see them.
type browser struct {
	t   *testing.T
	env *testenv.Env
	c   *http.Client
}

func newBrowser(t *testing.T, env *testenv.Env) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t, env, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, headers ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.env.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(raw)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do("POST", path, form)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the forms of the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := csrfInput.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("GET %s (%d): no csrf field in\n%s", path, p.status, p.body)
	}
	return m[1]
}

// login signs in with token and fails the test unless it works.
func (b *browser) login(token string) {
	b.t.Helper()
	p := b.tryLogin(token)
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("login: %d, want 303\n%s", p.status, p.body)
	}
}

func (b *browser) tryLogin(token string) page {
	b.t.Helper()
	return b.post("/admin/login", url.Values{"csrf": {b.csrf("/admin/login")}, "token": {token}, "next": {"/admin/scim/groups"}})
}

func wantPage(t *testing.T, p page, status int, contains ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status = %d, want %d\n%s", p.status, status, p.body)
	}
	for _, s := range contains {
		if !strings.Contains(p.body, s) {
			t.Errorf("page does not contain %q\n%s", s, p.body)
		}
	}
}

func TestUILogin(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	b := newBrowser(t, env)

	p := b.get("/admin/scim/groups?q=x")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/login?next="+url.QueryEscape("/admin/scim/groups?q=x") {
		t.Fatalf("without a session: %d Location %q, want 303 to the sign-in page", p.status, p.header.Get("Location"))
	}
	wantPage(t, b.get("/admin/login"), 200, `<label for="token">Admin token</label>`)

	for _, tc := range []struct {
		name, token, want string
	}{
		{"unknown", "sfw_nope", "not valid"},
		{"SCIM token", env.SCIMToken, "Sign in with an admin token"},
	} {
		wantPage(t, b.tryLogin(tc.token), http.StatusUnauthorized, tc.want)
	}
	// Login CSRF: a sign-in form posted without the login cookie's token.
	wantPage(t, b.post("/admin/login", url.Values{"token": {env.AdminToken}}), http.StatusForbidden, "Nothing was changed")

	login := b.tryLogin(env.AdminToken)
	if login.status != http.StatusSeeOther || login.header.Get("Location") != "/admin/scim/groups" {
		t.Fatalf("login: %d Location %q", login.status, login.header.Get("Location"))
	}
	cookie := sessionCookieOf(t, login)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.Path != "/admin" {
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, not Secure over http, Path /admin", cookie)
	}
	wantPage(t, b.get("/admin/scim/groups"), 200, "SCIM groups", "No groups yet", `href="/admin/docs/entra-id"`)

	// Behind a TLS-terminating proxy the cookie is Secure.
	b2 := newBrowser(t, env)
	tok := b2.csrf("/admin/login")
	secure := b2.do("POST", "/admin/login", url.Values{"csrf": {tok}, "token": {env.AdminToken}}, "X-Forwarded-Proto: https")
	if c := sessionCookieOf(t, secure); !c.Secure {
		t.Errorf("session cookie over https = %+v, want Secure", c)
	}

	// Sign-out ends the session on the server, not only in the browser.
	stolen := cookie.Value
	wantPage(t, b.post("/admin/logout", url.Values{"csrf": {b.csrf("/admin/scim/groups")}}), http.StatusSeeOther)
	if p := withSession(t, env, stolen, "/admin/scim/groups"); p.status != http.StatusSeeOther {
		t.Errorf("session after sign-out: %d, want a redirect to sign in", p.status)
	}

	// Revoking the admin token ends the sessions opened with it.
	b.login(env.AdminToken)
	wantPage(t, b.get("/admin/scim/groups"), 200)
	ctx := context.Background()
	admins, _ := env.DB.ListTokens(ctx, env.OrgID, scimflow.ScopeAdmin)
	for _, a := range admins {
		env.DB.RevokeToken(ctx, env.OrgID, a.ID)
	}
	if p := b.get("/admin/scim/groups"); p.status != http.StatusSeeOther {
		t.Errorf("session of a revoked token: %d, want a redirect to sign in", p.status)
	}
	if p := b.get("/admin/api/recalculations/x"); p.status != http.StatusUnauthorized {
		t.Errorf("progress JSON without a session: %d, want 401", p.status)
	}
}

func sessionCookieOf(t *testing.T, p page) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "scimflow_session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", p.header)
	return nil
}

func withSession(t *testing.T, env *testenv.Env, secret, path string) page {
	t.Helper()
	b := newBrowser(t, env)
	u, _ := url.Parse(env.URL + "/admin/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "scimflow_session", Value: secret, Path: "/admin"}})
	return b.get(path)
}

func TestUISafeNext(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	for _, next := range []string{"https://evil.example/admin/x", "//evil.example/admin/", "/\\evil.example", "/api/v1/roles"} {
		b := newBrowser(t, env)
		p := b.post("/admin/login", url.Values{"csrf": {b.csrf("/admin/login")}, "token": {env.AdminToken}, "next": {next}})
		if got := p.header.Get("Location"); got != "/admin/scim/groups" {
			t.Errorf("login with next=%q redirects to %q, want /admin/scim/groups", next, got)
		}
	}
}

// TestUICSRF posts every form without its token (and with another
// session's token): each is refused with 403 and changes nothing.
func TestUICSRF(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.Server(t)
	gid := createGroup(t, env, "Sales")
	ep := newAdmin(t, env).createEntryPoint("Invoices")
	b := newBrowser(t, env)
	b.login(env.AdminToken)
	other := newBrowser(t, env)
	other.login(env.AdminToken)
	foreign := other.csrf("/admin/tokens")

	tokensBefore, _ := env.DB.ListTokens(ctx, env.OrgID, "")
	mapping := url.Values{"ep": {ep}, "role." + ep: {"approver"}}
	for _, path := range []string{"/admin/scim/groups/" + gid + "/apply", "/admin/tokens", "/admin/tokens/" + tokensBefore[0].ID + "/revoke", "/admin/logout"} {
		for _, tok := range []string{"", foreign, "x"} {
			form := url.Values{"name": {"sneaky"}, "expiresIn": {"720h"}}
			for k, v := range mapping {
				form[k] = v
			}
			if tok != "" {
				form.Set("csrf", tok)
			}
			wantPage(t, b.post(path, form), http.StatusForbidden, "Nothing was changed")
		}
	}
	if ms, _ := env.DB.GroupMappings(ctx, env.OrgID, gid); len(ms) != 0 {
		t.Errorf("mappings after refused posts = %v, want none", ms)
	}
	if rec, _ := env.DB.LatestRecalculation(ctx, env.OrgID, gid); rec != nil {
		t.Errorf("a recalculation was recorded: %+v", rec)
	}
	tokensAfter, _ := env.DB.ListTokens(ctx, env.OrgID, "")
	if len(tokensAfter) != len(tokensBefore) {
		t.Errorf("tokens: %d before, %d after refused posts", len(tokensBefore), len(tokensAfter))
	}
	for _, tk := range tokensAfter {
		if tk.RevokedAt != nil {
			t.Errorf("token %s was revoked by a refused post", tk.ID)
		}
	}
	wantPage(t, b.get("/admin/scim/groups"), 200) // still signed in

	// With the token, the same post applies the mapping.
	mapping.Set("csrf", b.csrf("/admin/scim/groups/"+gid))
	p := b.post("/admin/scim/groups/"+gid+"/apply", mapping)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/admin/scim/groups/"+gid+"?recalculation=") {
		t.Fatalf("apply: %d Location %q", p.status, p.header.Get("Location"))
	}
	ms, _ := env.DB.GroupMappings(ctx, env.OrgID, gid)
	if len(ms) != 1 || ms[0].EntryPointID != ep || ms[0].Role != "approver" {
		t.Errorf("mappings = %+v, want Invoices as approver", ms)
	}
}

// TestUIPrerequisites turns each prerequisite off alone: the dashboard
// says which one is missing and what to do, with the admin API's code.
func TestUIPrerequisites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.Server(t)
	gid := createGroup(t, env, "Sales")
	b := newBrowser(t, env)
	b.login(env.AdminToken)
	sqlDB, err := env.DB.SQL()
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := sqlDB.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	free, business, off, on := scimflow.PlanFree, scimflow.PlanBusiness, false, true
	for _, tc := range []struct {
		name       string
		off, on    func()
		code, what string
	}{
		{"free plan",
			func() { env.DB.UpdateOrg(ctx, env.OrgID, store.OrgUpdate{Plan: &free}) },
			func() { env.DB.UpdateOrg(ctx, env.OrgID, store.OrgUpdate{Plan: &business}) },
			"plan_not_supported", "--plan business"},
		{"not an Org Admin",
			func() { exec("UPDATE users SET org_role = 'member' WHERE org_id = $1", env.OrgID) },
			func() {
				exec("UPDATE users SET org_role = 'org_admin' WHERE org_id = $1 AND source = 'local'", env.OrgID)
			},
			"not_org_admin", "Ask an Org Admin"},
		{"feature off",
			func() { env.DB.UpdateOrg(ctx, env.OrgID, store.OrgUpdate{SCIMGroups: &off}) },
			func() { env.DB.UpdateOrg(ctx, env.OrgID, store.OrgUpdate{SCIMGroups: &on}) },
			"scim_groups_disabled", "--scim-groups=true"},
		{"no SCIM token",
			func() {
				toks, _ := env.DB.ListTokens(ctx, env.OrgID, scimflow.ScopeSCIM)
				for _, tk := range toks {
					env.DB.RevokeToken(ctx, env.OrgID, tk.ID)
				}
			},
			func() { env.DB.CreateToken(ctx, env.OrgID, store.NewToken{Scope: scimflow.ScopeSCIM}) },
			"scim_integration_inactive", `href="/admin/tokens"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.off()
			for _, path := range []string{"/admin/scim/groups", "/admin/scim/groups/" + gid} {
				wantPage(t, b.get(path), http.StatusForbidden, "The SCIM dashboard is not available yet", "<code>"+tc.code+"</code>", tc.what, "(missing)")
			}
			// The progress JSON answers like the admin API.
			wantPage(t, b.get("/admin/api/recalculations/any"), http.StatusForbidden, `"code":"`+tc.code+`"`)
			tc.on()
			wantPage(t, b.get("/admin/scim/groups"), 200, "Sales")
		})
	}
	// The tokens page fixes the last prerequisite, so it needs only the
	// first two.
	env.DB.UpdateOrg(ctx, env.OrgID, store.OrgUpdate{SCIMGroups: &off})
	wantPage(t, b.get("/admin/tokens"), 200, "Create a token")
}

func TestUIGroupsList(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	u := createUser(t, env, env.SCIMToken, "ann@example.com")
	for i := 0; i < 30; i++ {
		createGroup(t, env, "Team "+string(rune('A'+i%26))+strings.Repeat("x", i/26), u)
	}
	createGroup(t, env, "Finance <admins>")
	b := newBrowser(t, env)
	b.login(env.AdminToken)

	wantPage(t, b.get("/admin/scim/groups"), 200, "Page 1 of 2 · 31 groups", `rel="next"`, "Finance &lt;admins&gt;")
	p := b.get("/admin/scim/groups?page=2")
	wantPage(t, p, 200, "Page 2 of 2", `rel="prev"`)
	if strings.Contains(p.body, `rel="next"`) {
		t.Errorf("last page has a next link")
	}
	p = b.get("/admin/scim/groups?q=finance")
	wantPage(t, p, 200, "Finance &lt;admins&gt;", "Page 1 of 1 · 1 group<")
	wantPage(t, b.get("/admin/scim/groups?q=nothing-like-it"), 200, "No group matches")
}

func TestUITokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.Server(t)
	b := newBrowser(t, env)
	b.login(env.AdminToken)
	p := b.get("/admin/tokens")
	wantPage(t, p, 200, "test", "active", "never")
	if strings.Contains(p.body, "within 14 days") {
		t.Errorf("warning shown without an expiring token")
	}

	env.DB.CreateToken(ctx, env.OrgID, store.NewToken{Scope: scimflow.ScopeSCIM, Name: "soon", ExpiresIn: 5 * 24 * time.Hour})
	wantPage(t, b.get("/admin/tokens"), 200, "1 token expires within 14 days", "expires in 5 days")

	p = b.post("/admin/tokens", url.Values{"csrf": {b.csrf("/admin/tokens")}, "name": {"Okta prod"}, "expiresIn": {"720h"}})
	wantPage(t, p, http.StatusCreated, "Copy the secret now")
	secret := regexp.MustCompile(`id="token-secret" type="text" value="(sfw_[^"]+)"`).FindStringSubmatch(p.body)
	if secret == nil {
		t.Fatalf("no secret on the page:\n%s", p.body)
	}
	if res := env.Do(secret[1], "GET", "/scim/v2/Users", nil); res.Status != 200 {
		t.Errorf("the new token does not work: %d %s", res.Status, res.Body)
	}
	list := b.get("/admin/tokens")
	if strings.Contains(list.body, secret[1]) {
		t.Errorf("the secret is shown again")
	}
	wantPage(t, list, 200, "Okta prod")

	toks, _ := env.DB.ListTokens(ctx, env.OrgID, scimflow.ScopeSCIM)
	var id string
	for _, tk := range toks {
		if tk.Name == "Okta prod" {
			id = tk.ID
		}
	}
	p = b.post("/admin/tokens/"+id+"/revoke", url.Values{"csrf": {b.csrf("/admin/tokens")}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d\n%s", p.status, p.body)
	}
	wantPage(t, b.get(p.header.Get("Location")), 200, "Token “Okta prod” revoked", "revoked")
	if res := env.Do(secret[1], "GET", "/scim/v2/Users", nil); res.Status != 401 {
		t.Errorf("revoked token: %d, want 401", res.Status)
	}
	// Admin tokens are not managed on this page.
	admins, _ := env.DB.ListTokens(ctx, env.OrgID, scimflow.ScopeAdmin)
	wantPage(t, b.post("/admin/tokens/"+admins[0].ID+"/revoke", url.Values{"csrf": {b.csrf("/admin/tokens")}}), http.StatusNotFound)
	wantPage(t, b.post("/admin/tokens", url.Values{"csrf": {b.csrf("/admin/tokens")}, "name": {""}, "expiresIn": {"720h"}}), http.StatusUnprocessableEntity, "Give the token a name")
}

// TestUIGroupPage walks Update Group without a browser: the confirmation
// lists the changes, applying records them, and the user page explains
// the access once recalculated.
func TestUIGroupPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.Server(t)
	a := newAdmin(t, env)
	invoices, reports, hr := a.createEntryPoint("Invoices"), a.createEntryPoint("Reports"), a.createEntryPoint("HR")
	u := createUser(t, env, env.SCIMToken, "ann@example.com")
	gid := createGroup(t, env, "Sales", u)
	if res := a.do("PUT", "/api/v1/scim/groups/"+gid+"/entry-points", map[string]any{"entryPoints": []any{
		map[string]any{"id": hr, "role": "viewer"}, map[string]any{"id": reports, "role": "viewer"}}}); res.Status != 202 {
		t.Fatalf("seed mapping: %d %s", res.Status, res.Body)
	}
	b := newBrowser(t, env)
	b.login(env.AdminToken)

	wantPage(t, b.get("/admin/scim/groups/"+gid), 200, `value="`+gid+`" readonly`, `data-copy="group-id"`,
		`id="ep-`+hr+`" name="ep" value="`+hr+`" data-role="role-`+hr+`" checked`, "Update Group", "ann@example.com")
	csrf := b.csrf("/admin/scim/groups/" + gid)

	// A ticked entry point without a role is sent back with an error.
	wantPage(t, b.post("/admin/scim/groups/"+gid+"/preview", url.Values{"csrf": {csrf}, "ep": {invoices}}), http.StatusUnprocessableEntity,
		"Choose a role for every selected entry point: Invoices.")

	form := url.Values{"csrf": {csrf}, "ep": {invoices, reports}, "role." + invoices: {"approver"}, "role." + reports: {"reporter"}, "role." + hr: {"admin"}}
	p := b.post("/admin/scim/groups/"+gid+"/preview", form)
	wantPage(t, p, 200, "<strong>Add</strong> Invoices as <strong>Approver</strong>",
		"<strong>Change</strong> Reports from Viewer to <strong>Reporter</strong>", "<strong>Remove</strong> HR (was Viewer)")
	if ms, _ := env.DB.GroupMappings(ctx, env.OrgID, gid); len(ms) != 2 || ms[0].Role != "viewer" {
		t.Errorf("the preview changed the mapping: %+v", ms)
	}

	form.Del("role." + hr)
	p = b.post("/admin/scim/groups/"+gid+"/apply", form)
	loc := p.header.Get("Location")
	wantPage(t, p, http.StatusSeeOther)
	wantPage(t, b.get(loc), 200, `id="progress"`, "Permission recalculation")
	ms, _ := env.DB.GroupMappings(ctx, env.OrgID, gid)
	got := map[string]string{}
	for _, m := range ms {
		got[m.EntryPointID] = m.Role
	}
	if len(got) != 2 || got[invoices] != "approver" || got[reports] != "reporter" {
		t.Errorf("mapping = %v, want Invoices approver and Reports reporter", got)
	}
	rec := regexp.MustCompile(`recalculation=([^#&]+)`).FindStringSubmatch(loc)
	j := b.get("/admin/api/recalculations/" + rec[1])
	wantPage(t, j, 200, `"status":"pending"`, `"groupId":"`+gid+`"`)

	// Without an engine the recalculation stays pending; do it here.
	if _, err := env.DB.RecalculateUsers(ctx, env.OrgID, []string{u}, []string{invoices, reports, hr}); err != nil {
		t.Fatal(err)
	}
	wantPage(t, b.get("/admin/users/"+u), 200, "Invoices", "Approver", "Reporter", `href="/admin/scim/groups/`+gid+`">Sales</a>`)

	wantPage(t, b.get("/admin/scim/groups/nope"), http.StatusNotFound, "Not found")
	wantPage(t, b.get("/admin/users/nope"), http.StatusNotFound)
}

func TestUIGuides(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	b := newBrowser(t, env)
	for _, g := range []string{"entra-id", "okta", "onelogin", "jumpcloud", "pingone", "authentik", "google-workspace", "rippling", "microsoft-validator", "generic"} {
		p := b.get("/admin/docs/" + g)
		wantPage(t, p, 200, "<h1>", "<ol>", "<li>", "<code>", "troubleshooting")
		if strings.Contains(p.body, "```") || strings.Contains(p.body, "## ") {
			t.Errorf("%s: markdown left unrendered", g)
		}
	}
	wantPage(t, b.get("/admin/docs/../../etc/passwd"), http.StatusNotFound)
	wantPage(t, b.get("/admin/docs/nope"), http.StatusNotFound)
	p := b.get("/admin/static/ui.css")
	if p.status != 200 || !strings.Contains(p.header.Get("Content-Type"), "text/css") {
		t.Errorf("ui.css: %d %s", p.status, p.header.Get("Content-Type"))
	}
	if csp := b.get("/admin/login").header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
}

// TestUIStaleConfirmation: admin A opens the confirmation, admin B saves
// the group meanwhile; A's "Apply changes" must not silently overwrite B's
// mapping with a diff A never saw.
func TestUIStaleConfirmation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.Server(t)
	a := newAdmin(t, env)
	flows, reports := a.createEntryPoint("Flows"), a.createEntryPoint("Reports")
	gid := createGroup(t, env, "Ops")
	b := newBrowser(t, env)
	b.login(env.AdminToken)
	csrf := b.csrf("/admin/scim/groups/" + gid)
	form := url.Values{"csrf": {csrf}, "ep": {flows}, "role." + flows: {"viewer"}}
	p := b.post("/admin/scim/groups/"+gid+"/preview", form)
	wantPage(t, p, 200, `name="mappingVersion" value="0"`)

	// Admin B saves another mapping through the API.
	if res := a.do("PUT", "/api/v1/scim/groups/"+gid+"/entry-points", map[string]any{"entryPoints": []any{
		map[string]any{"id": reports, "role": "admin"}}}); res.Status != 202 {
		t.Fatal(res.Status)
	}
	form.Set("mappingVersion", "0")
	wantPage(t, b.post("/admin/scim/groups/"+gid+"/apply", form), http.StatusConflict, "changed meanwhile")
	ms, _ := env.DB.GroupMappings(ctx, env.OrgID, gid)
	if len(ms) != 1 || ms[0].EntryPointID != reports || ms[0].Role != "admin" {
		t.Errorf("mapping after the refused apply = %+v, want admin B's", ms)
	}
	// With the current version it applies.
	form.Set("mappingVersion", "1")
	wantPage(t, b.post("/admin/scim/groups/"+gid+"/apply", form), http.StatusSeeOther)
}
