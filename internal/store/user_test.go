package store_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

func newOrg(t testing.TB, db *store.DB) string {
	t.Helper()
	b, err := db.CreateOrg(context.Background(), store.NewOrg{Name: "Acme", Plan: scimflow.PlanBusiness})
	if err != nil {
		t.Fatal(err)
	}
	return b.Org.ID
}

// seedUsers creates a small directory that exercises every filterable kind
// of attribute.
func seedUsers(t *testing.T, db *store.DB, orgID string) {
	t.Helper()
	users := []*scimflow.User{
		{UserName: "bjensen", ExternalID: "ext-B", Active: true, Title: "Tour Guide", UserType: "Employee",
			Name:   scimflow.Name{FamilyName: "Jensen", GivenName: "Barbara"},
			Emails: []scimflow.MultiValue{{Value: "bjensen@example.com", Type: "work", Primary: true}, {Value: "babs@jensen.org", Type: "home"}},
			IMs:    []scimflow.MultiValue{{Value: "bjensen@foo.com", Type: "xmpp"}}},
		{UserName: "jsmith", ExternalID: "ext-j", Active: true, UserType: "Intern",
			Name:      scimflow.Name{FamilyName: "O'Malley", GivenName: "John"},
			Emails:    []scimflow.MultiValue{{Value: "john@example.org", Type: "work"}},
			Addresses: []scimflow.Address{{Type: "work", Locality: "Hollywood", Country: "USA"}}},
		{UserName: "Alice_100%", Active: false, UserType: "Employee", Title: "CTO",
			Emails:     []scimflow.MultiValue{{Value: "alice@Example.COM", Type: "work"}},
			Enterprise: &scimflow.EnterpriseUser{EmployeeNumber: "701984", Department: "Tour Operations", Manager: &scimflow.Manager{Value: "26118915"}}},
	}
	for _, u := range users {
		if _, err := db.CreateUser(context.Background(), orgID, u); err != nil {
			t.Fatalf("seed %s: %v", u.UserName, err)
		}
	}
}

func userNames(users []*scimflow.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.UserName
	}
	return out
}

var filterTests = []struct {
	filter string
	want   []string // in any order
}{
	{`userName eq "bjensen"`, []string{"bjensen"}},
	{`userName eq "BJENSEN"`, []string{"bjensen"}}, // case-insensitive (RFC 7643 §4.1.1)
	{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, []string{"jsmith"}},
	{`userName sw "j"`, []string{"jsmith"}},
	{`userName co "_100%"`, []string{"Alice_100%"}}, // LIKE wildcards are literal
	{`userName co "e_1"`, []string{"Alice_100%"}},
	{`userName ew "SEN"`, []string{"bjensen"}},
	{`name.familyName co "O'Malley"`, []string{"jsmith"}},
	{`title pr`, []string{"bjensen", "Alice_100%"}},
	{`not (title pr)`, []string{"jsmith"}},
	{`title pr and userType eq "Employee"`, []string{"bjensen", "Alice_100%"}},
	{`title pr or userType eq "Intern"`, []string{"bjensen", "jsmith", "Alice_100%"}},
	{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, []string{"bjensen", "Alice_100%"}},
	{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, []string{}},
	{`userType eq "Employee" and (emails.type eq "work")`, []string{"bjensen", "Alice_100%"}},
	{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, []string{"bjensen", "Alice_100%"}},
	{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, []string{"bjensen", "Alice_100%"}},
	{`emails[type eq "home"]`, []string{"bjensen"}},
	{`emails[type eq "work"].value eq "JOHN@example.org"`, []string{"jsmith"}}, // Entra's form
	{`addresses[locality eq "hollywood"]`, []string{"jsmith"}},
	{`externalId eq "ext-j"`, []string{"jsmith"}},
	{`externalId eq "EXT-J"`, []string{}}, // caseExact (RFC 7643 §3.1)
	{`externalId sw "ext-"`, []string{"bjensen", "jsmith"}},
	{`externalId co "B"`, []string{"bjensen"}},
	{`externalId co "b"`, []string{}},
	{`externalId pr`, []string{"bjensen", "jsmith"}},
	{`active eq false`, []string{"Alice_100%"}},
	{`active eq true and userType eq "employee"`, []string{"bjensen"}},
	{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, []string{"Alice_100%"}},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, []string{"Alice_100%"}},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`, []string{"Alice_100%"}},
	{`meta.lastModified gt "2011-05-13T04:42:34Z"`, []string{"bjensen", "jsmith", "Alice_100%"}},
	{`meta.lastModified ge "2011-05-13T04:42:34Z"`, []string{"bjensen", "jsmith", "Alice_100%"}},
	{`meta.lastModified lt "2011-05-13T04:42:34Z"`, []string{}},
	{`meta.lastModified le "2011-05-13T04:42:34Z"`, []string{}},
	{`meta.created lt "2999-01-01T02:00:00+02:00"`, []string{"bjensen", "jsmith", "Alice_100%"}},
	{`userName gt "bjensen"`, []string{"jsmith"}},
	{`userName eq "nobody" or (displayName eq "x" and userName pr)`, []string{}},
}

func testFilters(t *testing.T, db *store.DB) {
	ctx := context.Background()
	orgID := newOrg(t, db)
	seedUsers(t, db, orgID)
	for _, tt := range filterTests {
		f, err := filter.Parse(tt.filter)
		if err != nil {
			t.Fatalf("filter.Parse(%q): %v", tt.filter, err)
		}
		users, total, err := db.ListUsers(ctx, orgID, scim.ListQuery{Filter: f, StartIndex: 1, Count: 100})
		if err != nil {
			t.Errorf("ListUsers(%q): %v", tt.filter, err)
			continue
		}
		got := userNames(users)
		sort.Strings(got)
		want := append([]string{}, tt.want...)
		sort.Strings(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListUsers(%q) mismatch (-want +got):\n%s", tt.filter, diff)
		}
		if total != len(tt.want) {
			t.Errorf("ListUsers(%q) total = %d, want %d", tt.filter, total, len(tt.want))
		}
	}
}

func TestListUsersFilterPostgres(t *testing.T) {
	t.Parallel()
	testFilters(t, testenv.DB(t))
}

func TestListUsersFilterSQLite(t *testing.T) {
	t.Parallel()
	testFilters(t, testenv.SQLiteDB(t))
}

func TestListUsersInvalidFilter(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	orgID := newOrg(t, db)
	for _, s := range []string{
		`foo eq "x"`,                    // unknown attribute
		`active eq "maybe"`,             // not a boolean
		`active gt true`,                // no ordering on booleans
		`meta.created gt "yesterday"`,   // not a date-time
		`userName eq 5`,                 // not a string
		`emails[type eq "work"] eq "x"`, // not a valid form at all
		`name eq "x"`,                   // complex attribute without sub-attribute
		`emails[foo eq "x"]`,            // unknown sub-attribute
		`addresses[value eq "x"]`,       // addresses have no value
	} {
		f, err := filter.Parse(s)
		if err != nil {
			continue // rejected by the parser: fine too
		}
		_, _, err = db.ListUsers(context.Background(), orgID, scim.ListQuery{Filter: f, StartIndex: 1, Count: 10})
		var e *scimflow.Error
		if !errors.As(err, &e) || e.SCIMType != scimflow.SCIMInvalidFilter {
			t.Errorf("ListUsers(%q) error = %v, want invalidFilter", s, err)
		}
	}
}

func TestListUsersPagingAndSort(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	orgID := newOrg(t, db)
	seedUsers(t, db, orgID)
	tests := []struct {
		q    scim.ListQuery
		want []string
	}{
		{scim.ListQuery{StartIndex: 1, Count: 2, SortBy: "userName"}, []string{"Alice_100%", "bjensen"}},
		{scim.ListQuery{StartIndex: 3, Count: 2, SortBy: "userName"}, []string{"jsmith"}},
		{scim.ListQuery{StartIndex: 4, Count: 2}, nil},
		{scim.ListQuery{StartIndex: 1, Count: 0}, nil},
		{scim.ListQuery{StartIndex: 1, Count: 10, SortBy: "userName"}, []string{"Alice_100%", "bjensen", "jsmith"}},
		{scim.ListQuery{StartIndex: 1, Count: 10, SortBy: "USERNAME", Descending: true}, []string{"jsmith", "bjensen", "Alice_100%"}},
		{scim.ListQuery{StartIndex: 1, Count: 10, SortBy: "emails"}, []string{"Alice_100%", "bjensen", "jsmith"}},
		{scim.ListQuery{StartIndex: 1, Count: 10, SortBy: "name.familyName"}, []string{"Alice_100%", "bjensen", "jsmith"}},
	}
	for _, tt := range tests {
		users, total, err := db.ListUsers(ctx, orgID, tt.q)
		if err != nil {
			t.Fatalf("ListUsers(%+v): %v", tt.q, err)
		}
		if total != 3 {
			t.Errorf("ListUsers(%+v) total = %d, want 3", tt.q, total)
		}
		if diff := cmp.Diff(tt.want, userNames(users), cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })); diff != "" {
			t.Errorf("ListUsers(%+v) mismatch (-want +got):\n%s", tt.q, diff)
		}
	}
	if _, _, err := db.ListUsers(ctx, orgID, scim.ListQuery{SortBy: "nonsense", Count: 1}); scimflow.ErrorCode(err) != scimflow.EINVALID {
		t.Errorf("sortBy nonsense: error = %v, want EINVALID", err)
	}
}

func TestUserRoundTrip(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	orgID := newOrg(t, db)
	in := &scimflow.User{UserName: "rt", ExternalID: "x1", Active: true, DisplayName: "R T", Locale: "en-US",
		Name:         scimflow.Name{GivenName: "R", FamilyName: "T", HonorificPrefix: "Dr"},
		Emails:       []scimflow.MultiValue{{Value: "a@x", Type: "work", Primary: true}, {Value: "b@x", Type: "home"}},
		PhoneNumbers: []scimflow.MultiValue{{Value: "+1 555", Type: "mobile"}},
		Addresses:    []scimflow.Address{{Type: "work", StreetAddress: "1 Main St", Locality: "X", PostalCode: "123", Country: "US", Primary: true}},
		Roles:        []scimflow.MultiValue{{Value: "r1"}},
		Enterprise:   &scimflow.EnterpriseUser{EmployeeNumber: "7", Manager: &scimflow.Manager{Value: "m", DisplayName: "Boss"}},
	}
	created, err := db.CreateUser(ctx, orgID, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.FindUser(ctx, orgID, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("FindUser after CreateUser mismatch (-created +found):\n%s", diff)
	}
	if got.Version != 1 || got.Role != scimflow.RoleMember {
		t.Errorf("new user version=%d role=%s, want 1 member", got.Version, got.Role)
	}
	updated, err := db.UpdateUser(ctx, orgID, created.ID, func(u *scimflow.User) error {
		u.Active, u.Emails, u.Enterprise = false, nil, nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Version != 2 || updated.Active || updated.Emails != nil || updated.Enterprise != nil {
		t.Errorf("after update: %+v", updated)
	}
	again, _ := db.FindUser(ctx, orgID, created.ID)
	if diff := cmp.Diff(updated, again); diff != "" {
		t.Errorf("FindUser after UpdateUser mismatch (-updated +found):\n%s", diff)
	}
}

func TestUserUniqueness(t *testing.T) {
	t.Parallel()
	for name, db := range map[string]*store.DB{"postgres": testenv.DB(t), "sqlite": testenv.SQLiteDB(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			orgA, orgB := newOrg(t, db), newOrg(t, db)
			if _, err := db.CreateUser(ctx, orgA, &scimflow.User{UserName: "Dup", ExternalID: "E"}); err != nil {
				t.Fatal(err)
			}
			for _, u := range []*scimflow.User{{UserName: "dUP"}, {UserName: "dup", ExternalID: "other"}} {
				_, err := db.CreateUser(ctx, orgA, u)
				var e *scimflow.Error
				if !errors.As(err, &e) || e.Code != scimflow.ECONFLICT || e.SCIMType != scimflow.SCIMUniqueness {
					t.Errorf("CreateUser(%+v) error = %v, want uniqueness conflict", u, err)
				}
			}
			// externalId is not unique (RFC 7643 §3.1, migration 00006).
			if _, err := db.CreateUser(ctx, orgA, &scimflow.User{UserName: "other", ExternalID: "E"}); err != nil {
				t.Errorf("second user with externalId E: %v, want it created", err)
			}
			// Another org may use the same names.
			if _, err := db.CreateUser(ctx, orgB, &scimflow.User{UserName: "dup", ExternalID: "E"}); err != nil {
				t.Errorf("same userName in another org: %v", err)
			}
			// Case folding is Unicode-aware on both databases.
			if _, err := db.CreateUser(ctx, orgA, &scimflow.User{UserName: "ÄNNE@x.com"}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.CreateUser(ctx, orgA, &scimflow.User{UserName: "änne@x.com"}); scimflow.ErrorCode(err) != scimflow.ECONFLICT {
				t.Errorf("userName differing only in non-ASCII case: %v, want a conflict", err)
			}
			// externalId is case-exact: "e" is a different value.
			if _, err := db.CreateUser(ctx, orgA, &scimflow.User{UserName: "third", ExternalID: "e"}); err != nil {
				t.Errorf("externalId differing in case: %v", err)
			}
		})
	}
}

func TestUserTenantIsolation(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	orgA, orgB := newOrg(t, db), newOrg(t, db)
	u, err := db.CreateUser(ctx, orgA, &scimflow.User{UserName: "a-user"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindUser(ctx, orgB, u.ID); scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		t.Errorf("FindUser from other org: %v, want ENOTFOUND", err)
	}
	if _, err := db.UpdateUser(ctx, orgB, u.ID, func(*scimflow.User) error { return nil }); scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		t.Errorf("UpdateUser from other org: %v, want ENOTFOUND", err)
	}
	if err := db.DeleteUser(ctx, orgB, u.ID, nil); scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		t.Errorf("DeleteUser from other org: %v, want ENOTFOUND", err)
	}
	users, total, err := db.ListUsers(ctx, orgB, scim.ListQuery{StartIndex: 1, Count: 10})
	if err != nil || total != 0 || len(users) != 0 {
		t.Errorf("ListUsers of other org = %d users, total %d, err %v; want none", len(users), total, err)
	}
	if _, err := db.FindUser(ctx, orgA, u.ID); err != nil {
		t.Errorf("user changed by other org's calls: %v", err)
	}
}

// TestUpdateUserSerialises checks that concurrent read-modify-write updates
// of one user do not lose each other's changes: each adds one role.
func TestUpdateUserSerialises(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	orgID := newOrg(t, db)
	u, err := db.CreateUser(ctx, orgID, &scimflow.User{UserName: "busy"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.UpdateUser(ctx, orgID, u.ID, func(u *scimflow.User) error {
				u.Roles = append(u.Roles, scimflow.MultiValue{Value: string(rune('a' + i))})
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := db.FindUser(ctx, orgID, u.ID)
	if len(got.Roles) != n || got.Version != n+1 {
		t.Errorf("after %d concurrent updates: %d roles, version %d; want %d roles, version %d", n, len(got.Roles), got.Version, n, n+1)
	}
	var vals []string
	for _, r := range got.Roles {
		vals = append(vals, r.Value)
	}
	sort.Strings(vals)
	t.Logf("roles: %v", vals)
}
