// Package benchseed fills a Postgres database with an org shaped like the
// recalculation benchmarks of issue 11: N users, 50 groups, 500 entry
// points, every user in 5 groups, one group holding every user (the
// target of an "Update Group"), four groups mapped to 20 entry points
// each, and every effective role materialised.
//
// Everything is set-based SQL (generate_series, INSERT … SELECT), so
// 100,000 members take seconds and 1,000,000 a few minutes. The seed never
// runs ANALYZE: a database fresh from an IdP import has no statistics, and
// that is the harder case the benchmarks measure first. Callers that want
// statistics run ANALYZE themselves.
//
// Ids are UUIDs derived from the org id and a sequence number (md5 cast to
// uuid), so they are deterministic and spread over the whole id space like
// the random UUIDs scimflow generates: a group pass splits its members
// into lanes by the first hex digit of their ids, and ids with a common
// prefix would all fall into one lane.
package benchseed

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Layout of a seeded org. The numbers are the issue's.
const (
	Groups            = 50  // groups; the first is the target
	EntryPoints       = 500 // entry points of the org
	GroupsPerUser     = 5   // the target and 4 of the other 49 groups
	MappedGroups      = 4   // groups other than the target with a mapping
	EntryPointsPerMap = 20  // entry points of each mapping, the target's too
	// TargetRole is the target's role on its entry points after seeding;
	// an Update Group to any other role changes every member's 20 rows.
	TargetRole = "admin"
)

// Org is what Seed created: the ids a benchmark needs.
type Org struct {
	OrgID   string
	Members int
	// Target is the group holding every user; TargetEntryPoints are the
	// 20 entry points it maps with TargetRole, mapped by no other group.
	Target            string
	TargetEntryPoints []string
	Groups            []string // all groups, Target first
	EffectiveRoles    int64    // rows materialised
}

// UserID is the id of seeded user i (1-based) of org.
func UserID(orgID string, i int) string { return id(orgID, "u", i) }

// GroupID is the id of seeded group k (0-based; 0 is the target).
func GroupID(orgID string, k int) string { return id(orgID, "g", k) }

// EntryPointID is the id of seeded entry point k (1-based).
func EntryPointID(orgID string, k int) string { return id(orgID, "e", k) }

// id is Go's twin of the SQL expression idSQL: md5 of "org:kind:n"
// formatted as a UUID.
func id(orgID, kind string, n int) string {
	sum := md5.Sum(fmt.Appendf(nil, "%s:%s:%d", orgID, kind, n))
	h := hex.EncodeToString(sum[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// idSQL is id in SQL for kind, over the column n, with the org as $1.
func idSQL(kind, n string) string {
	return fmt.Sprintf("md5($1 || ':%s:' || (%s))::uuid::text", kind, n)
}

// Seed fills the existing, empty org orgID of db (a Postgres database
// migrated by scimflow) with members users and the layout above. It uses
// one connection; when the role may (a superuser), it skips the foreign
// key triggers for the bulk inserts, which are consistent by construction.
// logf, when not nil, is told how long each step took.
func Seed(ctx context.Context, db *sql.DB, orgID string, members int, logf func(format string, args ...any)) (*Org, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Session settings for a bulk load: nothing here has to survive a
	// crash (a failed seed is thrown away), and at 1M members the
	// foreign key checks alone would take longer than the inserts.
	for _, s := range []string{"SET synchronous_commit = off", "SET jit = off", "SET work_mem = '256MB'"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "SET session_replication_role = replica"); err != nil {
		logf("seed: foreign key checks stay on (%v): slower", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "RESET session_replication_role")

	now := time.Now().UTC()
	o := &Org{OrgID: orgID, Members: members, Target: GroupID(orgID, 0)}
	for k := range Groups {
		o.Groups = append(o.Groups, GroupID(orgID, k))
	}
	for k := 1; k <= EntryPointsPerMap; k++ {
		o.TargetEntryPoints = append(o.TargetEntryPoints, EntryPointID(orgID, k))
	}
	steps := []struct {
		name string
		sql  string
		args []any
	}{
		{"users", `INSERT INTO users (id, org_id, source, user_name, external_id, display_name, created_at, updated_at)
			SELECT ` + idSQL("u", "i") + `, $1, 'scim', 'bench' || i || '@example.com', 'bench-' || i, 'Bench user ' || i, $2, $2
			FROM generate_series(1, $3::int) AS i`, []any{orgID, now, members}},
		{"entry points", `INSERT INTO entry_points (id, org_id, name, created_at, updated_at)
			SELECT ` + idSQL("e", "k") + `, $1, 'Entry point ' || k, $2, $2 FROM generate_series(1, $3::int) AS k`,
			[]any{orgID, now, EntryPoints}},
		{"groups", `INSERT INTO groups (id, org_id, display_name, version, created_at, updated_at)
			SELECT ` + idSQL("g", "k") + `, $1, CASE k WHEN 0 THEN 'Everyone' ELSE 'Group ' || k END, 1, $2, $2
			FROM generate_series(0, $3::int - 1) AS k`, []any{orgID, now, Groups}},
		// User i is in the target and in groups 1 + (7i + 12j) mod 49 for
		// j = 0..3: four distinct groups (12j mod 49 differs for each j),
		// each of the 49 holding about 4/49 of the users. Rows go in
		// primary key order, which keeps the index inserts sequential.
		{"memberships", `INSERT INTO group_members (group_id, user_id, created_at)
			SELECT ` + idSQL("g", "k") + `, ` + idSQL("u", "i") + `, $2
			FROM generate_series(1, $3::int) AS i
			CROSS JOIN LATERAL (SELECT 0 AS k UNION ALL
				SELECT 1 + (7 * i + 12 * j) % ($4::int - 1) FROM generate_series(0, $5::int - 2) AS j) g
			ORDER BY 1, 2`, []any{orgID, now, members, Groups, GroupsPerUser}},
		// The target maps entry points 1..20 with TargetRole; group g of
		// 1..4 maps entry points 20g+1..20g+20 with roles in turn: no
		// other group maps the target's entry points, so an Update Group
		// of the target changes exactly 20 rows of every member.
		{"mappings", `INSERT INTO group_mappings (group_id, entry_point_id, role)
			SELECT ` + idSQL("g", "g") + `, ` + idSQL("e", "20 * g + e") + `,
				CASE WHEN g = 0 THEN $2 ELSE (ARRAY['viewer','contributor','reporter','approver','admin'])[1 + (g + e) % 5] END
			FROM generate_series(0, $3::int) AS g CROSS JOIN generate_series(1, $4::int) AS e`,
			[]any{orgID, TargetRole, MappedGroups, EntryPointsPerMap}},
		{"mapping versions", `UPDATE groups SET mapping_version = 1 WHERE org_id = $1 AND id IN (
			SELECT ` + idSQL("g", "g") + ` FROM generate_series(0, $2::int) AS g)`, []any{orgID, MappedGroups}},
		// The SQL twin of access.Effective over the whole org, in key order.
		{"effective roles", `INSERT INTO effective_roles (user_id, entry_point_id, org_id, role, updated_at)
			SELECT d.user_id, d.entry_point_id, $1, r.name, $2 FROM (
				SELECT gm.user_id, m.entry_point_id, max(r.rank) AS rank
				FROM groups g
				JOIN group_mappings m ON m.group_id = g.id
				JOIN group_members gm ON gm.group_id = g.id
				JOIN users u ON u.id = gm.user_id AND u.active
				JOIN roles r ON r.name = m.role
				WHERE g.org_id = $1
				GROUP BY gm.user_id, m.entry_point_id) d
			JOIN roles r ON r.rank = d.rank
			ORDER BY d.user_id, d.entry_point_id`, []any{orgID, now}},
	}
	// One transaction: a seed that fails leaves nothing behind, indexes
	// included.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rebuild, err := dropIndexes(ctx, tx, logf)
	if err != nil {
		return nil, err
	}
	for _, s := range steps {
		start := time.Now()
		res, err := tx.ExecContext(ctx, s.sql, s.args...)
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", s.name, err)
		}
		n, _ := res.RowsAffected()
		if s.name == "effective roles" {
			o.EffectiveRoles = n
		}
		logf("seed %s: %d rows in %s", s.name, n, time.Since(start).Round(time.Millisecond))
	}
	for _, def := range rebuild {
		start := time.Now()
		if _, err := tx.ExecContext(ctx, def); err != nil {
			return nil, fmt.Errorf("seed: rebuild index: %s: %w", def, err)
		}
		logf("seed: %s in %s", def, time.Since(start).Round(time.Millisecond))
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	// Read every page once: the first reader of freshly inserted rows sets
	// their hint bits (writing the pages again). Left to the benchmark,
	// that cost would fall on whichever of its measurements reads first.
	// A plain scan collects no statistics.
	start := time.Now()
	for _, t := range []string{"users", "groups", "group_members", "group_mappings", "entry_points", "effective_roles"} {
		if _, err := conn.ExecContext(ctx, "SELECT count(*) FROM "+t); err != nil {
			return nil, fmt.Errorf("seed: read %s: %w", t, err)
		}
	}
	logf("seed: read every table once in %s", time.Since(start).Round(time.Millisecond))
	// Best effort: a checkpoint now rather than in the middle of the
	// measurements (it needs a superuser or pg_checkpoint).
	if _, err := conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		logf("seed: no checkpoint (%v)", err)
	}
	return o, nil
}

// bulkTables are the tables the seed fills with O(members) rows.
var bulkTables = []string{"users", "group_members", "effective_roles"}

// dropIndexes drops the secondary indexes of those bulk tables that hold
// (almost) nothing yet, and returns the statements that build them again.
// Building an index once over a million rows is several times faster than
// inserting each row into it (the trigram GIN index of users above all).
// Constraints stay, except a primary key no foreign key refers to. A table
// with rows of other orgs keeps its indexes, so seeding next to other
// data never leaves that data without them.
func dropIndexes(ctx context.Context, tx *sql.Tx, logf func(string, ...any)) ([]string, error) {
	var rebuild []string
	for _, t := range bulkTables {
		var rows int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM "+t+" LIMIT 100) s").Scan(&rows); err != nil {
			return nil, err
		}
		if rows >= 100 {
			logf("seed: %s is not empty; its indexes are kept (slower)", t)
			continue
		}
		q, err := tx.QueryContext(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i
			WHERE i.schemaname = current_schema() AND i.tablename = $1
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
			ORDER BY i.indexname`, t)
		if err != nil {
			return nil, err
		}
		var names []string
		for q.Next() {
			var name, def string
			if err := q.Scan(&name, &def); err != nil {
				q.Close()
				return nil, err
			}
			names, rebuild = append(names, name), append(rebuild, def)
		}
		q.Close()
		if err := q.Err(); err != nil {
			return nil, err
		}
		if len(names) > 0 {
			if _, err := tx.ExecContext(ctx, "DROP INDEX "+strings.Join(names, ", ")); err != nil {
				return nil, err
			}
		}
		// The primary key too, where no foreign key refers to the table.
		var pkey, pdef string
		err = tx.QueryRowContext(ctx, `SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
			WHERE c.conrelid = $1::regclass AND c.contype = 'p'
			AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.conrelid)`, t).Scan(&pkey, &pdef)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "ALTER TABLE "+t+" DROP CONSTRAINT "+pkey); err != nil {
			return nil, err
		}
		rebuild = append(rebuild, "ALTER TABLE "+t+" ADD CONSTRAINT "+pkey+" "+pdef)
	}
	if len(rebuild) > 0 {
		// Index builds sort in memory when they can.
		if _, err := tx.ExecContext(ctx, "SET LOCAL maintenance_work_mem = '512MB'"); err != nil {
			return nil, err
		}
	}
	return rebuild, nil
}
