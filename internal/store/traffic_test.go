package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

func TestSCIMTrafficPostgres(t *testing.T) { t.Parallel(); testSCIMTraffic(t, testenv.DB(t)) }
func TestSCIMTrafficSQLite(t *testing.T)   { t.Parallel(); testSCIMTraffic(t, testenv.SQLiteDB(t)) }

// testSCIMTraffic adds counts twice to the same hour (they add up) and
// more failures than the ring keeps (the newest stay).
func testSCIMTraffic(t *testing.T, db *store.DB) {
	ctx := context.Background()
	orgID, other := newOrg(t, db), newOrg(t, db)
	tok, _, err := db.CreateToken(ctx, orgID, store.NewToken{Scope: scimflow.ScopeSCIM, Name: "idp"})
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Now().UTC().Truncate(time.Hour)
	at := hour.Add(90 * time.Second)
	for i := 0; i < 2; i++ {
		c := []scimflow.TrafficCount{{TokenID: tok.ID, OrgID: orgID, Hour: hour, Requests: 10, Errors: 3, LastAt: at.Add(time.Duration(i) * time.Second)},
			{TokenID: tok.ID, OrgID: orgID, Hour: hour.Add(-48 * time.Hour), Requests: 100, Errors: 100, LastAt: hour.Add(-47 * time.Hour)},
			{TokenID: "deleted-token", OrgID: orgID, Hour: hour, Requests: 1, LastAt: at}}
		if err := db.AddSCIMTraffic(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.SCIMTraffic(ctx, orgID, time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tr := got[tok.ID]
	if tr.Requests != 20 || tr.Errors != 6 || tr.LastAt == nil || !tr.LastAt.Equal(at.Add(time.Second)) || len(got) != 1 {
		t.Errorf("traffic = %+v (%d tokens), want 20 requests, 6 errors, last at %v", tr, len(got), at.Add(time.Second))
	}

	var fs []scimflow.SCIMFailure
	for i := 0; i < store.FailureRing+5; i++ {
		fs = append(fs, scimflow.SCIMFailure{TokenID: tok.ID, OrgID: orgID, At: at, Method: "POST", Path: fmt.Sprintf("/scim/v2/Users/%d", i), Status: 409, SCIMType: "uniqueness", Detail: "taken"})
	}
	for _, batch := range [][]scimflow.SCIMFailure{fs[:7], fs[7:]} {
		if err := db.AddSCIMTraffic(ctx, nil, batch); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := db.SCIMFailures(ctx, orgID, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != store.FailureRing || kept[0].Path != fs[len(fs)-1].Path || kept[len(kept)-1].Path != fs[5].Path || kept[0].SCIMType != "uniqueness" {
		t.Errorf("kept %d failures, newest %+v, oldest %+v; want the %d newest", len(kept), kept[0], kept[len(kept)-1], store.FailureRing)
	}
	if _, err := db.SCIMFailures(ctx, other, tok.ID); scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		t.Errorf("another org's token: %v, want ENOTFOUND", err)
	}
	if err := db.PruneSCIMTraffic(ctx); err != nil {
		t.Fatal(err)
	}
}
