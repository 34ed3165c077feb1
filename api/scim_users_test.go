package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

func createUser(t *testing.T, env *testenv.Env, token, userName string) string {
	t.Helper()
	res := env.Do(token, "POST", "/scim/v2/Users", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": userName})
	if res.Status != http.StatusCreated {
		t.Fatalf("create %s: %d %s", userName, res.Status, res.Body)
	}
	return res.JSON(t)["id"].(string)
}

func wantSCIMError(t *testing.T, res *testenv.Response, status int, scimType string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status = %d, want %d; body %s", res.Status, status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/scim+json" {
		t.Errorf("Content-Type = %q, want application/scim+json", ct)
	}
	body := res.JSON(t)
	if body["status"] != fmt.Sprint(status) {
		t.Errorf("body status = %#v, want the string %q", body["status"], fmt.Sprint(status))
	}
	if got, _ := body["scimType"].(string); got != scimType {
		t.Errorf("scimType = %q, want %q", got, scimType)
	}
}

// TestTenantIsolation checks that a SCIM token of org A can never read,
// list, change or detect users of org B: every answer is the one for an id
// that does not exist.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	_, _, tokenB := env.NewOrg("Other", scimflow.PlanBusiness)
	idB := createUser(t, env, tokenB, "secret.user@b.example")
	unknown := "9b7e4c9e-0000-4000-8000-000000000000"

	for _, id := range []string{idB, unknown} {
		for _, tc := range []struct {
			method string
			body   any
		}{
			{"GET", nil},
			{"PUT", map[string]any{"userName": "stolen"}},
			{"PATCH", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}}}},
			{"DELETE", nil},
		} {
			res := env.SCIM(tc.method, "/scim/v2/Users/"+id, tc.body)
			if res.Status != http.StatusNotFound {
				t.Errorf("%s own-org token on %s: status %d, want 404", tc.method, id, res.Status)
			}
			if strings.Contains(string(res.Body), "secret.user") {
				t.Errorf("%s leaked org B's user: %s", tc.method, res.Body)
			}
		}
	}
	for _, q := range []string{"", "?filter=userName+eq+%22secret.user%40b.example%22", "?filter=id+eq+%22" + idB + "%22"} {
		res := env.SCIM("GET", "/scim/v2/Users"+q, nil)
		if body := res.JSON(t); body["totalResults"].(interface{ String() string }).String() != "0" {
			t.Errorf("list %q from org A sees org B: %s", q, res.Body)
		}
	}
	// Org A may create the same userName: uniqueness is per org, so a
	// conflict cannot reveal org B's users either.
	createUser(t, env, env.SCIMToken, "secret.user@b.example")
	// Org B's user is untouched.
	res := env.Do(tokenB, "GET", "/scim/v2/Users/"+idB, nil)
	if res.Status != http.StatusOK || res.JSON(t)["active"] != true {
		t.Errorf("org B's user after org A's attempts: %d %s", res.Status, res.Body)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	ctx := context.Background()
	expiring, expiringSecret, err := env.DB.CreateToken(ctx, env.OrgID, store.NewToken{Scope: scimflow.ScopeSCIM, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := env.DB.CreateToken(ctx, env.OrgID, store.NewToken{Scope: scimflow.ScopeSCIM, Name: "rotation"})
	if err != nil {
		t.Fatal(err)
	}
	// Two active SCIM tokens at once: a rotation never breaks provisioning.
	for _, tok := range []string{env.SCIMToken, second, expiringSecret} {
		if res := env.Do(tok, "GET", "/scim/v2/Users", nil); res.Status != http.StatusOK {
			t.Errorf("active token: status %d", res.Status)
		}
	}
	if _, err := env.DB.RevokeToken(ctx, env.OrgID, expiring.ID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, token string
		status      int
	}{
		{"none", "", 401},
		{"garbage", "not-a-token", 401},
		{"unknown", "sfw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401},
		{"revoked", expiringSecret, 401},
		{"admin scope", env.AdminToken, 403},
	}
	for _, tc := range cases {
		res := env.Do(tc.token, "GET", "/scim/v2/Users", nil)
		wantSCIMError(t, res, tc.status, "")
		if tc.status == 401 && res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
	// The other token still works after one was revoked.
	if res := env.Do(second, "GET", "/scim/v2/Users", nil); res.Status != http.StatusOK {
		t.Errorf("second token after revoking another: %d", res.Status)
	}
	toks, err := env.DB.ListTokens(ctx, env.OrgID, scimflow.ScopeSCIM)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.Name == "rotation" && tk.LastUsedAt == nil {
			t.Errorf("lastUsedAt not recorded for a used token")
		}
	}
}

func TestExpiredToken(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	_, secret, err := env.DB.CreateToken(context.Background(), env.OrgID, store.NewToken{Scope: scimflow.ScopeSCIM, ExpiresIn: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := env.Do(secret, "GET", "/scim/v2/Users", nil)
		if res.Status == http.StatusUnauthorized {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("token expiring after 1ms still accepted: %d", res.Status)
		}
	}
}

func TestFreePlanCannotProvision(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	_, _, tok := env.NewOrg("Free Co", scimflow.PlanFree)
	res := env.Do(tok, "POST", "/scim/v2/Users", map[string]any{"userName": "x"})
	wantSCIMError(t, res, 403, "")
}

func TestETags(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	id := createUser(t, env, env.SCIMToken, "etag")
	res := env.SCIM("GET", "/scim/v2/Users/"+id, nil, `If-None-Match: W/"1"`)
	if res.Status != http.StatusNotModified {
		t.Errorf("If-None-Match current: %d, want 304", res.Status)
	}
	patch := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "v2"}}}
	if res := env.SCIM("PATCH", "/scim/v2/Users/"+id, patch, `If-Match: W/"1"`); res.Status != 200 || res.Header.Get("ETag") != `W/"2"` {
		t.Fatalf("PATCH with current If-Match: %d ETag %q", res.Status, res.Header.Get("ETag"))
	}
	res = env.SCIM("PUT", "/scim/v2/Users/"+id, map[string]any{"userName": "etag", "displayName": "lost"}, `If-Match: W/"1"`)
	wantSCIMError(t, res, 412, "")
	if got := env.SCIM("GET", "/scim/v2/Users/"+id, nil).JSON(t)["displayName"]; got != "v2" {
		t.Errorf("after a 412, displayName = %v, want v2 (unchanged)", got)
	}
	if res := env.SCIM("GET", "/scim/v2/Users/"+id, nil, `If-None-Match: W/"1"`); res.Status != 200 {
		t.Errorf("If-None-Match stale: %d, want 200", res.Status)
	}
}

func TestBodyLimits(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	big := `{"userName":"` + strings.Repeat("x", 5<<20) + `"}`
	wantSCIMError(t, env.SCIM("POST", "/scim/v2/Users", big), 413, "")
	for _, body := range []string{"", "{", "[1,2]", `{"userName":"a"} {}`, "null"} {
		wantSCIMError(t, env.SCIM("POST", "/scim/v2/Users", body), 400, "invalidSyntax")
	}
	res := env.Do(env.SCIMToken, "POST", "/scim/v2/Users", `{"userName":"a"}`, "Content-Type: text/plain")
	wantSCIMError(t, res, 400, "invalidSyntax")
	// application/json is accepted as well as application/scim+json.
	res = env.Do(env.SCIMToken, "POST", "/scim/v2/Users", `{"userName":"plainjson"}`, "Content-Type: application/json; charset=utf-8")
	if res.Status != 201 {
		t.Errorf("application/json body: %d %s", res.Status, res.Body)
	}
	if res := env.SCIM("GET", "/scim/v2/Users", nil); res.JSON(t)["totalResults"].(interface{ String() string }).String() != "1" {
		t.Errorf("failed requests changed data: %s", res.Body)
	}
}

func TestSearchAndProjection(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	for _, n := range []string{"ann", "bob", "cat"} {
		createUser(t, env, env.SCIMToken, n)
	}
	res := env.SCIM("POST", "/scim/v2/Users/.search", map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter":     `userName ne "bob"`,
		"sortBy":     "userName",
		"sortOrder":  "descending",
		"attributes": []string{"userName"},
		"startIndex": 1, "count": 10,
	})
	if res.Status != 200 {
		t.Fatalf(".search: %d %s", res.Status, res.Body)
	}
	body := res.JSON(t)
	rs := body["Resources"].([]any)
	if len(rs) != 2 || rs[0].(map[string]any)["userName"] != "cat" || rs[1].(map[string]any)["userName"] != "ann" {
		t.Errorf(".search resources = %v", rs)
	}
	for _, r := range rs {
		m := r.(map[string]any)
		if _, ok := m["active"]; ok {
			t.Errorf("attributes=userName returned active: %v", m)
		}
		if m["id"] == nil || m["schemas"] == nil {
			t.Errorf("id and schemas are always returned: %v", m)
		}
	}
	// Query strings: + for space, startIndex below 1 means 1, counts are integers.
	res = env.SCIM("GET", "/scim/v2/Users?filter=userName+sw+%22b%22&startIndex=0&count=5&excludedAttributes=meta", nil)
	if !strings.Contains(string(res.Body), `"startIndex":1`) || !strings.Contains(string(res.Body), `"totalResults":1`) || strings.Contains(string(res.Body), `"meta"`) {
		t.Errorf("list: %s", res.Body)
	}
	wantSCIMError(t, env.SCIM("GET", "/scim/v2/Users?count=abc", nil), 400, "invalidValue")
	wantSCIMError(t, env.SCIM("GET", "/scim/v2/Users?filter=userName+eq", nil), 400, "invalidFilter")
}
