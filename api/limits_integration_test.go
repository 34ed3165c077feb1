package api_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/api"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/testenv"
)

// withLimits serves env's API again with other limits.
func withLimits(t testing.TB, env *testenv.Env, l api.Limits) *testenv.Env {
	t.Helper()
	srv := *env.Server
	srv.Limits = l
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	out := *env
	out.URL = hs.URL
	return &out
}

// TestRateLimitPerToken: past its burst a token gets 429 with Retry-After
// in its surface's error format; another token of the same org is not
// affected.
func TestRateLimitPerToken(t *testing.T) {
	t.Parallel()
	env := withLimits(t, testenv.Server(t), api.Limits{Rate: 0.01, Burst: 2})
	for i := range 2 {
		if res := env.SCIM("GET", "/scim/v2/Users?count=1", nil); res.Status != 200 {
			t.Fatalf("request %d within the burst: %d %s", i+1, res.Status, res.Body)
		}
	}
	res := env.SCIM("GET", "/scim/v2/Users?count=1", nil)
	wantSCIMError(t, res, http.StatusTooManyRequests, "")
	if ra := res.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q, want a positive number of seconds", ra)
	}
	// The admin token has its own bucket, and its 429 is admin JSON.
	for range 2 {
		env.Do(env.AdminToken, "GET", "/api/v1/roles", nil)
	}
	wantAdminError(t, env.Do(env.AdminToken, "GET", "/api/v1/roles", nil), http.StatusTooManyRequests, "rate_limited")
}

// TestRequestBoundsBeforeAuth: body caps hold before authentication (the
// sign-in form included), and a few edge requests get clean answers.
func TestRequestBoundsBeforeAuth(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)

	// A 2 MiB multipart sign-in form: refused as too large, unread.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("token", "big.bin")
	fw.Write(bytes.Repeat([]byte("x"), 2<<20))
	mw.Close()
	req, _ := http.NewRequest("POST", env.URL+"/admin/login", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB sign-in form: %d, want 413", res.StatusCode)
	}
	// A 5 MiB SCIM body: without a token it is refused unread (401);
	// with one, reading stops at the cap (413).
	big := `{"userName":"` + strings.Repeat("x", 5<<20) + `"}`
	if res := env.Do("", "POST", "/scim/v2/Users", big); res.Status != http.StatusUnauthorized {
		t.Errorf("unauthenticated 5 MiB body: %d, want 401", res.Status)
	}
	if res := env.SCIM("POST", "/scim/v2/Users", big); res.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("authenticated 5 MiB body: %d, want 413", res.Status)
	}

	// A trailing slash is the same resource, not a redirect with HTML.
	if res := env.SCIM("GET", "/scim/v2/Users/", nil); res.Status != 200 || !strings.Contains(string(res.Body), "ListResponse") {
		t.Errorf("GET /scim/v2/Users/ = %d %s", res.Status, res.Body)
	}
	// A page number whose offset would overflow.
	wantAdminError(t, env.Do(env.AdminToken, "GET", fmt.Sprintf("/api/v1/entry-points?page=%d", int64(1)<<62), nil), 400, "invalid")
	// A Host header that is not a host never reaches meta.location.
	uid := createUser(t, env, env.SCIMToken, "host@example.com")
	res2 := env.SCIM("GET", "/scim/v2/Users/"+uid, nil, "Host: evil.example!'x")
	if res2.Status != 200 || strings.Contains(string(res2.Body), "evil") {
		t.Errorf("meta.location follows a forged Host: %d %s", res2.Status, res2.Body)
	}
}

// TestOverLimitUserCanBeDeprovisioned: a user stored with more values
// than today's limit (stored before the limits existed) can still be
// patched, deactivation first of all; adding to the attribute is refused.
func TestOverLimitUserCanBeDeprovisioned(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	u := &scimflow.User{UserName: "many@example.com", Active: true}
	for i := range 150 {
		u.Emails = append(u.Emails, scimflow.MultiValue{Value: fmt.Sprintf("e%d@example.com", i), Type: "work"})
	}
	u, err := env.DB.CreateUser(context.Background(), env.OrgID, u)
	if err != nil {
		t.Fatal(err)
	}
	res := env.SCIM("PATCH", "/scim/v2/Users/"+u.ID, patchOp(map[string]any{"op": "replace", "path": "active", "value": false}))
	if res.Status != 200 {
		t.Fatalf("deactivating a user with 150 stored emails: %d %s", res.Status, res.Body)
	}
	res = env.SCIM("PATCH", "/scim/v2/Users/"+u.ID, patchOp(map[string]any{"op": "add", "path": "emails", "value": []any{map[string]any{"value": "more@example.com"}}}))
	wantSCIMError(t, res, 400, "invalidValue")
}
