package benchseed_test

import (
	"context"
	"testing"

	"github.com/scimflow/scimflow/internal/benchseed"
	"github.com/scimflow/scimflow/internal/testenv"
)

// TestSeed seeds a small org and checks it against the product: the
// materialised effective roles are what a recalculation from scratch
// computes, and the ids are the ones benchseed's Go functions name.
func TestSeed(t *testing.T) {
	ctx := context.Background()
	env := testenv.Server(t)
	sqlDB, err := env.DB.SQL()
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	o, err := benchseed.Seed(ctx, sqlDB, env.OrgID, n, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	var members, groups, perUser int
	if err := sqlDB.QueryRow("SELECT count(*) FROM group_members WHERE group_id = $1", o.Target).Scan(&members); err != nil {
		t.Fatal(err)
	}
	if members != n {
		t.Errorf("target has %d members, want %d", members, n)
	}
	if err := sqlDB.QueryRow("SELECT count(*) FROM groups WHERE org_id = $1", env.OrgID).Scan(&groups); err != nil {
		t.Fatal(err)
	}
	if groups != benchseed.Groups {
		t.Errorf("%d groups, want %d", groups, benchseed.Groups)
	}
	u := benchseed.UserID(env.OrgID, 7)
	if err := sqlDB.QueryRow("SELECT count(*) FROM group_members WHERE user_id = $1", u).Scan(&perUser); err != nil {
		t.Fatal(err)
	}
	if perUser != benchseed.GroupsPerUser {
		t.Errorf("user %s is in %d groups, want %d", u, perUser, benchseed.GroupsPerUser)
	}
	if want := int64(n * benchseed.EntryPointsPerMap); o.EffectiveRoles < want {
		t.Errorf("%d effective roles, want at least %d (the target's)", o.EffectiveRoles, want)
	}
	var users []string
	for i := 1; i <= n; i++ {
		users = append(users, benchseed.UserID(env.OrgID, i))
	}
	changed, err := env.DB.RecalculateUsers(ctx, env.OrgID, users, nil)
	if err != nil {
		t.Fatal(err)
	}
	if changed != 0 {
		t.Errorf("a recalculation from scratch changed %d rows of the seed, want 0", changed)
	}
}
