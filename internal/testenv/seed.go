package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scimflow/scimflow/internal/store"
)

// SeedUsers inserts n SCIM users into org with one set-based statement
// (Postgres only) and returns the id prefix: user i has id prefix+i and
// userName "<prefix><i>@example.com". Going through the API would make a
// 100,000-user setup take minutes.
func SeedUsers(t testing.TB, db *store.DB, orgID string, n int) string {
	t.Helper()
	prefix := "seed-" + uuid.NewString()[:8] + "-"
	sqlDB, err := db.SQL()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	_, err = sqlDB.ExecContext(context.Background(), `
		INSERT INTO users (id, org_id, source, user_name, display_name, created_at, updated_at)
		SELECT $1 || i, $2, 'scim', $1 || i || '@example.com', 'Seed ' || i, $3, $3
		FROM generate_series(1, $4) AS i`, prefix, orgID, now, n)
	if err != nil {
		t.Fatalf("seed users: %v", err)
	}
	return prefix
}

// SeedGroup inserts a group whose members are the seeded users 1..n of
// prefix, and returns its id.
func SeedGroup(t testing.TB, db *store.DB, orgID, name, prefix string, n int) string {
	t.Helper()
	sqlDB, err := db.SQL()
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	now := time.Now().UTC()
	ctx := context.Background()
	if _, err := sqlDB.ExecContext(ctx, `INSERT INTO groups (id, org_id, display_name, version, created_at, updated_at)
		VALUES ($1, $2, $3, 1, $4, $4)`, id, orgID, name, now); err != nil {
		t.Fatalf("seed group: %v", err)
	}
	if _, err := sqlDB.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id, created_at)
		SELECT $1, $2 || i, $3 FROM generate_series(1, $4) AS i`, id, prefix, now, n); err != nil {
		t.Fatalf("seed members: %v", err)
	}
	if _, err := sqlDB.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	return id
}

// SeededUserID is the id of seeded user i (1-based).
func SeededUserID(prefix string, i int) string { return fmt.Sprintf("%s%d", prefix, i) }

// SeedEntryPoints inserts n entry points into org and returns their ids.
func SeedEntryPoints(t testing.TB, db *store.DB, orgID string, n int) []string {
	t.Helper()
	sqlDB, err := db.SQL()
	if err != nil {
		t.Fatal(err)
	}
	prefix := "ep-" + uuid.NewString()[:8] + "-"
	now := time.Now().UTC()
	_, err = sqlDB.ExecContext(context.Background(), `INSERT INTO entry_points (id, org_id, name, created_at, updated_at)
		SELECT $1 || i, $2, 'Entry point ' || $1 || i, $3, $3 FROM generate_series(1, $4) AS i`, prefix, orgID, now, n)
	if err != nil {
		t.Fatalf("seed entry points: %v", err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return ids
}
