package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/scimflow/scimflow/internal/testenv"
)

// BenchmarkGroupPatch measures what an IdP pays for membership changes,
// through HTTP, on a real Postgres:
//   - one member added and removed again (two PATCHes) in groups of 10 and
//     100,000 members: the cost must not depend on the group's size;
//   - one PATCH adding 10,000 members (then one removing them).
func BenchmarkGroupPatch(b *testing.B) {
	env := testenv.Server(b)
	prefix := testenv.SeedUsers(b, env.DB, env.OrgID, 110_001)
	for _, size := range []int{10, 100_000} {
		gid := testenv.SeedGroup(b, env.DB, env.OrgID, fmt.Sprintf("size %d", size), prefix, size)
		extra := testenv.SeededUserID(prefix, 110_001)
		add := patchOp(map[string]any{"op": "Add", "path": "members", "value": members(extra)})
		remove := patchOp(map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", extra)})
		b.Run(fmt.Sprintf("add+remove one member/group of %d", size), func(b *testing.B) {
			for b.Loop() {
				if res := env.SCIM("PATCH", "/scim/v2/Groups/"+gid, add); res.Status != http.StatusNoContent {
					b.Fatalf("add: %d %s", res.Status, res.Body)
				}
				if res := env.SCIM("PATCH", "/scim/v2/Groups/"+gid, remove); res.Status != http.StatusNoContent {
					b.Fatalf("remove: %d %s", res.Status, res.Body)
				}
			}
		})
	}
	gid := testenv.SeedGroup(b, env.DB, env.OrgID, "bulk", prefix, 0)
	ids := make([]string, 10_000)
	for i := range ids {
		ids[i] = testenv.SeededUserID(prefix, 100_001+i)
	}
	addAll := patchOp(map[string]any{"op": "Add", "path": "members", "value": members(ids...)})
	removeAll := patchOp(map[string]any{"op": "Remove", "path": "members", "value": members(ids...)})
	b.Run("one PATCH adding 10,000 members", func(b *testing.B) {
		for b.Loop() {
			if res := env.SCIM("PATCH", "/scim/v2/Groups/"+gid, addAll); res.Status != http.StatusNoContent {
				b.Fatalf("add 10k: %d %s", res.Status, res.Body)
			}
			b.StopTimer()
			if res := env.SCIM("PATCH", "/scim/v2/Groups/"+gid, removeAll); res.Status != http.StatusNoContent {
				b.Fatalf("remove 10k: %d %s", res.Status, res.Body)
			}
			b.StartTimer()
		}
	})
}
