package uitest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// screenshots is where TestConsoleInBrowser saves the README's pictures
// of the console when SCIMFLOW_SCREENSHOTS=1; "" otherwise.
func screenshots(t *testing.T) string {
	t.Helper()
	if os.Getenv("SCIMFLOW_SCREENSHOTS") != "1" {
		return ""
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// consoleOrg fills env's org the way a small company's directory looks:
// people with names and emails (one deactivated), groups, entry points, a
// mapping whose recalculation completed, and some SCIM traffic with
// failures. It returns the ids the pages need.
func consoleOrg(t *testing.T, env *testenv.Env) (groupID, userID, entryPointID, tokenID string) {
	t.Helper()
	people := []struct{ first, last string }{
		{"Ada", "Lovelace"}, {"Grace", "Hopper"}, {"Alan", "Turing"}, {"Katherine", "Johnson"}, {"Edsger", "Dijkstra"},
		{"Barbara", "Liskov"}, {"Donald", "Knuth"}, {"Margaret", "Hamilton"}, {"Ken", "Thompson"}, {"Frances", "Allen"},
	}
	var ids []string
	for _, p := range people {
		email := strings.ToLower(p.first+"."+p.last) + "@acme.example"
		res := env.SCIM("POST", "/scim/v2/Users", map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": email, "displayName": p.first + " " + p.last,
			"name":   map[string]any{"givenName": p.first, "familyName": p.last},
			"emails": []map[string]any{{"value": email, "type": "work", "primary": true}}})
		if res.Status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", email, res.Status, res.Body)
		}
		ids = append(ids, res.JSON(t)["id"].(string))
	}
	if res := env.SCIM("PATCH", "/scim/v2/Users/"+ids[4], testenv.PatchOp(map[string]any{"op": "replace", "path": "active", "value": false})); res.Status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", res.Status, res.Body)
	}
	groups := map[string][]string{"Finance": ids[:6], "Engineering": ids[2:], "Support": ids[7:], "Auditors": nil}
	for _, name := range []string{"Finance", "Engineering", "Support", "Auditors"} {
		res := env.SCIM("POST", "/scim/v2/Groups", map[string]any{"displayName": name, "members": testenv.Members(groups[name]...)})
		if res.Status != http.StatusCreated {
			t.Fatalf("create group %s: %d %s", name, res.Status, res.Body)
		}
		if name == "Finance" {
			groupID = res.JSON(t)["id"].(string)
		}
	}
	eps := map[string]string{}
	for _, name := range []string{"Invoices", "Customer onboarding", "Quality handbook", "Warehouse"} {
		res := env.Do(env.AdminToken, "POST", "/api/v1/entry-points", map[string]any{"name": name})
		if res.Status != http.StatusCreated {
			t.Fatalf("create entry point: %d %s", res.Status, res.Body)
		}
		eps[name] = res.JSON(t)["id"].(string)
	}
	res := env.Do(env.AdminToken, "PUT", "/api/v1/scim/groups/"+groupID+"/entry-points", map[string]any{"entryPoints": []map[string]string{
		{"id": eps["Invoices"], "role": "approver"}, {"id": eps["Quality handbook"], "role": "viewer"}}})
	if res.Status != http.StatusAccepted {
		t.Fatalf("update group: %d %s", res.Status, res.Body)
	}
	recID := res.JSON(t)["recalculation"].(map[string]any)["id"].(string)
	deadline := time.Now().Add(time.Minute)
	for {
		rec, err := env.DB.FindRecalculation(context.Background(), env.OrgID, recID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status == scimflow.RecalcCompleted {
			break
		}
		if rec.Status == scimflow.RecalcFailed || time.Now().After(deadline) {
			t.Fatalf("recalculation %s: %s %s", recID, rec.Status, rec.Error)
		}
		time.Sleep(100 * time.Millisecond) // polling the database, not synchronising goroutines
	}
	// Traffic, with an IdP's typical mistakes.
	env.SCIM("GET", "/scim/v2/Users?filter="+strings.ReplaceAll(`userName eq "ada.lovelace@acme.example"`, " ", "%20"), nil)
	env.SCIM("POST", "/scim/v2/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "ada.lovelace@acme.example"})
	env.SCIM("PATCH", "/scim/v2/Groups/"+groupID, testenv.PatchOp(map[string]any{"op": "add", "path": "members", "value": testenv.Members("no-such-user")}))
	toks, err := env.DB.ListTokens(context.Background(), env.OrgID, scimflow.ScopeSCIM)
	if err != nil || len(toks) == 0 {
		t.Fatalf("tokens: %v %v", toks, err)
	}
	if _, _, err := env.DB.CreateToken(context.Background(), env.OrgID, store.NewToken{Scope: scimflow.ScopeSCIM, Name: "Okta (old)", ExpiresIn: 5 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	return groupID, ids[0], eps["Invoices"], toks[0].ID
}

// TestConsoleInBrowser visits every page of the console, signed in, in a
// wide and a 400 px window: each loads with its navigation, scrolls no
// sideways at 400 px, and can be used from the keyboard. With
// SCIMFLOW_SCREENSHOTS=1 it saves the pictures the README shows.
func TestConsoleInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	env := testenv.Server(t)
	env.Engine(250)
	env.Server.TemporalUIURL = "http://127.0.0.1:8233"
	gid, uid, ep, tok := consoleOrg(t, env)
	s := &session{t: t, ctx: ctx, dir: artifacts(t)}
	out := screenshots(t)

	s.do(chromedp.Navigate(env.URL+"/admin/login"), chromedp.WaitVisible(chromedp.ID("token")))
	if out != "" {
		s.save(out, "sign-in")
	}
	s.do(chromedp.SendKeys(chromedp.ID("token"), env.AdminToken), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("table.groups")))

	pages := []struct {
		name, path, ready string
		want              []string
	}{
		{"groups", "/admin/scim/groups", "table.groups", []string{"Finance", "completed", "Auditors"}},
		{"group", "/admin/scim/groups/" + gid, "#members-h", []string{"Ada Lovelace", "deactivated", "Open the workflow in the Temporal UI", "Finished"}},
		{"entry-points", "/admin/entry-points", "table.entry-points", []string{"Invoices", "Finance as Approver"}},
		{"entry-point", "/admin/entry-points/" + ep, "#rename-h", []string{"5 users with access"}},
		{"entry-point-delete", "/admin/entry-points/" + ep + "/delete", "#confirm-delete", []string{"5 users lose access"}},
		{"people", "/admin/users", "table.people", []string{"10 users", "Ada Lovelace", "deactivated"}},
		{"people-search", "/admin/users?search=hopper", "table.people", []string{"1 user matches", "Grace Hopper"}},
		{"user", "/admin/users/" + uid, "#access-h", []string{"Invoices", "Approver", "Finance"}},
		{"recalculations", "/admin/recalculations", "table.recalculations", []string{"Finance", "completed", "Temporal UI"}},
		{"tokens", "/admin/tokens", "table.tokens", []string{"Okta (old)", "expires in 5 days"}},
		{"token-errors", "/admin/tokens/" + tok + "/errors", "table.failures", []string{"uniqueness", "POST /scim/v2/Users"}},
		{"guide", "/admin/docs/okta", "article.guide", []string{"Okta", "Sign out"}},
	}
	for _, p := range pages {
		s.do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(env.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		wantContains(t, p.name, s.text("body"), append(p.want, "Sign out", "Entry points", "People", "Recalculations")...)
		if out != "" {
			s.save(out, p.name)
		}
		// 400 px wide: nothing scrolls sideways.
		s.do(chromedp.EmulateViewport(400, 860, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		if wide := eval[string](s, `(() => { const w = window.innerWidth; const bad = [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > w + 1 && getComputedStyle(e).position !== "absolute"); return document.documentElement.scrollWidth > w + 1 ? bad.slice(0, 3).map(e => e.tagName + "." + e.className).join(",") || "document" : "" })()`); wide != "" {
			t.Errorf("%s scrolls sideways at 400 px: %s", p.name, wide)
		}
		if out != "" && (p.name == "groups" || p.name == "group" || p.name == "people") {
			s.save(out, p.name+"-400px")
		}
	}
	s.do(chromedp.EmulateViewport(1280, 900))

	// Keyboard only: the skip link comes first, then the navigation; the
	// search field is reachable and submits with Enter.
	s.do(chromedp.Navigate(env.URL+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("table.people")))
	var focused []string
	for i := 0; i < 4; i++ {
		s.do(chromedp.KeyEvent("\t"))
		focused = append(focused, eval[string](s, `document.activeElement.textContent.trim() || document.activeElement.id`))
	}
	if focused[0] != "Skip to content" || !strings.Contains(strings.Join(focused, "|"), "SCIM groups") {
		t.Errorf("tab order starts %q, want the skip link then the navigation", focused)
	}
	s.do(chromedp.Focus(chromedp.ID("search")), chromedp.SendKeys(chromedp.ID("search"), "turing\r"), chromedp.WaitVisible(chromedp.CSS("table.people")))
	wantContains(t, "search by keyboard", s.text("main"), "Alan Turing", "1 user matches")
	// Tab from the search field to the first person: the focus is visible.
	s.do(chromedp.Focus(chromedp.ID("search")))
	for i := 0; i < 6 && !eval[bool](s, `document.activeElement.matches("table.people a")`); i++ {
		s.do(chromedp.KeyEvent("\t"))
	}
	if got := eval[string](s, `document.activeElement.matches("table.people a") ? getComputedStyle(document.activeElement).outlineStyle : "not reached"`); got == "none" || got == "not reached" {
		t.Errorf("tabbing to the first person: outline %s", got)
	}

	// Create and delete an entry point with the keyboard alone.
	s.do(chromedp.Navigate(env.URL+"/admin/entry-points"), chromedp.WaitVisible(chromedp.ID("ep-name")))
	s.do(chromedp.Focus(chromedp.ID("ep-name")), chromedp.SendKeys(chromedp.ID("ep-name"), "Payroll\r"), chromedp.WaitVisible(chromedp.CSS(".flash")))
	wantContains(t, "created", s.text(".flash"), "Payroll")
}

// save writes a screenshot of the whole page to dir/name.png.
func (s *session) save(dir, name string) {
	s.t.Helper()
	buf, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		s.t.Fatal(err)
	}
}
