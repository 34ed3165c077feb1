package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// seedManyUsers inserts n SCIM users (with one work email each) in one
// set-based statement: creating them through the API would dominate the
// benchmark's setup time.
func seedManyUsers(b *testing.B, db *store.DB, orgID string, n int) {
	b.Helper()
	sqlDB, err := db.SQL()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	_, err = sqlDB.ExecContext(ctx, `
		INSERT INTO users (id, org_id, source, user_name, external_id, created_at, updated_at)
		SELECT 'u-' || i, $1, 'scim', 'user' || i || '@example.com', 'ext-' || i, now(), now()
		FROM generate_series(1, $2) AS i`, orgID, n)
	if err != nil {
		b.Fatal(err)
	}
	_, err = sqlDB.ExecContext(ctx, `
		INSERT INTO user_values (user_id, attr, ord, value, type, is_primary)
		SELECT 'u-' || i, 'emails', 0, 'user' || i || '@example.com', 'work', true
		FROM generate_series(1, $1) AS i`, n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, "ANALYZE users; ANALYZE user_values"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLookup100k measures the lookups IdPs make before every create
// and update (userName eq, externalId eq, Entra's email filter) in an org
// of 100,000 users. Each must use an index: a scan costs tens of ms.
func BenchmarkLookup100k(b *testing.B) {
	db := testenv.DB(b)
	orgID := newOrg(b, db)
	seedManyUsers(b, db, orgID, 100_000)
	ctx := context.Background()
	for _, f := range []string{
		`userName eq "USER77777@example.com"`,
		`externalId eq "ext-77777"`,
		`emails[type eq "work"].value eq "user77777@example.com"`,
	} {
		expr, err := filter.Parse(f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f, func(b *testing.B) {
			for b.Loop() {
				users, total, err := db.ListUsers(ctx, orgID, scim.ListQuery{Filter: expr, StartIndex: 1, Count: 100})
				if err != nil || total != 1 || len(users) != 1 {
					b.Fatalf("ListUsers(%s) = %d users, total %d, %v", f, len(users), total, err)
				}
			}
		})
	}
	b.Run("page of 100", func(b *testing.B) {
		for b.Loop() {
			users, _, err := db.ListUsers(ctx, orgID, scim.ListQuery{StartIndex: 50_001, Count: 100})
			if err != nil || len(users) != 100 {
				b.Fatal(fmt.Sprint(len(users), err))
			}
		}
	})
}
