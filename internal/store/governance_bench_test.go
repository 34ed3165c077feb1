package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/testenv"
)

// BenchmarkPreview100k previews an Update Group of a 100,000-member group
// (20 entry points changed) in an org where every member is also in one
// of four other groups, each mapped to some of the same entry points: the
// cost is one pass over the group's memberships, not one per entry point.
// Run: TEST_DATABASE_URL=... go test ./internal/store -run '^$' -bench BenchmarkPreview100k -benchtime 5x
func BenchmarkPreview100k(b *testing.B) {
	db := testenv.DB(b)
	ctx := context.Background()
	org := newOrg(b, db)
	const n = 100_000
	prefix := testenv.SeedUsers(b, db, org, n)
	eps := testenv.SeedEntryPoints(b, db, org, 40)
	gid := testenv.SeedGroup(b, db, org, "Everyone", prefix, n)
	for k := range 4 {
		// Other group k holds a quarter of the users and maps 10 of the
		// 20 entry points the change touches.
		other := testenv.SeedGroup(b, db, org, fmt.Sprintf("Other %d", k), prefix, n/4*(k+1))
		var ms []scimflow.Mapping
		for _, ep := range eps[k*5 : k*5+10] {
			ms = append(ms, scimflow.Mapping{EntryPointID: ep, Role: "reporter"})
		}
		if _, err := db.SetGroupMappings(ctx, org, other, ms, nil); err != nil {
			b.Fatal(err)
		}
	}
	var next []scimflow.Mapping
	for _, ep := range eps[:20] {
		next = append(next, scimflow.Mapping{EntryPointID: ep, Role: "approver"})
	}
	b.ResetTimer()
	for b.Loop() {
		im, err := db.PreviewGroupMappings(ctx, org, gid, next)
		if err != nil {
			b.Fatal(err)
		}
		if im.UsersAffected != n {
			b.Fatalf("usersAffected = %d, want %d", im.UsersAffected, n)
		}
	}
}

// BenchmarkAuditTrailPatch5000 adds 5,000 members to a group of a
// 100,000-user org in one change (a SCIM PATCH's store write), with the
// audit trail and without it, to show what the trail costs a request.
// Run: TEST_DATABASE_URL=... go test ./internal/store -run '^$' -bench BenchmarkAuditTrailPatch5000 -benchtime 10x
func BenchmarkAuditTrailPatch5000(b *testing.B) {
	db := testenv.DB(b)
	ctx := context.Background()
	org := newOrg(b, db)
	prefix := testenv.SeedUsers(b, db, org, 100_000)
	gid := testenv.SeedGroup(b, db, org, "Imported", prefix, 0)
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = testenv.SeededUserID(prefix, 10_000+i)
	}
	add := scimflow.GroupChange{Members: []scimflow.MemberOp{{Kind: scimflow.MembersAdd, UserIDs: ids}}}
	remove := scimflow.GroupChange{Members: []scimflow.MemberOp{{Kind: scimflow.MembersRemove, UserIDs: ids}}}
	for _, trail := range []bool{true, false} {
		b.Run(fmt.Sprintf("trail=%v", trail), func(b *testing.B) {
			db.SetAuditTrail(trail)
			defer db.SetAuditTrail(true)
			for b.Loop() {
				if _, err := db.UpdateGroup(ctx, org, gid, add); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if _, err := db.UpdateGroup(ctx, org, gid, remove); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
