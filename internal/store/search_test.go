package store_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// large is the size above which the tests' orgs are large.
const large = 5

// seedSearch creates n users (bulk1 ... bulkN, "Bulk User i", a work
// email bulki@example.com and a home email bi@home.example) and n groups
// (Team 1 ... Team n) in org.
func seedSearch(t *testing.T, db *store.DB, orgID string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		u := &scimflow.User{UserName: fmt.Sprintf("bulk%d", i), DisplayName: fmt.Sprintf("Bulk User %d", i), Title: "Engineer",
			ExternalID: fmt.Sprintf("ext-%d", i), Active: true,
			Emails: []scimflow.MultiValue{{Value: fmt.Sprintf("bulk%d@Example.com", i), Type: "work", Primary: true}, {Value: fmt.Sprintf("b%d@home.example", i), Type: "home"}}}
		if _, err := db.CreateUser(ctx, orgID, u); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateGroup(ctx, orgID, &scimflow.Group{DisplayName: fmt.Sprintf("Team %d", i), ExternalID: fmt.Sprintf("gx-%d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// searchTests are run against an org of 6 users and groups (large) and
// one of 2 (small). refused is the scimType a large org answers with, ""
// when it answers as a small one does.
var searchTests = []struct {
	filter  string
	sortBy  string
	refused string
	want    []string // of the large org, in order when sortBy is set
}{
	{filter: `userName co "ulk3"`, want: []string{"bulk3"}},
	{filter: `userName sw "BULK"`, want: []string{"bulk1", "bulk2", "bulk3", "bulk4", "bulk5", "bulk6"}},
	{filter: `userName ew "lk6"`, want: []string{"bulk6"}},
	{filter: `displayName co "user 2"`, want: []string{"bulk2"}},
	{filter: `emails co "bulk4@exa"`, want: []string{"bulk4"}},
	{filter: `emails.value ew "5@home.example"`, want: []string{"bulk5"}},
	{filter: `emails[type eq "work" and value co "k1@EXAMPLE"]`, want: []string{"bulk1"}},
	{filter: `emails[type eq "home" and value co "k1@example"]`, want: []string{}},
	{filter: `emails[type eq "work"].value sw "bulk2@"`, want: []string{"bulk2"}},
	// Narrowed by an index: the rest is tested on its candidates only.
	{filter: `userName co "bulk" and title co "eng" and not (userName ew "1")`, want: []string{"bulk2", "bulk3", "bulk4", "bulk5", "bulk6"}},
	{filter: `(userName co "bulk" or title pr) and emails co "bulk6"`, want: []string{"bulk6"}},
	{filter: `userName eq "bulk2"`, want: []string{"bulk2"}},
	{filter: `title eq "Engineer" and active eq true`, want: []string{"bulk1", "bulk2", "bulk3", "bulk4", "bulk5", "bulk6"}},
	{sortBy: "userName", want: []string{"bulk1", "bulk2", "bulk3", "bulk4", "bulk5", "bulk6"}},
	// No index serves these: a large org refuses them.
	{filter: `title co "eng"`, refused: scimflow.SCIMInvalidFilter},
	{filter: `externalId sw "ext-"`, refused: scimflow.SCIMInvalidFilter},
	{filter: `userName co "k3"`, refused: scimflow.SCIMInvalidFilter},      // no trigram
	{filter: `userName sw "b-1"`, refused: scimflow.SCIMInvalidFilter},     // no trigram either
	{filter: `emails.type co "wor"`, refused: scimflow.SCIMInvalidFilter},  // only emails' value is indexed
	{filter: `phoneNumbers co "555"`, refused: scimflow.SCIMInvalidFilter}, // only emails are
	{filter: `not (userName co "bulk")`, refused: scimflow.SCIMInvalidFilter},
	{filter: `userName co "bulk1" or title eq "x"`, refused: scimflow.SCIMInvalidFilter},
	{filter: `emails[type eq "work" or value co "bulk1"]`, refused: scimflow.SCIMInvalidFilter},
	{filter: `userName eq "bulk2" and title co "eng"`, refused: scimflow.SCIMInvalidFilter},
	{sortBy: "emails", refused: scimflow.SCIMInvalidValue},
	{filter: `userName co "bulk"`, sortBy: "emails.value", refused: scimflow.SCIMInvalidValue},
}

func testSearch(t *testing.T, db *store.DB) {
	ctx := context.Background()
	big, small := newOrg(t, db), newOrg(t, db)
	seedSearch(t, db, big, large+1)
	seedSearch(t, db, small, 2)
	for _, tt := range searchTests {
		q := scim.ListQuery{StartIndex: 1, Count: 100, SortBy: tt.sortBy}
		if tt.filter != "" {
			f, err := filter.Parse(tt.filter)
			if err != nil {
				t.Fatalf("filter.Parse(%q): %v", tt.filter, err)
			}
			q.Filter = f
		}
		users, total, err := db.ListUsersLarge(ctx, big, q, large)
		if tt.refused != "" {
			var e *scimflow.Error
			if !errors.As(err, &e) || e.Code != scimflow.EINVALID || e.SCIMType != tt.refused {
				t.Errorf("large org: ListUsers(filter %q, sortBy %q) error = %v, want %s", tt.filter, tt.sortBy, err, tt.refused)
			} else if !strings.Contains(e.Message, "more than 5 users") {
				t.Errorf("large org: ListUsers(filter %q, sortBy %q) message %q does not say why", tt.filter, tt.sortBy, e.Message)
			}
		} else {
			if err != nil {
				t.Errorf("large org: ListUsers(filter %q, sortBy %q): %v", tt.filter, tt.sortBy, err)
				continue
			}
			got := userNames(users)
			if tt.sortBy == "" {
				sort.Strings(got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || total != len(tt.want) {
				t.Errorf("large org: ListUsers(filter %q, sortBy %q) = %d users (-want +got):\n%s", tt.filter, tt.sortBy, total, diff)
			}
		}
		// A small org gets every one of them.
		if _, _, err := db.ListUsersLarge(ctx, small, q, large); err != nil {
			t.Errorf("small org: ListUsers(filter %q, sortBy %q): %v", tt.filter, tt.sortBy, err)
		}
	}
}

func TestSearchLargeOrgPostgres(t *testing.T) {
	t.Parallel()
	testSearch(t, testenv.DB(t))
}

func TestSearchLargeOrgSQLite(t *testing.T) {
	t.Parallel()
	testSearch(t, testenv.SQLiteDB(t))
}

func TestSearchLargeOrgGroups(t *testing.T) {
	t.Parallel()
	for name, db := range map[string]*store.DB{"postgres": testenv.DB(t), "sqlite": testenv.SQLiteDB(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			big, small := newOrg(t, db), newOrg(t, db)
			seedSearch(t, db, big, large+1)
			seedSearch(t, db, small, 2)
			for _, tt := range []struct {
				filter  string
				refused bool
				want    int
			}{
				{`displayName co "team"`, false, large + 1},
				{`displayName ew "m 3"`, true, 0}, // no trigram
				{`displayName sw "TEAM 4"`, false, 1},
				{`externalId co "gx-"`, true, 0},
			} {
				f, err := filter.Parse(tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				q := scim.ListQuery{Filter: f, StartIndex: 1, Count: 100}
				groups, total, err := db.ListGroupsLarge(ctx, big, q, large)
				switch {
				case tt.refused && scimflow.ErrorCode(err) != scimflow.EINVALID:
					t.Errorf("large org: ListGroups(%q) error = %v, want invalidFilter", tt.filter, err)
				case !tt.refused && (err != nil || total != tt.want || len(groups) != tt.want):
					t.Errorf("large org: ListGroups(%q) = %d groups, total %d, %v; want %d", tt.filter, len(groups), total, err, tt.want)
				}
				if _, _, err := db.ListGroupsLarge(ctx, small, q, large); err != nil {
					t.Errorf("small org: ListGroups(%q): %v", tt.filter, err)
				}
			}
		})
	}
}

// TestSearchPlan checks that substring filters use the trigram indexes on
// a database that was never analyzed (the product runs no ANALYZE, and
// autovacuum may be off): the org's btree indexes then look like one row
// to the planner, so the index must be the only plausible plan.
func TestSearchPlan(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	orgID, other := newOrg(t, db), newOrg(t, db)
	sqlDB, err := db.SQL()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, org := range []struct {
		id string
		n  int
	}{{orgID, 2000}, {other, 200}} {
		_, err := sqlDB.ExecContext(ctx, `
			INSERT INTO users (id, org_id, source, user_name, display_name, email_search, created_at, updated_at)
			SELECT $1 || '-' || i, $1, 'scim', 'user' || i, 'User ' || i, 'user' || i || '@example.com', now(), now()
			FROM generate_series(1, $2) AS i`, org.id, org.n)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sqlDB.ExecContext(ctx, `
			INSERT INTO user_values (user_id, attr, ord, value, type, is_primary)
			SELECT $1 || '-' || i, 'emails', 0, 'user' || i || '@example.com', 'work', true
			FROM generate_series(1, $2) AS i`, org.id, org.n)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sqlDB.ExecContext(ctx, `
			INSERT INTO groups (id, org_id, display_name, created_at, updated_at)
			SELECT $1 || '-g' || i, $1, 'Group ' || i, now(), now() FROM generate_series(1, $2) AS i`, org.id, org.n/10)
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seeded in %v", time.Since(start))
	for _, tt := range []struct {
		filter string
		users  bool
		index  string
	}{
		{`userName co "xyz"`, true, "users_search"},
		{`userName sw "user12" and active eq true`, true, "users_search"},
		{`name.familyName ew "xyz"`, true, "users_search"},
		{`emails co "user42@"`, true, "users_search"},
		{`emails[type eq "work" and value co "user42@"]`, true, "users_search"},
		{`displayName co "user 12" and emails[type eq "work"] and not (groups pr)`, true, "users_search"},
		{`displayName co "xyz"`, false, "groups_search"},
	} {
		f, err := filter.Parse(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := db.ExplainList(ctx, orgID, scim.ListQuery{Filter: f, StartIndex: 1, Count: 100}, tt.users)
		if err != nil {
			t.Fatalf("ExplainList(%q): %v", tt.filter, err)
		}
		// Both statements (count and page) start from the index, and read
		// no other index of the org nor all emails.
		n := strings.Count(plan, "Bitmap Index Scan on "+tt.index)
		bad := regexp.MustCompile(`Seq Scan on (users|groups|user_values) |_org_|user_values_attr_value`).FindString(plan)
		if n != 2 || bad != "" {
			t.Errorf("plan of %q uses %s %d times (want 2), and %q:\n%s", tt.filter, tt.index, n, bad, plan)
		}
	}
}
