package store_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

func pageNames(p scimflow.UserPage) []string {
	out := make([]string, len(p.Users))
	for i, u := range p.Users {
		out[i] = u.UserName
	}
	return out
}

func TestPeoplePostgres(t *testing.T) { t.Parallel(); testPeople(t, testenv.DB(t)) }
func TestPeopleSQLite(t *testing.T)   { t.Parallel(); testPeople(t, testenv.SQLiteDB(t)) }

// testPeople pages through users and a group's members by userName,
// forwards and backwards, and searches them.
func testPeople(t *testing.T, db *store.DB) {
	ctx := context.Background()
	orgID, other := newOrg(t, db), newOrg(t, db)
	var ids []string
	for i, name := range []string{"dora", "Carl", "ann", "eve", "bob"} {
		u := &scimflow.User{UserName: name + "@example.com", DisplayName: strings.ToUpper(name[:1]) + name[1:] + " Smith",
			Active: i != 3, Emails: []scimflow.MultiValue{{Value: name + ".work@corp.example", Primary: true}}}
		created, err := db.CreateUser(ctx, orgID, u)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, created.ID)
	}
	if _, err := db.CreateUser(ctx, other, &scimflow.User{UserName: "ann.other@example.com", Active: true}); err != nil {
		t.Fatal(err)
	}
	g, err := db.CreateGroup(ctx, orgID, &scimflow.Group{DisplayName: "Team"}, ids[:4]) // not bob
	if err != nil {
		t.Fatal(err)
	}

	first, err := db.SearchUsers(ctx, orgID, scimflow.PageQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ann@example.com", "bob@example.com"}, pageNames(first)); diff != "" || first.Total != 5 || first.HasPrev || !first.HasNext {
		t.Errorf("first page (-want +got):\n%s total %d prev %v next %v", diff, first.Total, first.HasPrev, first.HasNext)
	}
	second, err := db.SearchUsers(ctx, orgID, scimflow.PageQuery{Limit: 2, After: first.Last})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Carl@example.com", "dora@example.com"}, pageNames(second)); diff != "" || !second.HasPrev || !second.HasNext {
		t.Errorf("second page (-want +got):\n%s prev %v next %v", diff, second.HasPrev, second.HasNext)
	}
	back, err := db.SearchUsers(ctx, orgID, scimflow.PageQuery{Limit: 2, Before: second.First})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pageNames(first), pageNames(back)); diff != "" || back.HasPrev || !back.HasNext {
		t.Errorf("back to the first page (-want +got):\n%s prev %v next %v", diff, back.HasPrev, back.HasNext)
	}
	last, err := db.SearchUsers(ctx, orgID, scimflow.PageQuery{Limit: 2, After: second.Last})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"eve@example.com"}, pageNames(last)); diff != "" || last.HasNext || last.Users[0].Active {
		t.Errorf("last page (-want +got):\n%s next %v, eve active %v", diff, last.HasNext, last.Users[0].Active)
	}
	if last.Users[0].Email != "eve.work@corp.example" || last.Users[0].DisplayName != "Eve Smith" {
		t.Errorf("eve = %+v", last.Users[0])
	}

	for _, tt := range []struct {
		search string
		want   []string
	}{
		{"CARL", []string{"Carl@example.com"}},     // userName, any case
		{"ora sm", []string{"dora@example.com"}},   // display name
		{"eve.work@", []string{"eve@example.com"}}, // email
		{"ann", []string{"ann@example.com"}},       // not the other org's ann
		{"100%", nil},                              // LIKE's wildcards are literal
		{"smith", []string{"ann@example.com", "bob@example.com", "Carl@example.com", "dora@example.com", "eve@example.com"}},
	} {
		p, err := db.SearchUsers(ctx, orgID, scimflow.PageQuery{Search: tt.search, Limit: 10})
		if err != nil {
			t.Fatalf("search %q: %v", tt.search, err)
		}
		if diff := cmp.Diff(tt.want, pageNames(p), cmpEmpty); diff != "" || p.Total != len(tt.want) {
			t.Errorf("search %q (-want +got):\n%s total %d", tt.search, diff, p.Total)
		}
	}

	for _, size := range []int{4, 100_000} { // both ways of reading a group
		p, err := db.GroupMembersByName(ctx, orgID, g.ID, size, scimflow.PageQuery{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"ann@example.com", "Carl@example.com", "dora@example.com"}, pageNames(p)); diff != "" || !p.HasNext {
			t.Errorf("members, size %d (-want +got):\n%s next %v", size, diff, p.HasNext)
		}
		rest, err := db.GroupMembersByName(ctx, orgID, g.ID, size, scimflow.PageQuery{Limit: 3, After: p.Last})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"eve@example.com"}, pageNames(rest)); diff != "" || rest.HasNext || !rest.HasPrev {
			t.Errorf("members page 2, size %d (-want +got):\n%s", size, diff)
		}
	}
	if _, err := db.GroupMembersByName(ctx, other, g.ID, 4, scimflow.PageQuery{Limit: 3}); scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		t.Errorf("another org's group: %v, want ENOTFOUND", err)
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })

// TestPeoplePlan checks, on a database never analyzed, that the people
// lists read by index: the user list and a large group's members walk
// users_org_user_name, a small group's members go by primary keys, and a
// search starts from users_search.
func TestPeoplePlan(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	orgID := newOrg(t, db)
	sqlDB, err := db.SQL()
	if err != nil {
		t.Fatal(err)
	}
	const users = 20000
	stmts := []string{
		fmt.Sprintf(`INSERT INTO users (id, org_id, source, user_name, display_name, email_search, created_at, updated_at)
			SELECT 'u' || i, $1, 'scim', 'user' || i, 'User ' || i, 'user' || i || '@example.com', now(), now()
			FROM generate_series(1, %d) AS i`, users),
		`INSERT INTO groups (id, org_id, display_name, created_at, updated_at) VALUES ('big', $1, 'Big', now(), now()), ('small', $1, 'Small', now(), now())`,
		`INSERT INTO group_members (group_id, user_id, created_at) SELECT 'big', 'u' || i, now() FROM generate_series(1, 15000) AS i WHERE $1 <> ''`,
		`INSERT INTO group_members (group_id, user_id, created_at) SELECT 'small', 'u' || (i * 97), now() FROM generate_series(1, 10) AS i WHERE $1 <> ''`,
	}
	for _, s := range stmts {
		if _, err := sqlDB.ExecContext(ctx, s, orgID); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name   string
		group  string
		size   int
		q      scimflow.PageQuery
		uses   []string
		avoids string
	}{
		{"users", "", 0, scimflow.PageQuery{Limit: 25}, []string{"users_org_user_name"}, `Seq Scan on users|Sort\b`},
		{"users after", "", 0, scimflow.PageQuery{Limit: 25, After: "user500"}, []string{"users_org_user_name"}, `Seq Scan on users|Sort\b`},
		{"search", "", 0, scimflow.PageQuery{Search: "user123", Limit: 25}, []string{"Bitmap Index Scan on users_search"}, `Seq Scan|users_org_`},
		{"big group", "big", 15000, scimflow.PageQuery{Limit: 25}, []string{"users_org_user_name", "SubPlan", "Index Only Scan using group_members_"}, `Seq Scan|Hash`},
		{"small group", "small", 10, scimflow.PageQuery{Limit: 25}, []string{"group_members_pkey", "users_pkey"}, `Seq Scan|users_org_`},
	} {
		plan, err := db.ExplainPeople(ctx, orgID, tt.group, tt.size, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for _, u := range tt.uses {
			if !strings.Contains(plan, u) {
				t.Errorf("%s: the plan does not use %s:\n%s", tt.name, u, plan)
			}
		}
		if bad := regexp.MustCompile(tt.avoids).FindString(plan); bad != "" {
			t.Errorf("%s: the plan has %q:\n%s", tt.name, bad, plan)
		}
	}
}
