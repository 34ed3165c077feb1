package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// TestCursorPaging pages through 250 users with cursors (RFC 9865) in
// several orders, inserting a user after every page: each user that was
// there from the start is seen exactly once, nobody twice, in order; and
// walking back with the previous cursors gives the same pages in reverse.
func TestCursorPaging(t *testing.T) {
	t.Parallel()
	for name, db := range map[string]*store.DB{"postgres": testenv.DB(t), "sqlite": testenv.SQLiteDB(t)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			orgID := newOrg(t, db)
			const n = 250
			for i := range n {
				u := &scimflow.User{UserName: fmt.Sprintf("User%03d@example.com", (i*7919)%n), Active: i%3 != 0,
					Emails: []scimflow.MultiValue{{Value: fmt.Sprintf("u%03d@example.com", i), Type: "work"}}}
				if i%10 == 0 {
					u.ExternalID = "ten"
				}
				if _, err := db.CreateUser(ctx, orgID, u); err != nil {
					t.Fatal(err)
				}
			}
			inserted := 0
			for _, tc := range []struct {
				name  string
				q     scim.ListQuery
				want  int                            // users there from the start that match
				order func(a, b *scimflow.User) bool // a comes before b
			}{
				{"creation order", scim.ListQuery{}, n, nil},
				{"userName", scim.ListQuery{SortBy: "userName"}, n, func(a, b *scimflow.User) bool {
					return strings.ToLower(a.UserName) < strings.ToLower(b.UserName)
				}},
				{"userName descending", scim.ListQuery{SortBy: "userName", Descending: true}, n, func(a, b *scimflow.User) bool {
					return strings.ToLower(a.UserName) > strings.ToLower(b.UserName)
				}},
				{"active, a key with ties", scim.ListQuery{SortBy: "active"}, n, func(a, b *scimflow.User) bool { return !a.Active && b.Active }},
				{"externalId, mostly unassigned", scim.ListQuery{SortBy: "externalId", Descending: true}, n, nil},
				{"emails, a per-row key", scim.ListQuery{SortBy: "emails"}, n, nil},
				{"filtered", scim.ListQuery{Filter: mustParse(t, `active eq true`), SortBy: "meta.created"}, n - (n+2)/3, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					q := tc.q
					q.Paging, q.Count = scim.PagingCursor, 37
					var seen []*scimflow.User
					var forward [][]string
					first := true
					var lastPrevious *scim.Cursor
					for page := 0; ; page++ {
						if page > 20 {
							t.Fatal("more than 20 pages of 37 for 250 users")
						}
						users, pg, err := db.ListUsersPage(ctx, orgID, q)
						if err != nil {
							t.Fatalf("page %d: %v", page, err)
						}
						if first && pg.Total < tc.want {
							t.Errorf("first page: total %d, want at least %d", pg.Total, tc.want)
						}
						if !first && pg.Total != -1 {
							t.Errorf("page %d: total %d, want -1 (not counted after the first page)", page, pg.Total)
						}
						if len(users) > q.Count {
							t.Fatalf("page %d: %d users for count %d", page, len(users), q.Count)
						}
						if !first && pg.Previous == nil {
							t.Errorf("page %d: no previous cursor", page)
						}
						first = false
						seen = append(seen, users...)
						forward = append(forward, userIDs(users))
						// Another user arrives between every two pages.
						inserted++
						if _, err := db.CreateUser(ctx, orgID, &scimflow.User{UserName: fmt.Sprintf("late%03d@example.com", inserted), Active: true}); err != nil {
							t.Fatal(err)
						}
						if pg.Next == nil {
							lastPrevious = pg.Previous
							break
						}
						q.Cursor = pg.Next
					}
					ids := map[string]int{}
					original := 0
					for i, u := range seen {
						if j, dup := ids[u.ID]; dup {
							t.Fatalf("user %s seen at %d and %d", u.UserName, j, i)
						}
						ids[u.ID] = i
						if !strings.HasPrefix(u.UserName, "late") {
							original++
						}
						if tc.order != nil && i > 0 && tc.order(u, seen[i-1]) {
							t.Errorf("%s after %s: out of order", u.UserName, seen[i-1].UserName)
						}
					}
					if original != tc.want {
						t.Errorf("saw %d of the original users, want %d", original, tc.want)
					}
					// Back from the last page with the previous cursors:
					// the same pages before it, in order (users inserted
					// meanwhile may join them).
					var want []string
					for _, p := range forward[:len(forward)-1] {
						want = append(want, p...)
					}
					var back []string
					q.Cursor = lastPrevious
					for q.Cursor != nil && len(back) <= 2*n {
						users, pg, err := db.ListUsersPage(ctx, orgID, q)
						if err != nil {
							t.Fatal(err)
						}
						back = append(userIDs(users), back...)
						q.Cursor = pg.Previous
					}
					back = slices.DeleteFunc(back, func(id string) bool { _, ok := ids[id]; return !ok })
					if !slices.Equal(back, want) {
						t.Errorf("walking back: %d users, want the %d of the forward pages before the last, in order", len(back), len(want))
					}
				})
			}
		})
	}
}

// TestCursorPagePlanWithoutStatistics: on a database whose statistics were
// never collected, a cursor page deep into a large org is read from the
// index that serves its order — never by sorting the org — so every page
// costs the same. (No ANALYZE, as in production after a bulk import.)
func TestCursorPagePlanWithoutStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	orgID := newOrg(t, db)
	testenv.SeedUsers(t, db, orgID, 20000)
	created := time.Now().UTC()
	for _, tc := range []struct {
		name  string
		q     scim.ListQuery
		index string
	}{
		{"creation order", scim.ListQuery{Cursor: &scim.Cursor{Created: created, ID: "m"}}, "users_org_created"},
		{"creation order, back", scim.ListQuery{Cursor: &scim.Cursor{Created: created, ID: "m", Before: true}}, "users_org_created"},
		{"userName", scim.ListQuery{SortBy: "userName", Cursor: &scim.Cursor{Key: "seed-m", Created: created, ID: "m"}}, "users_org_user_name"},
		{"userName descending", scim.ListQuery{SortBy: "userName", Descending: true, Cursor: &scim.Cursor{Key: "seed-m", Created: created, ID: "m"}}, "users_org_user_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Paging, q.Count = scim.PagingCursor, 100
			plan, err := db.ExplainList(ctx, orgID, q, true)
			if err != nil {
				t.Fatal(err)
			}
			// ExplainList explains the count, then the page.
			page := plan[strings.Index(plan, "Limit"):]
			if !strings.Contains(page, tc.index) || strings.Contains(page, "Seq Scan on users") || strings.Contains(page, "  Sort  ") || strings.Contains(page, "Sort Key") && !strings.Contains(page, "Presorted Key") {
				t.Errorf("page plan does not read %s in order:\n%s", tc.index, page)
			}
		})
	}
}
