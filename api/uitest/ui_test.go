package uitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// chromium returns the path of Debian's Chromium, or skips the test (fails
// it under TEST_REQUIRE_INTEGRATION=1) when it is not installed.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testenv.Required() {
		t.Fatal("Chromium is missing (TEST_REQUIRE_INTEGRATION=1): apt-get install -y chromium")
	}
	t.Skip("skipping browser test: Chromium is not installed (apt-get install -y chromium)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile for t.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// artifacts is where screenshots go: testdata/artifacts at the top of the
// repository (gitignored).
func artifacts(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "artifacts", t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type session struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func (s *session) do(actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.ctx, actions...); err != nil {
		s.t.Fatalf("browser: %v", err)
	}
}

func (s *session) text(sel string) string {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		s.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func eval[T any](s *session, js string) T {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		s.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// shot saves a full-page PNG named after the step.
func (s *session) shot(step string) {
	s.t.Helper()
	buf, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", step, err)
	}
	s.n++
	name := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, strings.ReplaceAll(step, " ", "-")))
	if err := os.WriteFile(name, buf, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func wantContains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// TestUpdateGroupInBrowser is the Org Admin's path through the dashboard:
// sign in, open a group, map two entry points, confirm, watch the
// recalculation complete, reload, and check a member's access.
func TestUpdateGroupInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	env := testenv.Server(t)
	env.Engine(250) // a real Temporal server and worker; small batches so progress is visible

	admin := func(method, path string, body any) map[string]any {
		t.Helper()
		res := env.Do(env.AdminToken, method, path, body)
		if res.Status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
		}
		return res.JSON(t)
	}
	ep := map[string]string{}
	for _, name := range []string{"Customer onboarding", "Invoices", "Quality handbook", "Warehouse"} {
		ep[name] = admin("POST", "/api/v1/entry-points", map[string]any{"name": name})["id"].(string)
	}
	const members = 3000
	prefix := testenv.SeedUsers(t, env.DB, env.OrgID, members)
	gid := testenv.SeedGroup(t, env.DB, env.OrgID, "Sales EMEA", prefix, members)
	for _, name := range []string{"Engineering", "Finance", "Support"} {
		if res := env.SCIM("POST", "/scim/v2/Groups", map[string]any{"displayName": name}); res.Status != http.StatusCreated {
			t.Fatalf("create group %s: %d %s", name, res.Status, res.Body)
		}
	}

	s := &session{t: t, ctx: ctx, dir: artifacts(t)}

	// Sign in.
	s.do(chromedp.Navigate(env.URL+"/admin/scim/groups"), chromedp.WaitVisible(chromedp.ID("token")))
	s.do(chromedp.SendKeys(chromedp.ID("token"), env.AdminToken))
	s.shot("sign in")
	s.do(chromedp.Click(chromedp.CSS(`button[type=submit].primary`)), chromedp.WaitVisible(chromedp.CSS("table.groups")))
	wantContains(t, "groups list", s.text("table.groups"), "Sales EMEA", "3000", "Engineering")
	s.shot("groups")

	// Open the group.
	s.do(chromedp.Click(chromedp.CSS(`a[href="/admin/scim/groups/`+gid+`"]`)), chromedp.WaitVisible(chromedp.ID("mappings-h")))
	if got := eval[string](s, `document.getElementById("group-id").value`); got != gid {
		t.Errorf("SCIM ID field = %q, want %q", got, gid)
	}
	if !eval[bool](s, `document.getElementById("group-id").readOnly && document.getElementById("group-name").readOnly`) {
		t.Errorf("name and SCIM ID are editable")
	}
	inv, qual := ep["Invoices"], ep["Quality handbook"]
	if !eval[bool](s, `document.getElementById("role-`+inv+`").disabled`) {
		t.Errorf("the role selector of an unticked entry point is enabled")
	}
	s.shot("group")

	// Tick two entry points (one with the mouse, one with the keyboard)
	// and choose their roles.
	s.do(chromedp.Click(chromedp.ID("ep-" + inv)))
	s.do(chromedp.Focus(chromedp.ID("ep-"+qual)), chromedp.KeyEvent(" "))
	if !eval[bool](s, `document.getElementById("ep-`+qual+`").checked && !document.getElementById("role-`+qual+`").disabled`) {
		t.Fatalf("space on the checkbox did not tick it and enable its role selector")
	}
	s.do(chromedp.SetValue(chromedp.ID("role-"+inv), "approver"), chromedp.SetValue(chromedp.ID("role-"+qual), "reporter"))
	s.shot("mapping chosen")

	// Update Group, then the confirmation.
	s.do(chromedp.Click(chromedp.ID("update-group")), chromedp.WaitVisible(chromedp.ID("confirm-update")))
	wantContains(t, "confirmation", s.text("ul.changes"), "Add Invoices as Approver", "Add Quality handbook as Reporter")
	s.shot("confirm")

	// Apply and watch the progress until it completes.
	s.do(chromedp.Click(chromedp.ID("confirm-update")), chromedp.WaitVisible(chromedp.ID("recalc-bar")))
	seen := map[string]bool{}
	var last string
	sawRunning := false
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status := eval[string](s, `document.getElementById("progress").dataset.status`)
		last = s.text("#recalc-text")
		seen[status] = true
		// One screenshot of the bar part-way, when the timing allows it.
		if status == "running" && !sawRunning && !strings.HasPrefix(last, "0 of") {
			sawRunning = true
			s.shot("progress")
		}
		if status == "completed" || status == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recalculation not finished after 2 minutes; status %s, %q", status, last)
		}
		time.Sleep(50 * time.Millisecond) // polling a page, not synchronising goroutines
	}
	s.shot("completed")
	if !seen["completed"] {
		t.Fatalf("recalculation failed: %s (%s)", last, s.text("#recalc-error"))
	}
	wantContains(t, "progress text", last, "Completed: 3000 of 3000 users processed")
	if v := eval[float64](s, `document.getElementById("recalc-bar").value / document.getElementById("recalc-bar").max`); v != 1 {
		t.Errorf("progress bar at %v, want full", v)
	}
	t.Logf("progress states seen: %v", seen)

	// Reload: the saved mapping is shown.
	s.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("mappings-h")))
	state := eval[[]byte](s, `JSON.stringify([...document.querySelectorAll("li.mapping")].map(li => ({
		name: li.querySelector("label").textContent.trim(),
		checked: li.querySelector("input[type=checkbox]").checked,
		role: li.querySelector("select").value,
		disabled: li.querySelector("select").disabled})))`)
	var rows []struct {
		Name     string
		Checked  bool
		Role     string
		Disabled bool
	}
	var raw string
	if err := json.Unmarshal(state, &raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &rows); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Invoices": "approver", "Quality handbook": "reporter"}
	for _, r := range rows {
		if r.Checked != (want[r.Name] != "") || (r.Checked && r.Role != want[r.Name]) || r.Disabled == r.Checked {
			t.Errorf("after reload, %s: checked %v role %q disabled %v; want %q", r.Name, r.Checked, r.Role, r.Disabled, want[r.Name])
		}
	}
	if len(rows) != 4 {
		t.Errorf("after reload: %d entry points, want 4", len(rows))
	}
	s.shot("reloaded")

	// The user page shows the new access and the group that grants it.
	s.do(chromedp.Click(chromedp.CSS("table.people a")), chromedp.WaitVisible(chromedp.ID("access-h")))
	wantContains(t, "user access", s.text("table.access"), "Invoices", "Approver", "Quality handbook", "Reporter", "Sales EMEA")
	s.shot("user access")

	// A narrow window: the same pages stay usable.
	s.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(env.URL+"/admin/scim/groups/"+gid),
		chromedp.WaitVisible(chromedp.ID("mappings-h")))
	if overflow := eval[bool](s, `document.documentElement.scrollWidth > window.innerWidth + 1`); overflow {
		t.Errorf("the group page scrolls sideways on a 390px window")
	}
	s.shot("group narrow")
}

// TestTokensAndPrerequisitesInBrowser creates a SCIM token (the secret
// shown once), sees the expiry warning, revokes every SCIM token and sees
// the dashboard say which prerequisite is missing.
func TestTokensAndPrerequisitesInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	env := testenv.Server(t)
	s := &session{t: t, ctx: ctx, dir: artifacts(t)}

	s.do(chromedp.Navigate(env.URL+"/admin/tokens"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), env.AdminToken), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.ID("create-h")))
	s.do(chromedp.SendKeys(chromedp.ID("token-name"), "Entra ID production"), chromedp.SetValue(chromedp.ID("token-expiry"), "720h"),
		chromedp.Submit(chromedp.ID("token-name")), chromedp.WaitVisible(chromedp.ID("token-secret")))
	secret := eval[string](s, `document.getElementById("token-secret").value`)
	if res := env.Do(secret, "GET", "/scim/v2/Users", nil); res.Status != http.StatusOK {
		t.Errorf("the secret shown does not authenticate: %d", res.Status)
	}
	s.shot("token created")

	ctxDB := context.Background()
	if _, _, err := env.DB.CreateToken(ctxDB, env.OrgID, store.NewToken{Scope: scimflow.ScopeSCIM, Name: "Okta (old)", ExpiresIn: 6 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	s.do(chromedp.Navigate(env.URL+"/admin/tokens"), chromedp.WaitVisible(chromedp.CSS("p.warning")))
	wantContains(t, "tokens page", s.text("main"), "1 token expires within 14 days", "expires in 6 days")
	if strings.Contains(s.text("main"), secret) {
		t.Errorf("the secret is shown again")
	}
	s.shot("expiry warning")

	toks, _ := env.DB.ListTokens(ctxDB, env.OrgID, scimflow.ScopeSCIM)
	for _, tk := range toks {
		env.DB.RevokeToken(ctxDB, env.OrgID, tk.ID)
	}
	s.do(chromedp.Navigate(env.URL+"/admin/scim/groups"), chromedp.WaitVisible(chromedp.CSS(".callout")))
	wantContains(t, "prerequisites page", s.text("main"), "Missing: An active SCIM provisioning integration", "scim_integration_inactive", "Create a SCIM token")
	s.shot("prerequisite missing")
}
