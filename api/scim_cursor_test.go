package api_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/internal/testenv"
)

// TestCursorPagingHTTP pages through Users and Groups with cursor and
// count (RFC 9865) and checks the errors a client can provoke: none is a
// 500, each is a SCIM error with the RFC's scimType.
func TestCursorPagingHTTP(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	for i := range 12 {
		createUser(t, env, env.SCIMToken, fmt.Sprintf("cursor%02d@example.com", i))
		res := env.SCIM("POST", "/scim/v2/Groups", map[string]any{"displayName": fmt.Sprintf("Cursor group %02d", i)})
		if res.Status != http.StatusCreated {
			t.Fatalf("create group: %d %s", res.Status, res.Body)
		}
	}

	spc := env.SCIM("GET", "/scim/v2/ServiceProviderConfig", nil).JSON(t)
	pagination, _ := spc["pagination"].(map[string]any)
	if pagination["cursor"] != true || pagination["index"] != true || pagination["defaultPaginationMethod"] != "index" {
		t.Errorf("ServiceProviderConfig pagination = %v, want cursor and index, index by default", pagination)
	}

	for _, path := range []string{"/scim/v2/Users?sortBy=userName&count=5", "/scim/v2/Groups?count=5&filter=" + url.QueryEscape(`displayName sw "Cursor"`)} {
		var seen []string
		next := path + "&cursor="
		for page := 0; next != ""; page++ {
			if page > 5 {
				t.Fatalf("%s: more than 5 pages", path)
			}
			body := env.SCIM("GET", next, nil).JSON(t)
			_, hasTotal := body["totalResults"]
			if hasTotal != (page == 0) {
				t.Errorf("%s page %d: totalResults present = %v, want it on the first page only", path, page, hasTotal)
			}
			if _, ok := body["startIndex"]; ok {
				t.Errorf("%s page %d: startIndex in a cursor page", path, page)
			}
			if _, ok := body["previousCursor"]; ok != (page > 0) {
				t.Errorf("%s page %d: previousCursor present = %v", path, page, ok)
			}
			for _, r := range body["Resources"].([]any) {
				seen = append(seen, r.(map[string]any)["id"].(string))
			}
			next = ""
			if c, ok := body["nextCursor"].(string); ok {
				if strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != "" {
					t.Errorf("nextCursor %q has characters outside RFC 3986's unreserved set", c)
				}
				next = path + "&cursor=" + c
			}
		}
		if len(seen) != 12 {
			t.Errorf("%s: %d resources over the pages, want 12", path, len(seen))
		}
	}

	// POST .search takes the cursor in its body.
	res := env.SCIM("POST", "/scim/v2/Users/.search", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "cursor": "", "count": 10})
	if res.Status != http.StatusOK || res.JSON(t)["nextCursor"] == nil {
		t.Errorf(".search with an empty cursor: %d %s, want a page with a nextCursor", res.Status, res.Body)
	}

	first := env.SCIM("GET", "/scim/v2/Users?count=2&cursor=", nil).JSON(t)
	cursor := first["nextCursor"].(string)
	for _, tc := range []struct {
		name, path, scimType string
	}{
		{"garbage", "/scim/v2/Users?cursor=not-a-cursor", "invalidCursor"},
		{"base64 of garbage", "/scim/v2/Users?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"v":1}`)), "invalidCursor"},
		{"another query's cursor", "/scim/v2/Users?sortBy=userName&cursor=" + cursor, "invalidCursor"},
		{"a Users cursor on Groups", "/scim/v2/Groups?count=2&cursor=" + cursor, "invalidCursor"},
		{"expired", "/scim/v2/Users?cursor=" + expiredCursor(t, cursor), "expiredCursor"},
		{"count 0", "/scim/v2/Users?count=0&cursor=", "invalidCount"},
		{"startIndex and cursor", "/scim/v2/Users?startIndex=3&cursor=", "invalidValue"},
		{"a huge cursor", "/scim/v2/Users?cursor=" + strings.Repeat("A", 10000), "invalidCursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantSCIMError(t, env.SCIM("GET", tc.path, nil), http.StatusBadRequest, tc.scimType)
		})
	}
	// The same cursor with another count is still good (RFC 9865 lets
	// the client change the count).
	if res := env.SCIM("GET", "/scim/v2/Users?count=3&cursor="+cursor, nil); res.Status != http.StatusOK {
		t.Errorf("cursor with another count: %d %s", res.Status, res.Body)
	}
	// startIndex paging is unchanged.
	idx := env.SCIM("GET", "/scim/v2/Users?startIndex=11&count=5", nil).JSON(t)
	if fmt.Sprintf("%v %v", idx["totalResults"], idx["startIndex"]) != "12 11" || len(idx["Resources"].([]any)) != 2 || idx["nextCursor"] != nil {
		t.Errorf("index page = %v", idx)
	}
}

// expiredCursor returns c issued two hours earlier: cursors carry their
// issue time, and this is the one place a client could change it.
func expiredCursor(t *testing.T, c string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, `"at":`)
	if i < 0 {
		t.Fatalf("cursor %s has no issue time", s)
	}
	var at int64
	fmt.Sscan(s[i+5:strings.IndexAny(s[i:], ",}")+i], &at)
	s = s[:i] + fmt.Sprintf(`"at":%d`, at-7200) + s[strings.IndexAny(s[i:], ",}")+i:]
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}
