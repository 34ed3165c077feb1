package store

import (
	"context"
	"reflect"
	"time"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scim"
)

// Cursor paging (RFC 9865) is keyset paging: a page is the next Count rows
// after a position (sort key, created_at, id) in the list's order, found
// through the index that serves that order — users_org_created and
// groups_org_created (org, created_at, id) without sortBy,
// users_org_user_name and groups_org_display_name for userName and
// displayName — so that every page costs the same, however deep into the
// list it is, and rows inserted or deleted between pages neither repeat
// nor skip the others.

// order returns the ORDER BY clause of s, ascending or not.
func (s listStatement) order(desc bool) string {
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	a := s.l.alias
	if s.unique {
		return s.key + " " + dir
	}
	by := a + ".created_at " + dir + ", " + a + ".id " + dir
	if s.key != "" {
		by = s.key + " " + dir + ", " + by
	}
	return by
}

// after returns the condition that selects the rows after c in the order
// that goes descending or not, and its arguments.
func (s listStatement) after(c *scim.Cursor, desc bool) (string, []any) {
	op := ">"
	if desc {
		op = "<"
	}
	a := s.l.alias
	// A row comparison: Postgres reads it as one range of the index.
	tail := "(" + a + ".created_at, " + a + ".id) " + op + " (?, ?)"
	if s.key == "" {
		return tail, []any{c.Created, c.ID}
	}
	if s.unique {
		return s.key + " " + op + " ?", []any{c.Key}
	}
	return "(" + s.key + " " + op + " ? OR (" + s.key + " = ? AND " + tail + "))", []any{c.Key, c.Key, c.Created, c.ID}
}

// keysetSettings make Postgres read a keyset page in index order and stop
// after it: on tables never analyzed it estimates one row, finds a sort of
// everything after the cursor free, and would read the whole rest of the
// org on every page. A sort remains possible where no index gives the
// order (a sortBy on another attribute).
var keysetSettings = []string{"SET LOCAL enable_sort = off", "SET LOCAL enable_bitmapscan = off"}

// keysetPage is the statement of the page of a cursor-paged list that
// q.Cursor points to, with one row more than the page.
func (s listStatement) keysetPage(tx *gorm.DB, q scim.ListQuery) *gorm.DB {
	c := q.Cursor
	desc := q.Descending != (c != nil && c.Before) // a previous page is read backwards
	tx = tx.Table(s.l.table).Select(s.l.alias+".*").Where(s.cond, s.args...)
	if c != nil {
		cond, args := s.after(c, desc)
		tx = tx.Where(cond, args...)
	}
	return tx.Order(s.order(desc)).Limit(q.Count + 1)
}

// findAfter loads into dest the page of a cursor-paged list that q.Cursor
// points to (the first page without one), and sets the positions of its
// neighbours in pg. One row more than the page is read, to tell whether
// another page follows.
func (db *DB) findAfter(ctx context.Context, s listStatement, q scim.ListQuery, dest any, pg scim.Page) (scim.Page, error) {
	c := q.Cursor
	back := c != nil && c.Before
	read := func(tx *gorm.DB) error { return s.keysetPage(tx, q).Find(dest).Error }
	var err error
	if db.dialect == Postgres {
		err = db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, set := range keysetSettings {
				if err := tx.Exec(set).Error; err != nil {
					return err
				}
			}
			return read(tx)
		})
	} else {
		err = read(db.gorm.WithContext(ctx))
	}
	if err != nil {
		return pg, internal("list "+s.l.table, err)
	}
	rows := reflect.ValueOf(dest).Elem()
	more := rows.Len() > q.Count
	if more {
		rows.SetLen(q.Count)
	}
	if back {
		reverse(rows)
	}
	n := rows.Len()
	if n == 0 {
		return pg, nil
	}
	first, err := db.position(ctx, s, rows.Index(0))
	if err != nil {
		return pg, err
	}
	last, err := db.position(ctx, s, rows.Index(n-1))
	if err != nil {
		return pg, err
	}
	first.Before = true
	// Going forward, the rows read past the page say whether a next page
	// exists, and a previous one does when the client came from one.
	// Going back, it is the other way round.
	if (!back && more) || back {
		pg.Next = last
	}
	if (back && more) || (!back && c != nil) {
		pg.Previous = first
	}
	return pg, nil
}

func reverse(rows reflect.Value) {
	for i, j := 0, rows.Len()-1; i < j; i, j = i+1, j-1 {
		x, y := rows.Index(i).Interface(), rows.Index(j).Interface()
		rows.Index(i).Set(reflect.ValueOf(y))
		rows.Index(j).Set(reflect.ValueOf(x))
	}
}

// position returns where row (a userRow or groupRow) is in s's order. The
// sort key is read back from the database, by primary key, so that it is
// exactly the value the keyset compares (lower() of Postgres and of
// SQLite, a per-row subquery).
func (db *DB) position(ctx context.Context, s listStatement, row reflect.Value) (*scim.Cursor, error) {
	id := row.FieldByName("ID").String()
	created := row.FieldByName("CreatedAt").Interface().(time.Time)
	c := &scim.Cursor{ID: id, Created: created}
	if s.key == "" {
		return c, nil
	}
	var key any
	q := "SELECT " + s.key + " FROM " + s.l.table + " WHERE " + s.l.alias + ".id = ?"
	if err := db.gorm.WithContext(ctx).Raw(q, id).Row().Scan(&key); err != nil {
		return nil, internal("list position", err)
	}
	switch k := key.(type) {
	case []byte:
		key = string(k)
	case int64: // a boolean, on SQLite
		key = k != 0
	}
	c.Key = key
	return c, nil
}
