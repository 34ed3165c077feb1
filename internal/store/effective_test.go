package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/access"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// world is a random org: users, groups, entry points, memberships and
// mappings, kept in memory too so that access.Effective can compute what
// the SQL should have stored.
type world struct {
	t       *testing.T
	db      *store.DB
	org     string
	users   []string
	active  map[string]bool
	groups  []string
	eps     []string
	members map[string]map[string]bool // group -> users
	maps    map[string][]scimflow.Mapping
}

func newWorld(t *testing.T, db *store.DB, rng *rand.Rand, nUsers, nGroups, nEPs int) *world {
	ctx := context.Background()
	w := &world{t: t, db: db, org: newOrg(t, db), active: map[string]bool{}, members: map[string]map[string]bool{}, maps: map[string][]scimflow.Mapping{}}
	for i := range nUsers {
		u, err := db.CreateUser(ctx, w.org, &scimflow.User{UserName: fmt.Sprintf("u%d", i), Active: rng.IntN(5) > 0})
		if err != nil {
			t.Fatal(err)
		}
		w.users = append(w.users, u.ID)
		w.active[u.ID] = u.Active
	}
	for i := range nEPs {
		ep, err := db.CreateEntryPoint(ctx, w.org, fmt.Sprintf("ep%d", i))
		if err != nil {
			t.Fatal(err)
		}
		w.eps = append(w.eps, ep.ID)
	}
	for i := range nGroups {
		var ids []string
		set := map[string]bool{}
		for _, u := range w.users {
			if rng.IntN(3) == 0 {
				ids = append(ids, u)
				set[u] = true
			}
		}
		g, err := db.CreateGroup(ctx, w.org, &scimflow.Group{DisplayName: fmt.Sprintf("g%d", i)}, ids)
		if err != nil {
			t.Fatal(err)
		}
		w.groups = append(w.groups, g.ID)
		w.members[g.ID] = set
		w.setMappings(rng, g.ID)
	}
	return w
}

func (w *world) setMappings(rng *rand.Rand, gid string) []string {
	var ms []scimflow.Mapping
	for _, ep := range w.eps {
		if rng.IntN(2) == 0 {
			ms = append(ms, scimflow.Mapping{GroupID: gid, EntryPointID: ep, Role: access.Roles()[rng.IntN(5)].String()})
		}
	}
	rec, err := w.db.SetGroupMappings(context.Background(), w.org, gid, ms, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	w.maps[gid] = ms
	return rec.EntryPointIDs
}

// want computes every effective role from scratch with access.Effective.
func (w *world) want() map[[2]string]string {
	var all []scimflow.Mapping
	for _, ms := range w.maps {
		all = append(all, ms...)
	}
	out := map[[2]string]string{}
	for _, u := range w.users {
		var gs []string
		for g, set := range w.members {
			if set[u] {
				gs = append(gs, g)
			}
		}
		for ep, r := range access.Effective(w.active[u], gs, all) {
			out[[2]string{u, ep}] = r.String()
		}
	}
	return out
}

func (w *world) check(when string) {
	w.t.Helper()
	got, err := w.db.EffectiveRoles(context.Background(), w.org)
	if err != nil {
		w.t.Fatal(err)
	}
	if diff := cmp.Diff(w.want(), got); diff != "" {
		w.t.Fatalf("%s: stored effective roles differ from access.Effective (-want +got):\n%s", when, diff)
	}
}

// testRecalculateMatchesRule checks that the SQL materialisation mirrors
// access.Effective: from scratch, and after random changes each followed
// by a recalculation of only what the change can affect.
func testRecalculateMatchesRule(t *testing.T, db *store.DB) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	w := newWorld(t, db, rng, 30, 6, 8)
	if _, err := db.RecalculateUsers(ctx, w.org, w.users, nil); err != nil {
		t.Fatal(err)
	}
	w.check("from scratch")
	if n, err := db.RecalculateUsers(ctx, w.org, w.users, nil); err != nil || n != 0 {
		t.Fatalf("second recalculation changed %d rows (err %v), want 0: it must be idempotent", n, err)
	}
	for step := range 40 {
		g := w.groups[rng.IntN(len(w.groups))]
		u := w.users[rng.IntN(len(w.users))]
		var affected, eps []string
		switch rng.IntN(4) {
		case 0: // new mapping: the group's members, restricted to old ∪ new
			eps = w.setMappings(rng, g)
			for m := range w.members[g] {
				affected = append(affected, m)
			}
		case 1: // membership flips
			op := scimflow.MemberOp{Kind: scimflow.MembersAdd, UserIDs: []string{u}}
			if w.members[g][u] {
				op.Kind = scimflow.MembersRemove
			}
			if _, err := db.UpdateGroup(ctx, w.org, g, scimflow.GroupChange{Members: []scimflow.MemberOp{op}}); err != nil {
				t.Fatal(err)
			}
			w.members[g][u] = op.Kind == scimflow.MembersAdd
			affected = []string{u}
		case 2: // (de)activation
			if _, err := db.UpdateUser(ctx, w.org, u, func(x *scimflow.User) error { x.Active = !x.Active; return nil }); err != nil {
				t.Fatal(err)
			}
			w.active[u] = !w.active[u]
			affected = []string{u}
		case 3: // mapping removed entirely
			rec, err := db.SetGroupMappings(ctx, w.org, g, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			w.maps[g] = nil
			eps = rec.EntryPointIDs
			for m := range w.members[g] {
				affected = append(affected, m)
			}
		}
		// eps is nil for membership and activation changes: every entry point.
		if _, err := db.RecalculateUsers(ctx, w.org, affected, eps); err != nil {
			t.Fatal(err)
		}
		w.check(fmt.Sprintf("after step %d", step))
	}
}

func TestRecalculateMatchesRulePostgres(t *testing.T) {
	t.Parallel()
	testRecalculateMatchesRule(t, testenv.DB(t))
}

func TestRecalculateMatchesRuleSQLite(t *testing.T) {
	t.Parallel()
	testRecalculateMatchesRule(t, testenv.SQLiteDB(t))
}

func TestSetGroupMappingsRefusesBadInput(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	org, other := newOrg(t, db), newOrg(t, db)
	g, err := db.CreateGroup(ctx, org, &scimflow.Group{DisplayName: "g"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := db.CreateEntryPoint(ctx, org, "Flows")
	foreign, _ := db.CreateEntryPoint(ctx, other, "Theirs")
	if _, err := db.SetGroupMappings(ctx, org, g.ID, []scimflow.Mapping{{EntryPointID: ep.ID, Role: "viewer"}}, nil); err != nil {
		t.Fatal(err)
	}
	for name, ms := range map[string][]scimflow.Mapping{
		"unknown role":        {{EntryPointID: ep.ID, Role: "owner"}},
		"duplicate":           {{EntryPointID: ep.ID, Role: "viewer"}, {EntryPointID: ep.ID, Role: "admin"}},
		"unknown entry point": {{EntryPointID: "nope", Role: "viewer"}},
		"other org's":         {{EntryPointID: foreign.ID, Role: "viewer"}},
	} {
		if _, err := db.SetGroupMappings(ctx, org, g.ID, ms, nil); scimflow.ErrorCode(err) != scimflow.EINVALID {
			t.Errorf("%s: error %v, want EINVALID", name, err)
		}
	}
	got, err := db.GroupMappings(ctx, org, g.ID)
	if err != nil || len(got) != 1 || got[0].Role != "viewer" {
		t.Errorf("mappings after refused updates = %+v, %v; want the one viewer mapping", got, err)
	}
	if _, err := db.SetGroupMappings(ctx, other, g.ID, nil, nil); scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		t.Errorf("other org's group: %v, want ENOTFOUND", err)
	}
}
