package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/testenv"
)

// BenchmarkRecalculateUsers times one batch of the group recalculation:
// 1,000 users, each in 5 groups, 20 entry points restricted.
func BenchmarkRecalculateUsers(b *testing.B) {
	ctx := context.Background()
	db := testenv.DB(b)
	org := newOrg(b, db)
	const n = 10_000
	prefix := testenv.SeedUsers(b, db, org, n)
	eps := testenv.SeedEntryPoints(b, db, org, 500)
	var groups []string
	for g := range 5 {
		groups = append(groups, testenv.SeedGroup(b, db, org, fmt.Sprintf("G%d", g), prefix, n))
	}
	var target []string
	for g := range 5 {
		var ms []scimflow.Mapping
		for i := range 20 {
			ms = append(ms, scimflow.Mapping{EntryPointID: eps[(g*37+i*11)%500], Role: "viewer"})
		}
		if g == 0 {
			for _, m := range ms {
				target = append(target, m.EntryPointID)
			}
		}
		if _, err := db.SetGroupMappings(ctx, org, groups[g], ms, nil); err != nil {
			b.Fatal(err)
		}
	}
	users := make([]string, 1000)
	for i := range users {
		users[i] = testenv.SeededUserID(prefix, i+1)
	}
	for b.Loop() {
		if _, err := db.RecalculateUsers(ctx, org, users, target); err != nil {
			b.Fatal(err)
		}
	}
}
