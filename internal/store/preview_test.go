package store_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/scimflow/scimflow/internal/access"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
)

// runPreviewMatchesApply holds the preview of random mapping changes
// against the result of applying them: the stored effective roles of the
// group's members before and after the recalculation, compared per entry
// point, give exactly the preview's gain, lose, raise and lower counts,
// and every sampled user really changes as the sample says.
func runPreviewMatchesApply(t *testing.T, w *world, rng *rand.Rand, rounds int) {
	ctx := context.Background()
	db := w.db
	if _, err := db.RecalculateUsers(ctx, w.org, w.users, nil); err != nil {
		t.Fatal(err)
	}
	for round := range rounds {
		g := w.groups[rng.IntN(len(w.groups))]
		var next []scimflow.Mapping
		for _, ep := range w.eps {
			if rng.IntN(2) == 0 {
				next = append(next, scimflow.Mapping{GroupID: g, EntryPointID: ep, Role: access.Roles()[rng.IntN(5)].String()})
			}
		}
		im, err := db.PreviewGroupMappings(ctx, w.org, g, next)
		if err != nil {
			t.Fatal(err)
		}
		before, err := db.EffectiveRoles(ctx, w.org)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetGroupMappings(ctx, w.org, g, next, nil); err != nil {
			t.Fatal(err)
		}
		w.maps[g] = next
		if _, err := db.RecalculateUsers(ctx, w.org, w.users, nil); err != nil {
			t.Fatal(err)
		}
		after, err := db.EffectiveRoles(ctx, w.org)
		if err != nil {
			t.Fatal(err)
		}
		type tally struct{ gain, lose, raise, lower int64 }
		want := map[string]*tally{}
		affected := map[string]bool{}
		for _, ep := range w.eps {
			want[ep] = &tally{}
		}
		for u := range w.members[g] {
			for _, ep := range w.eps {
				k := [2]string{u, ep}
				from, _ := access.ParseRole(before[k])
				to, _ := access.ParseRole(after[k])
				switch {
				case from == to:
					continue
				case from == access.None:
					want[ep].gain++
				case to == access.None:
					want[ep].lose++
				case to > from:
					want[ep].raise++
				default:
					want[ep].lower++
				}
				affected[u] = true
			}
		}
		got := map[string]*tally{}
		for _, ep := range w.eps {
			got[ep] = &tally{}
		}
		for _, e := range im.EntryPoints {
			got[e.ID] = &tally{e.Gain, e.Lose, e.Raise, e.Lower}
		}
		for _, ep := range w.eps {
			if *got[ep] != *want[ep] {
				t.Errorf("round %d, entry point %s: preview %+v, applying gave %+v", round, ep, *got[ep], *want[ep])
			}
		}
		if im.UsersAffected != int64(len(affected)) {
			t.Errorf("round %d: usersAffected %d, applying changed %d users", round, im.UsersAffected, len(affected))
		}
		if im.Members != int64(len(w.members[g])) {
			t.Errorf("round %d: members %d, want %d", round, im.Members, len(w.members[g]))
		}
		for _, s := range im.Sample {
			k := [2]string{s.UserID, s.EntryPointID}
			if before[k] != s.From || after[k] != s.To {
				t.Errorf("round %d: sample %+v, but %s went from %q to %q", round, s, s.UserName, before[k], after[k])
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

func TestPreviewMatchesApplyPostgres(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	db := testenv.DB(t)
	runPreviewMatchesApply(t, newWorld(t, db, rng, 40, 6, 6), rng, 25)
}

func TestPreviewMatchesApplySQLite(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	db := testenv.SQLiteDB(t)
	runPreviewMatchesApply(t, newWorld(t, db, rng, 40, 6, 6), rng, 25)
}

// TestPreviewManyOtherGroups: with more other groups on the changed entry
// points than one mask column holds (62), the combinations span several.
func TestPreviewManyOtherGroups(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *store.DB{"postgres": testenv.DB, "sqlite": testenv.SQLiteDB} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(11, 12))
			runPreviewMatchesApply(t, newWorld(t, open(t), rng, 30, 150, 2), rng, 3)
		})
	}
}
