package store_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// TestProcessOutboxKeepsLateCommits: outbox ids are handed out at insert,
// not at commit. A row of user X that commits while a batch is
// recalculating X — with a lower id than the row the batch read — was not
// seen by that recalculation, so it must survive the batch.
func TestProcessOutboxKeepsLateCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	org := newOrg(t, db)
	u, err := db.CreateUser(ctx, org, &scimflow.User{UserName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.SQL()
	insert := `INSERT INTO recalc_outbox (org_id, user_id, reason, created_at) VALUES ($1, $2, 'member_added', $3) RETURNING id`

	slow, err := sqlDB.BeginTx(ctx, nil) // a SCIM PATCH that has not committed yet
	if err != nil {
		t.Fatal(err)
	}
	var lateID, earlyID int64
	if err := slow.QueryRowContext(ctx, insert, org, u.ID, time.Now()).Scan(&lateID); err != nil {
		t.Fatal(err)
	}
	if err := sqlDB.QueryRowContext(ctx, insert, org, u.ID, time.Now()).Scan(&earlyID); err != nil {
		t.Fatal(err)
	}
	// Hold X's row so the batch stops inside its recalculation.
	blocker, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.ExecContext(ctx, "SELECT id FROM users WHERE id = $1 FOR UPDATE", u.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, _, err := db.ProcessOutbox(ctx, org, 100)
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		sqlDB.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&waiting)
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch never waited for the user lock")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	if err := slow.Commit(); err != nil { // the late row commits mid-batch
		t.Fatal(err)
	}
	blocker.Rollback()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var left []int64
	rows, _ := sqlDB.QueryContext(ctx, "SELECT id FROM recalc_outbox WHERE org_id = $1", org)
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		left = append(left, id)
	}
	rows.Close()
	if len(left) != 1 || left[0] != lateID {
		t.Fatalf("after the batch the outbox holds %v, want only the late row %d (early row %d)", left, lateID, earlyID)
	}
}

// TestGroupMemberPage pages through a group with a keyset cursor, and the
// same statement tells a deleted group (ENOTFOUND) from an exhausted one
// (an empty page), also for a group of another org.
func TestGroupMemberPage(t *testing.T) {
	t.Parallel()
	for name, db := range map[string]*store.DB{"postgres": testenv.DB(t), "sqlite": testenv.SQLiteDB(t)} {
		t.Run(name, func(t *testing.T) { testGroupMemberPage(t, db) })
	}
}

func testGroupMemberPage(t *testing.T, db *store.DB) {
	ctx := context.Background()
	org, other := newOrg(t, db), newOrg(t, db)
	ids := createUsers(t, db, org, 5)
	g, err := db.CreateGroup(ctx, org, &scimflow.Group{DisplayName: "g"}, ids)
	if err != nil {
		t.Fatal(err)
	}
	got, counted := pageLane(t, db, org, g.ID, store.MemberPage{Limit: 2})
	sort.Strings(ids)
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if counted != len(ids) {
		t.Errorf("without a cutoff %d of %d members counted, want all", counted, len(ids))
	}
	if _, _, err := db.GroupMemberPage(ctx, other, g.ID, store.MemberPage{Limit: 2}); scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		t.Errorf("GroupMemberPage of another org's group = %v, want ENOTFOUND", err)
	}
	if err := db.DeleteGroup(ctx, org, g.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.GroupMemberPage(ctx, org, g.ID, store.MemberPage{Limit: 2}); scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		t.Errorf("GroupMemberPage of a deleted group = %v, want ENOTFOUND", err)
	}
	if _, _, err := db.GroupMemberPage(ctx, org, g.ID, store.MemberPage{From: "4", To: "8", Limit: 2}); scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		t.Errorf("GroupMemberPage of a lane of a deleted group = %v, want ENOTFOUND", err)
	}
}

// TestGroupMemberPageLanes pages a group lane by lane, as a pass with four
// lanes does: each lane returns only ids in its range, and together the
// lanes return every member exactly once. Members added after the pass's
// cutoff are paged but not counted, so a pass's progress cannot pass the
// total StartGroupPass counted; the stored progress only grows and never
// passes that total either.
func TestGroupMemberPageLanes(t *testing.T) {
	t.Parallel()
	for name, db := range map[string]*store.DB{"postgres": testenv.DB(t), "sqlite": testenv.SQLiteDB(t)} {
		t.Run(name, func(t *testing.T) { testGroupMemberPageLanes(t, db) })
	}
}

func testGroupMemberPageLanes(t *testing.T, db *store.DB) {
	ctx := context.Background()
	org := newOrg(t, db)
	ids := createUsers(t, db, org, 40)
	before, late := ids[:32], ids[32:]
	g, err := db.CreateGroup(ctx, org, &scimflow.Group{DisplayName: "g"}, before)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := db.SetGroupMappings(ctx, org, g.ID, nil, nil) // a pending recalculation
	if err != nil {
		t.Fatal(err)
	}
	pass, err := db.StartGroupPass(ctx, org, g.ID, rec.MappingVersion, "wf")
	total, cutoff := pass.Members, pass.Cutoff
	if err != nil {
		t.Fatal(err)
	}
	if total != int64(len(before)) || cutoff.IsZero() {
		t.Fatalf("StartGroupPass = %d members, cutoff %v; want %d and a cutoff", total, cutoff, len(before))
	}
	if len(pass.Recalculations) != 1 || pass.Recalculations[0] != rec.ID {
		t.Errorf("StartGroupPass serves recalculations %v, want [%s]", pass.Recalculations, rec.ID)
	}
	// Members added once the store's clock has passed the cutoff.
	for !time.Now().After(cutoff.Add(time.Millisecond)) {
		time.Sleep(time.Millisecond) // the clock has millisecond steps
	}
	add := scimflow.MemberOp{Kind: scimflow.MembersAdd, UserIDs: late}
	if _, err := db.UpdateGroup(ctx, org, g.ID, scimflow.GroupChange{Members: []scimflow.MemberOp{add}}); err != nil {
		t.Fatal(err)
	}

	lanes := []store.MemberPage{{To: "4"}, {From: "4", To: "8"}, {From: "8", To: "c"}, {From: "c"}}
	var all []string
	counted := 0
	for _, lane := range lanes {
		lane.Limit, lane.Cutoff = 3, cutoff
		got, n := pageLane(t, db, org, g.ID, lane)
		for _, id := range got {
			if id < lane.From || (lane.To != "" && id >= lane.To) {
				t.Errorf("lane [%q, %q) returned %s", lane.From, lane.To, id)
			}
		}
		all, counted = append(all, got...), counted+n
	}
	sort.Strings(all)
	sort.Strings(ids)
	if diff := cmp.Diff(ids, all); diff != "" {
		t.Errorf("the lanes together (-want every member once +got):\n%s", diff)
	}
	if counted != len(before) {
		t.Errorf("%d members counted, want the %d added by the cutoff", counted, len(before))
	}

	// The stored progress: lanes report lower bounds out of order.
	for _, p := range []int64{10, 6, 31, 50} {
		if err := db.RecordGroupProgress(ctx, org, g.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	r, err := db.FindRecalculation(ctx, org, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Processed != total || r.Total != total {
		t.Errorf("stored progress %d of %d after reports 10, 6, 31, 50; want %d of %d", r.Processed, r.Total, total, total)
	}
	// The next pass counts the late members too.
	if pass, err := db.StartGroupPass(ctx, org, g.ID, rec.MappingVersion, "wf"); err != nil || pass.Members != int64(len(ids)) {
		t.Errorf("second StartGroupPass = %d, %v; want %d members", pass.Members, err, len(ids))
	}
}

// pageLane pages through one lane of a group from its start, as the
// workflow's batches do, and returns the ids in the order read and how
// many were counted.
func pageLane(t *testing.T, db *store.DB, orgID, groupID string, p store.MemberPage) ([]string, int) {
	t.Helper()
	var ids []string
	counted := 0
	for {
		page, n, err := db.GroupMemberPage(context.Background(), orgID, groupID, p)
		if err != nil {
			t.Fatalf("GroupMemberPage(%+v) = %v", p, err)
		}
		if !sort.StringsAreSorted(page) {
			t.Errorf("page %v is not in id order", page)
		}
		ids, counted = append(ids, page...), counted+n
		if len(page) < p.Limit {
			return ids, counted
		}
		p.After = page[len(page)-1]
	}
}

func createUsers(t *testing.T, db *store.DB, orgID string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		u, err := db.CreateUser(context.Background(), orgID, &scimflow.User{UserName: fmt.Sprint("user", i), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	return ids
}

// TestWritesSurviveTerminatedConnections: after the database drops every
// pooled connection (a restart, a failover, pg_terminate_backend), a
// write is retried once on a fresh connection and succeeds; a read is
// retried by the pool or answered as unavailable (503), never as an
// internal error.
func TestWritesSurviveTerminatedConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	org := newOrg(t, db)
	var ids []string
	for i := range 4 {
		u, err := db.CreateUser(ctx, org, &scimflow.User{UserName: fmt.Sprint("u", i), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	sqlDB, _ := db.SQL()
	parallel := func(fn func(id string) error) error {
		errs := make(chan error, len(ids))
		for _, id := range ids {
			go func() { errs <- fn(id) }()
		}
		var first error
		for range ids {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	for round := range 5 {
		// Fill the pool with connections used just now (so the pool does
		// not ping them), then kill every one but the killer's.
		parallel(func(string) error { _, err := sqlDB.ExecContext(ctx, "SELECT pg_sleep(0.02)"); return err })
		if _, err := sqlDB.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"); err != nil {
			t.Fatal(err)
		}
		title := fmt.Sprintf("round %d", round)
		err := parallel(func(id string) error {
			_, err := db.UpdateUser(ctx, org, id, func(u *scimflow.User) error { u.Title = title; return nil })
			return err
		})
		if err != nil {
			t.Fatalf("round %d: write after terminated connections = %v", round, err)
		}
		parallel(func(string) error { _, err := sqlDB.ExecContext(ctx, "SELECT pg_sleep(0.02)"); return err })
		sqlDB.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
		err = parallel(func(id string) error { _, err := db.FindUser(ctx, org, id); return err })
		if err != nil && scimflow.ErrorCode(err) != scimflow.EUNAVAILABLE {
			t.Fatalf("round %d: read after terminated connections = %v, want success or EUNAVAILABLE", round, err)
		}
	}
}
