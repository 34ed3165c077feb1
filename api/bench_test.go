package api_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimflow/scimflow/api"
	"github.com/scimflow/scimflow/internal/scimflow"
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

// BenchmarkFairness: 30 clients of one org (50,000 users) run the
// heaviest list a SCIM client may ask for, pages of 1,000 users, while
// another org reads one user at a time. It reports the other org's
// latency (p50, p99) with the per-org slots for heavy requests (the
// default) and without them.
func BenchmarkFairness(b *testing.B) {
	for _, c := range []struct {
		name  string
		heavy int
	}{{"per-org slots (default 2)", 0}, {"per-org slots 4", 4}, {"no per-org slots", 100_000}} {
		b.Run(c.name, func(b *testing.B) {
			env := withLimits(b, testenv.Server(b), api.Limits{Rate: -1, OrgHeavy: c.heavy})
			testenv.SeedUsers(b, env.DB, env.OrgID, 50_000)
			_, _, scimB := env.NewOrg("Other", scimflow.PlanBusiness)
			res := env.Do(scimB, "POST", "/scim/v2/Users", map[string]any{"userName": "quiet@example.com"})
			if res.Status != http.StatusCreated {
				b.Fatalf("create: %d %s", res.Status, res.Body)
			}
			uid := res.JSON(b)["id"].(string)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := range 30 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					client := &http.Client{}
					for {
						select {
						case <-stop:
							return
						default:
						}
						req, _ := http.NewRequest("GET", fmt.Sprintf("%s/scim/v2/Users?count=1000&startIndex=%d", env.URL, 1+1000*(i%40)), nil)
						req.Header.Set("Authorization", "Bearer "+env.SCIMToken)
						if r, err := client.Do(req); err == nil {
							io.Copy(io.Discard, r.Body)
							r.Body.Close()
						}
					}
				}()
			}
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if res := env.Do(scimB, "GET", "/scim/v2/Users/"+uid, nil); res.Status != http.StatusOK {
					b.Fatalf("get: %d", res.Status)
				}
				lat = append(lat, time.Since(start))
			}
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
