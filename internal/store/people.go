package store

import (
	"context"
	"slices"
	"strings"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// The people lists of the admin UI: an org's SCIM users and a group's
// members, sorted by userName and read by keyset (lower(user_name) is
// unique per org, users_org_user_name), so that page 4,000 costs what page
// 1 costs. Searching reads the trigram index users_search (migration
// 00005).

// personRow is what a people list reads of a user.
type personRow struct {
	ID          string
	UserName    string
	DisplayName string
	EmailSearch string
	Active      bool
	Key         string // lower(user_name)
}

func (r personRow) summary() scimflow.UserSummary {
	email, _, _ := strings.Cut(r.EmailSearch, "\n")
	return scimflow.UserSummary{ID: r.ID, UserName: r.UserName, DisplayName: r.DisplayName, Email: email, Active: r.Active}
}

const personColumns = "u.id, u.user_name, u.display_name, u.email_search, u.active, lower(u.user_name) AS key"

// userSearchColumns are the attributes a people search matches: userName,
// the name, and the emails; each is a column of users_search.
var userSearchColumns = []string{"u.user_name", "u.display_name", "u.name_formatted", "u.name_given_name", "u.name_family_name", "u.email_search"}

// keyset adds the page's edge to cond and returns the ORDER BY, and
// whether the rows come backwards (before a key).
func keyset(q scimflow.PageQuery, cond string, args []any) (string, []any, string, bool) {
	switch {
	case q.Before != "":
		return cond + " AND lower(u.user_name) < ?", append(args, q.Before), "lower(u.user_name) DESC", true
	case q.After != "":
		return cond + " AND lower(u.user_name) > ?", append(args, q.After), "lower(u.user_name)", false
	}
	return cond, args, "lower(u.user_name)", false
}

// peoplePage turns the rows of a keyset read (limit+1 of them at most) into a
// UserPage, in userName order.
func peoplePage(rows []personRow, q scimflow.PageQuery, backwards bool) scimflow.UserPage {
	more := len(rows) > q.Limit
	if more {
		rows = rows[:q.Limit]
	}
	if backwards {
		slices.Reverse(rows)
	}
	p := scimflow.UserPage{Users: make([]scimflow.UserSummary, len(rows))}
	for i, r := range rows {
		p.Users[i] = r.summary()
	}
	if len(rows) > 0 {
		p.First, p.Last = rows[0].Key, rows[len(rows)-1].Key
	}
	if backwards {
		p.HasPrev, p.HasNext = more, true
	} else {
		p.HasPrev, p.HasNext = q.After != "", more
	}
	return p
}

// SearchUsers returns a page of the SCIM users of org, sorted by userName;
// q.Search, when set, keeps those whose userName, name or an email holds
// it (case-insensitively). A search needs 3 letters or digits in a row in
// orgs of more than LargeOrg users, where anything shorter would read
// every user.
func (db *DB) SearchUsers(ctx context.Context, orgID string, q scimflow.PageQuery) (scimflow.UserPage, error) {
	return db.searchUsers(ctx, orgID, q, db.scan(ctx))
}

// query runs a statement of a people list into dest; tests swap it for
// one that explains the statement instead.
type query func(dest any, sql string, args ...any) error

func (db *DB) scan(ctx context.Context) query {
	return func(dest any, sql string, args ...any) error {
		return db.gorm.WithContext(ctx).Raw(sql, args...).Scan(dest).Error
	}
}

func (db *DB) searchUsers(ctx context.Context, orgID string, q scimflow.PageQuery, run query) (scimflow.UserPage, error) {
	q.Limit = min(max(q.Limit, 1), 200)
	search := strings.ToLower(strings.TrimSpace(q.Search))
	cond, args := "u.org_id = ? AND u.source = 'scim'", []any{orgID}
	if search != "" {
		if !hasTrigram(search) {
			if err := db.refuseScan(ctx, usersList(orgID, LargeOrg), "search "+search, "", false); err != nil {
				return scimflow.UserPage{}, scimflow.Errorf(scimflow.EINVALID,
					"this org has more than %d users: type at least 3 letters or digits in a row to search", LargeOrg)
			}
		}
		// With the org pinned (see pinned), users_search is the only
		// index the search can start from.
		pin := db.dialect == Postgres && hasTrigram(search)
		cond = pinned("u.org_id", pin) + " = ? AND " + pinned("u.source", pin) + " = 'scim'"
		like := "%" + likeEscape(search) + "%"
		ors := make([]string, len(userSearchColumns))
		for i, col := range userSearchColumns {
			ors[i] = "lower(" + col + `) LIKE ? ESCAPE '\'`
			args = append(args, like)
		}
		cond += " AND (" + strings.Join(ors, " OR ") + ")"
	}
	var total int64
	if err := run(&total, "SELECT count(*) FROM users u WHERE "+cond, args...); err != nil {
		return scimflow.UserPage{}, internal("count users", err)
	}
	cond, args, order, backwards := keyset(q, cond, args)
	var rows []personRow
	err := run(&rows, "SELECT "+personColumns+" FROM users u WHERE "+cond+" ORDER BY "+order+" LIMIT ?", append(args, q.Limit+1)...)
	if err != nil {
		return scimflow.UserPage{}, internal("list users", err)
	}
	p := peoplePage(rows, q, backwards)
	p.Total = int(total)
	return p, nil
}

// smallGroup is the size up to which a member page reads the whole group
// and sorts it; larger groups walk the org's users in userName order and
// keep the members, which reads about limit × (org size / group size)
// users per page.
const smallGroup = 2000

// GroupMembersByName returns a page of the members of group groupID of
// org, sorted by userName, with their state. size is the group's member
// count, which chooses how the page is read (see smallGroup). Both
// statements are fenced (OFFSET 0) so that the planner cannot pick the
// other way on tables without statistics.
func (db *DB) GroupMembersByName(ctx context.Context, orgID, groupID string, size int, q scimflow.PageQuery) (scimflow.UserPage, error) {
	if _, err := db.FindGroup(ctx, orgID, groupID); err != nil {
		return scimflow.UserPage{}, err
	}
	return db.groupMembersByName(orgID, groupID, size, q, db.scan(ctx))
}

func (db *DB) groupMembersByName(orgID, groupID string, size int, q scimflow.PageQuery, run query) (scimflow.UserPage, error) {
	q.Limit = min(max(q.Limit, 1), 200)
	// A small group: each member's user by primary key, then a sort of at
	// most smallGroup rows.
	from := `(SELECT gm.user_id FROM group_members gm WHERE gm.group_id = ? OFFSET 0) m
		CROSS JOIN LATERAL (SELECT * FROM users u WHERE u.id = m.user_id AND u.org_id = ? OFFSET 0) u`
	fence := " OFFSET 0"
	if db.dialect == SQLite { // no LATERAL, no OFFSET without LIMIT; and no planner surprises
		from = `group_members m JOIN users u ON u.id = m.user_id AND m.group_id = ? AND u.org_id = ?`
		fence = ""
	}
	cond, args := "1 = 1", []any{groupID, orgID}
	if size > smallGroup {
		// A large group: the org's users in userName order
		// (users_org_user_name), each checked by group_members' primary
		// key; the fence keeps the check a probe per user rather than a
		// join that reads the whole group.
		from = "users u"
		cond = "u.org_id = ? AND u.source = 'scim' AND EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = ? AND gm.user_id = u.id" + fence + ")"
		args = []any{orgID, groupID}
	}
	cond, args, order, backwards := keyset(q, cond, args)
	var rows []personRow
	err := run(&rows, "SELECT "+personColumns+" FROM "+from+" WHERE "+cond+" ORDER BY "+order+" LIMIT ?", append(args, q.Limit+1)...)
	if err != nil {
		return scimflow.UserPage{}, internal("list members", err)
	}
	p := peoplePage(rows, q, backwards)
	p.Total = size
	return p, nil
}
