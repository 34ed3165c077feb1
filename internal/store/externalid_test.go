package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// TestExternalIDNotUnique: externalId is the client's identifier, with no
// uniqueness (RFC 7643 §3.1). Users and groups sharing one are all created,
// updated and found; userName and displayName stay unique.
func TestExternalIDNotUnique(t *testing.T) {
	t.Parallel()
	for name, db := range map[string]*store.DB{"postgres": testenv.DB(t), "sqlite": testenv.SQLiteDB(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			orgID := newOrg(t, db)
			var ids []string
			for _, n := range []string{"jsmith@contoso.com", "jsmith@fabrikam.com"} {
				u, err := db.CreateUser(ctx, orgID, &scimflow.User{UserName: n, ExternalID: "jsmith", Active: true})
				if err != nil {
					t.Fatalf("CreateUser(%s, externalId jsmith): %v", n, err)
				}
				ids = append(ids, u.ID)
			}
			third, err := db.CreateUser(ctx, orgID, &scimflow.User{UserName: "jsmith@example.org", ExternalID: "other"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.UpdateUser(ctx, orgID, third.ID, func(u *scimflow.User) error { u.ExternalID = "jsmith"; return nil }); err != nil {
				t.Fatalf("UpdateUser to a shared externalId: %v", err)
			}
			ids = append(ids, third.ID)
			f, err := filter.Parse(`externalId eq "jsmith"`)
			if err != nil {
				t.Fatal(err)
			}
			users, total, err := db.ListUsers(ctx, orgID, scim.ListQuery{Filter: f, StartIndex: 1, Count: 10})
			if err != nil {
				t.Fatal(err)
			}
			// Users created in the same millisecond are ordered by id:
			// compare as sets.
			got := userIDs(users)
			slices.Sort(got)
			slices.Sort(ids)
			if total != 3 || !slices.Equal(got, ids) {
				t.Errorf("externalId eq jsmith = %v (total %d), want %v", got, total, ids)
			}
			if _, err := db.CreateUser(ctx, orgID, &scimflow.User{UserName: "JSMITH@contoso.com", ExternalID: "fresh"}); scimflow.ErrorCode(err) != scimflow.ECONFLICT {
				t.Errorf("userName collision with a fresh externalId: %v, want a conflict", err)
			}

			for _, n := range []string{"Sales", "Sales EMEA"} {
				if _, err := db.CreateGroup(ctx, orgID, &scimflow.Group{DisplayName: n, ExternalID: "g-1"}, nil); err != nil {
					t.Fatalf("CreateGroup(%s, externalId g-1): %v", n, err)
				}
			}
			groups, total, err := db.ListGroups(ctx, orgID, scim.ListQuery{Filter: mustParse(t, `externalId eq "g-1"`), StartIndex: 1, Count: 10})
			if err != nil || total != 2 || len(groups) != 2 {
				t.Errorf("groups with externalId g-1: %d (total %d, err %v), want 2", len(groups), total, err)
			}
			if _, err := db.CreateGroup(ctx, orgID, &scimflow.Group{DisplayName: "SALES", ExternalID: "g-2"}, nil); scimflow.ErrorCode(err) != scimflow.ECONFLICT {
				t.Errorf("displayName collision with a fresh externalId: %v, want a conflict", err)
			}
		})
	}
}

func mustParse(t *testing.T, s string) filter.Expr {
	t.Helper()
	f, err := filter.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func userIDs(users []*scimflow.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// TestMigration00006KeepsRows takes a database back to 00005 (unique
// externalIds) and forward again: every row survives both ways, and going
// back refuses, keeping both rows, once two users share an externalId.
func TestMigration00006KeepsRows(t *testing.T) {
	t.Parallel()
	for name, db := range map[string]*store.DB{"postgres": testenv.DB(t), "sqlite": testenv.SQLiteDB(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			orgID := newOrg(t, db)
			for i := range 3 {
				if _, err := db.CreateUser(ctx, orgID, &scimflow.User{UserName: fmt.Sprintf("u%d", i), ExternalID: fmt.Sprintf("e%d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.CreateGroup(ctx, orgID, &scimflow.Group{DisplayName: "G", ExternalID: "g"}, nil); err != nil {
				t.Fatal(err)
			}
			sqlDB, err := db.SQL()
			if err != nil {
				t.Fatal(err)
			}
			p := migrationProvider(t, db, sqlDB)
			if _, err := p.DownTo(ctx, 5); err != nil {
				t.Fatalf("down to 00005: %v", err)
			}
			if _, err := db.CreateUser(ctx, orgID, &scimflow.User{UserName: "dup", ExternalID: "e0"}); scimflow.ErrorCode(err) != scimflow.ECONFLICT {
				t.Errorf("at 00005 a shared externalId: %v, want the old conflict", err)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up again: %v", err)
			}
			if _, err := db.CreateUser(ctx, orgID, &scimflow.User{UserName: "dup", ExternalID: "e0"}); err != nil {
				t.Fatalf("at 00006 a shared externalId: %v", err)
			}
			if _, err := p.DownTo(ctx, 5); err == nil {
				t.Error("down to 00005 with a shared externalId succeeded; want it refused")
			}
			var users, groups int
			if err := sqlDB.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE source = 'scim'").Scan(&users); err != nil {
				t.Fatal(err)
			}
			if err := sqlDB.QueryRowContext(ctx, "SELECT count(*) FROM groups").Scan(&groups); err != nil {
				t.Fatal(err)
			}
			if users != 4 || groups != 1 {
				t.Errorf("after the round trips: %d users, %d groups; want 4 and 1", users, groups)
			}
			if v, err := p.GetDBVersion(ctx); err != nil || v < 6 {
				t.Errorf("version after a refused down = %d (%v), want 6 or more", v, err)
			}
		})
	}
}

func migrationProvider(t *testing.T, db *store.DB, sqlDB *sql.DB) *goose.Provider {
	t.Helper()
	dir, dialect := "migrations/postgres", goose.DialectPostgres
	if db.Dialect() == store.SQLite {
		dir, dialect = "migrations/sqlite", goose.DialectSQLite3
	}
	fsys, err := fs.Sub(store.Migrations(), dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(dialect, sqlDB, fsys)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
