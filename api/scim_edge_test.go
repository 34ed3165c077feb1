package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/internal/testenv"
)

// Client mistakes that once reached the database: each must be a 4xx in
// the protocol's format and change nothing.
func TestClientMistakesChangeNothing(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	u := createUser(t, env, env.SCIMToken, "keep@example.com")
	gid := createGroup(t, env, "Keep", u)

	// A bad attributes= is refused before the write, not after it.
	res := env.SCIM("POST", "/scim/v2/Users?attributes=emails%5Btype+eq+%22work%22%5D", map[string]any{"userName": "carol@example.com"})
	wantSCIMError(t, res, 400, "invalidValue")
	res = env.SCIM("PATCH", "/scim/v2/Groups/"+gid+"?attributes=members%5Bvalue+eq+%22x%22%5D",
		patchOp(map[string]any{"op": "replace", "path": "displayName", "value": "Renamed"}))
	wantSCIMError(t, res, 400, "invalidValue")

	// NUL characters and invalid UTF-8 in bodies, paths and filters.
	wantSCIMError(t, env.SCIM("POST", "/scim/v2/Users", `{"userName":"nul\u0000@x.com"}`), 400, "invalidValue")
	wantSCIMError(t, env.SCIM("GET", "/scim/v2/Users/%00", nil), 400, "invalidValue")
	wantSCIMError(t, env.SCIM("GET", "/scim/v2/Users?filter=userName+eq+%22a%00b%22", nil), 400, "invalidValue")
	wantSCIMError(t, env.SCIM("GET", "/scim/v2/Groups/%FF", nil), 400, "invalidValue")
	wantAdminError(t, env.Do(env.AdminToken, "GET", "/api/v1/entry-points?search=%00", nil), 400, "invalid")

	// Values too long for an index.
	long := strings.Repeat("x", 3000)
	random := make([]byte, 4000) // incompressible: Postgres cannot squeeze it into an index entry
	for i := range random {
		random[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i*7919+i*i*31)%36]
	}
	wantSCIMError(t, env.SCIM("POST", "/scim/v2/Users", map[string]any{"userName": long}), 400, "invalidValue")
	wantSCIMError(t, env.SCIM("POST", "/scim/v2/Groups", map[string]any{"displayName": long}), 400, "invalidValue")
	res = env.SCIM("POST", "/scim/v2/Users", map[string]any{"userName": "certs@example.com",
		"x509Certificates": []any{map[string]any{"value": string(random)}}, "emails": []any{map[string]any{"value": string(random) + "@x.com"}}})
	if res.Status != 201 {
		t.Errorf("long multi-valued values: %d %s, want 201 (they are not indexed whole)", res.Status, res.Body)
	}
	f := "/scim/v2/Users?filter=emails.value+eq+%22" + string(random) + "%40x.com%22"
	if res := env.SCIM("GET", f, nil); !strings.Contains(string(res.Body), `"totalResults":1`) {
		t.Errorf("filter on a long email: %d %.200s", res.Status, res.Body)
	}

	// An explicit null never empties a group.
	res = env.SCIM("PATCH", "/scim/v2/Groups/"+gid, patchOp(map[string]any{"op": "remove", "path": "members", "value": nil}))
	wantSCIMError(t, res, 400, "invalidValue")
	if got := groupMembers(t, env, gid); len(got) != 1 {
		t.Errorf("group has %d members after refused requests, want 1", len(got))
	}
	if g := env.SCIM("GET", "/scim/v2/Groups/"+gid, nil).JSON(t); g["displayName"] != "Keep" {
		t.Errorf("group renamed by a refused request: %v", g["displayName"])
	}
	if res := env.SCIM("GET", "/scim/v2/Users?filter=userName+eq+%22carol%40example.com%22", nil); !strings.Contains(string(res.Body), `"totalResults":0`) {
		t.Errorf("refused POST created the user: %s", res.Body)
	}

	// Sorting by a constant attribute is allowed.
	for _, p := range []string{"/scim/v2/Users?sortBy=meta.resourceType", "/scim/v2/Groups?sortBy=meta.resourceType"} {
		if res := env.SCIM("GET", p, nil); res.Status != 200 {
			t.Errorf("GET %s = %d %s", p, res.Status, res.Body)
		}
	}
	// Errors name the operation as the client numbered it.
	res = env.SCIM("PATCH", "/scim/v2/Groups/"+gid, patchOp(
		map[string]any{"op": "add", "path": "members", "value": members(u)},
		map[string]any{"op": "replace", "path": "displayName", "value": 123}))
	wantSCIMError(t, res, 400, "invalidValue")
	if !strings.Contains(string(res.Body), "Operations[1]") {
		t.Errorf("error does not name Operations[1]: %s", res.Body)
	}
	// Admin bodies over 1 MiB are 413.
	wantAdminError(t, env.Do(env.AdminToken, "POST", "/api/v1/entry-points", `{"name":"`+strings.Repeat("x", 2<<20)+`"}`), 413, "too_large")
	wantAdminError(t, env.Do(env.AdminToken, "POST", "/api/v1/entry-points", `{"name":"a"} {}`), 400, "invalid")
}

// TestDeletingAMemberChangesTheGroupETag: the group's member list changed,
// so a cached ETag must not match any more.
func TestDeletingAMemberChangesTheGroupETag(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	u := createUser(t, env, env.SCIMToken, "leaver@example.com")
	gid := createGroup(t, env, "Team", u)
	etag := env.SCIM("GET", "/scim/v2/Groups/"+gid, nil).Header.Get("ETag")
	if res := env.SCIM("DELETE", "/scim/v2/Users/"+u, nil); res.Status != http.StatusNoContent {
		t.Fatal(res.Status)
	}
	res := env.SCIM("GET", "/scim/v2/Groups/"+gid, nil, "If-None-Match: "+etag)
	if res.Status != 200 || res.Header.Get("ETag") == etag {
		t.Errorf("after deleting its member the group answers %d with ETag %s (was %s)", res.Status, res.Header.Get("ETag"), etag)
	}
	// User.groups is returned only on request, so it cannot make a User's
	// ETag stale.
	v := createUser(t, env, env.SCIMToken, "stayer@example.com")
	env.SCIM("PATCH", "/scim/v2/Groups/"+gid, patchOp(map[string]any{"op": "add", "path": "members", "value": members(v)}))
	if body := string(env.SCIM("GET", "/scim/v2/Users/"+v, nil).Body); strings.Contains(body, `"groups"`) {
		t.Errorf("groups returned without being asked for: %s", body)
	}
	if body := string(env.SCIM("GET", "/scim/v2/Users/"+v+"?attributes=groups", nil).Body); !strings.Contains(body, gid) {
		t.Errorf("attributes=groups does not list the group: %s", body)
	}
}
