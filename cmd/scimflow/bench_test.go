package main

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkMemberAccessDev measures, in `scimflow dev` (embedded SQLite
// and Temporal, as a newcomer runs it), how long after an IdP's PATCH
// adding a user to a mapped group that user's access is effective: the
// time until GET /api/v1/users/{id}/entry-points shows the role. It
// reports the median and the 95th percentile.
//
//	go test -run '^$' -bench MemberAccessDev -benchtime 50x ./cmd/scimflow/
func BenchmarkMemberAccessDev(b *testing.B) {
	dir := b.TempDir()
	vars := map[string]string{"SCIMFLOW_DATA_DIR": dir, "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0"}
	base, _, _ := startServer(b, vars, "dev")
	creds := readDevCredentials(b, dir)
	call := mustCall(b, base, http.Header{"Content-Type": {"application/json"}})
	ep := call("POST", "/api/v1/entry-points", creds.AdminToken, `{"name":"Flows"}`)["id"].(string)
	gid := call("POST", "/scim/v2/Groups", creds.SCIMToken, `{"displayName":"Bench"}`)["id"].(string)
	rec := call("PUT", "/api/v1/scim/groups/"+gid+"/entry-points", creds.AdminToken, `{"entryPoints":[{"id":"`+ep+`","role":"approver"}]}`)
	_ = rec
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		uid := call("POST", "/scim/v2/Users", creds.SCIMToken, fmt.Sprintf(`{"userName":"bench%d@example.com"}`, i))["id"].(string)
		b.StartTimer()
		start := time.Now()
		call("PATCH", "/scim/v2/Groups/"+gid, creds.SCIMToken,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"`+uid+`"}]}]}`)
		for {
			acc := call("GET", "/api/v1/users/"+uid+"/entry-points", creds.AdminToken, "")
			if eps, _ := acc["entryPoints"].([]any); len(eps) == 1 {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("user %d has no access after 30s", i)
			}
			time.Sleep(10 * time.Millisecond) // polling interval
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2].Seconds()*1000, "p50-ms")
	b.ReportMetric(lat[(len(lat)*95+99)/100-1].Seconds()*1000, "p95-ms")
}
