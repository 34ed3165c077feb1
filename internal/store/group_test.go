package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// testMemberIDsAsOneParameter: a membership change sends its ids as one
// statement parameter (a text[] literal on Postgres, a JSON array on
// SQLite). Ids that need quoting in either form reach the database
// intact, in both the error that names unknown ids and the rows written,
// and a refused change writes nothing.
func testMemberIDsAsOneParameter(t *testing.T, db *store.DB) {
	ctx := context.Background()
	org := newOrg(t, db)
	var users []string
	for i := range 3 {
		u, err := db.CreateUser(ctx, org, &scimflow.User{UserName: fmt.Sprintf("m%d", i), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
	}
	g, err := db.CreateGroup(ctx, org, &scimflow.Group{DisplayName: "Quoted"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateGroup(ctx, org, &scimflow.Group{DisplayName: "Other"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	change := func(kind scimflow.MemberOpKind, ids ...string) error {
		_, err := db.UpdateGroup(ctx, org, g.ID, scimflow.GroupChange{Members: []scimflow.MemberOp{{Kind: kind, UserIDs: ids}}})
		return err
	}
	members := func() []string {
		t.Helper()
		ms, err := db.Members(ctx, org, g.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range ms {
			ids = append(ids, m.UserID)
		}
		slices.Sort(ids)
		return ids
	}
	want := slices.Sorted(slices.Values(users))

	// Duplicates are one member; the outbox gets each added user once.
	if err := change(scimflow.MembersAdd, users[2], users[0], users[1], users[0]); err != nil {
		t.Fatal(err)
	}
	if got := members(); !slices.Equal(got, want) {
		t.Fatalf("members = %v, want %v", got, want)
	}
	if n, _, _, err := db.ProcessOutbox(ctx, org, 100); err != nil || n != 3 {
		t.Fatalf("outbox: %d users (%v), want 3", n, err)
	}

	odd := []string{`a"b`, `back\slash`, `{brace}`, `com,ma`, `NULL`, ` space `, `ünï`, `'quote'`, `"`, `\`}
	err = change(scimflow.MembersAdd, append([]string{users[0]}, odd...)...)
	var e *scimflow.Error
	if !errors.As(err, &e) || e.SCIMType != scimflow.SCIMInvalidValue {
		t.Fatalf("adding unknown ids: %v, want invalidValue", err)
	}
	for _, id := range odd {
		if !strings.Contains(e.Message, id) {
			t.Errorf("error %q does not name %q", e.Message, id)
		}
	}
	if strings.Contains(e.Message, users[0]) {
		t.Errorf("error %q names a known user", e.Message)
	}
	err = change(scimflow.MembersAdd, other.ID, users[0])
	if !errors.As(err, &e) || !strings.Contains(e.Message, "nested groups") || !strings.Contains(e.Message, other.ID) {
		t.Errorf("adding a group: %v, want the nested groups error naming it", err)
	}
	if got := members(); !slices.Equal(got, want) {
		t.Fatalf("members after refused changes = %v, want %v", got, want)
	}
	if n, _, _, err := db.ProcessOutbox(ctx, org, 100); err != nil || n != 0 {
		t.Fatalf("outbox after refused changes: %d users (%v), want 0", n, err)
	}

	// Removing non-members (odd ids among them) removes only members.
	if err := change(scimflow.MembersRemove, append([]string{users[1]}, odd...)...); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(id string) bool { return id == users[1] })
	if got := members(); !slices.Equal(got, want) {
		t.Fatalf("members after remove = %v, want %v", got, want)
	}
	if n, _, _, err := db.ProcessOutbox(ctx, org, 100); err != nil || n != 1 {
		t.Fatalf("outbox after remove: %d users (%v), want 1", n, err)
	}
}

func TestMemberIDsAsOneParameterPostgres(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	testIDListRoundTrip(t, db)
	testMemberIDsAsOneParameter(t, db)
}

func TestMemberIDsAsOneParameterSQLite(t *testing.T) {
	t.Parallel()
	db := testenv.SQLiteDB(t)
	testIDListRoundTrip(t, db)
	testMemberIDsAsOneParameter(t, db)
}

// testIDListRoundTrip: the database reads exactly the ids sent, in order,
// whatever characters they hold.
func testIDListRoundTrip(t *testing.T, db *store.DB) {
	ids := []string{`a"b`, `back\slash`, `\"`, `{brace}`, `com,ma`, `NULL`, ` space `, `ünï`, `'quote'`, `"`, `\`, `}`, "tab\tnew\nline", "62aa5602-f0f5-4653-abac-1c7bc001b4a4"}
	rows, matched, err := db.EchoIDs(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows, ids) || !slices.Equal(matched, ids) {
		t.Errorf("sent %q\nread %q\nmatched %q", ids, rows, matched)
	}
}
