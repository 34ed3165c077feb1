package store

import (
	"context"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// attrKind is the SCIM type of a filterable attribute.
type attrKind int

const (
	kindString attrKind = iota
	kindBool
	kindTime
)

// LargeOrg is the number of users (or groups) above which an org is
// large. The lists of a large org refuse what no index can serve: a
// substring match that would test each of its rows, and a sort by a
// multi-valued attribute, which runs a subquery per row. One org's heavy
// lists then cannot slow every other org down. Smaller orgs get both.
const LargeOrg = 10_000

// column is where a singular user attribute lives.
type column struct {
	expr      string
	kind      attrKind
	caseExact bool
	nullable  bool
	// search: a trigram index (users_search, groups_search; migration
	// 00005) serves co, sw and ew on lower(expr), or, for emails, on the
	// user's email_search.
	search bool
}

// sqlBuilder accumulates a WHERE clause and its arguments, and what the
// clause costs.
type sqlBuilder struct {
	dialect Dialect
	r       resolver
	sb      strings.Builder
	args    []any
	depth   int

	pin       bool              // write the conditions of a search query (see pinned)
	top       bool              // what is being written must hold for every match (it is and-ed with the whole filter)
	vp        *filter.ValuePath // the value path being written, if any
	narrowed  bool              // a search index finds a superset of the matches
	substring string            // the first co, sw or ew, as the client wrote it
	unindexed string            // the first co, sw or ew that no search index serves
}

func (b *sqlBuilder) w(s string)       { b.sb.WriteString(s) }
func (b *sqlBuilder) arg(v any) string { b.args = append(b.args, v); return "?" }
func invalidFilter(format string, a ...any) error {
	return scimflow.SCIMErrorf(scimflow.SCIMInvalidFilter, format, a...)
}

// resolver maps the attributes of one resource type to SQL.
type resolver interface {
	// compare writes a comparison. inMulti is "" at top level, or names
	// the multi-valued attribute of the enclosing value path, whose
	// sub-attributes the comparison's names then refer to.
	compare(b *sqlBuilder, c *filter.Compare, inMulti string) error
	// valuePath writes attr[filter].
	valuePath(b *sqlBuilder, vp *filter.ValuePath) error
	// order returns the ORDER BY expression of a sortBy attribute path
	// (RFC 7644 §3.4.2.3), "" when every row sorts alike; perRow when it
	// is a subquery run for each row.
	order(sortBy string) (expr string, perRow bool, err error)
}

// sortKey is the ORDER BY expression of a singular column: strings that
// compare without case sort without case, constants not at all.
func sortKey(col column) string {
	switch {
	case strings.HasPrefix(col.expr, "'"):
		return "" // a constant (meta.resourceType): every row sorts alike
	case col.nullable:
		// Unassigned sorts as "", alike on both databases (Postgres puts
		// NULLs last, SQLite first), and a cursor's key is never NULL.
		return sortKey(column{expr: "COALESCE(" + col.expr + ", '')", kind: col.kind, caseExact: col.caseExact})
	case col.kind == kindString && !col.caseExact:
		return "lower(" + col.expr + ")"
	}
	return col.expr
}

// resourceList is a SCIM list over one table: scimflow's one
// implementation of filter, sort, count and page for Users and Groups.
type resourceList struct {
	table    string // "users u"
	alias    string // "u"
	orgID    string
	scopeCol string // with scopeVal, a further condition on the org's rows: "u.source" = 'scim'
	scopeVal string
	noun     string // "users", in messages
	search   string // the attributes whose co, sw and ew are indexed, in messages
	r        resolver
	large    int // LargeOrg; tests lower it
	// uniqueKey is the sort expression a unique index of the list serves
	// ("lower(u.user_name)"): sorted by it, the order needs no tie-break,
	// and a cursor page reads that index in order.
	uniqueKey string
}

// find counts the rows matching q and loads its page into dest (a pointer
// to a slice of rows). The order is stable: the sort key, then creation
// time and id. A cursor-paged list (RFC 9865) is counted on its first
// page only: a count reads every match, and a page must not.
func (db *DB) find(ctx context.Context, l resourceList, q scim.ListQuery, dest any) (scim.Page, error) {
	pg := scim.Page{Total: -1}
	s, err := db.listSQL(ctx, l, q)
	if err != nil {
		return pg, err
	}
	tx := db.gorm.WithContext(ctx)
	if q.Paging != scim.PagingCursor || q.Cursor == nil {
		var total int64
		if err := s.count(tx).Count(&total).Error; err != nil {
			return pg, internal("count "+l.table, err)
		}
		pg.Total = int(total)
	}
	if q.Paging == scim.PagingCursor {
		return db.findAfter(ctx, s, q, dest, pg)
	}
	if q.Count <= 0 || q.StartIndex > pg.Total {
		return pg, nil
	}
	if err := s.page(tx, q).Find(dest).Error; err != nil {
		return pg, internal("list "+l.table, err)
	}
	return pg, nil
}

// listStatement is the SQL of a list: its rows and their order.
type listStatement struct {
	l       resourceList
	cond    string
	args    []any
	orderBy string
	key     string // the sortBy expression, "" when every row sorts alike
	unique  bool   // key is the list's uniqueKey: no two rows share it
}

func (s listStatement) count(tx *gorm.DB) *gorm.DB {
	return tx.Table(s.l.table).Where(s.cond, s.args...)
}

func (s listStatement) page(tx *gorm.DB, q scim.ListQuery) *gorm.DB {
	return tx.Table(s.l.table).Select(s.l.alias+".*").Where(s.cond, s.args...).
		Order(s.orderBy).Offset(max(q.StartIndex, 1) - 1).Limit(q.Count)
}

// listSQL translates q into SQL, or refuses it (see refuseScan).
func (db *DB) listSQL(ctx context.Context, l resourceList, q scim.ListQuery) (listStatement, error) {
	b, err := db.where(l, q.Filter, false)
	if err != nil {
		return listStatement{}, err
	}
	order, perRow, err := l.r.order(q.SortBy)
	if err != nil {
		return listStatement{}, err
	}
	if err := db.refuseScan(ctx, l, b.scan(), q.SortBy, perRow); err != nil {
		return listStatement{}, err
	}
	if b.narrowed && db.dialect == Postgres {
		if b, err = db.where(l, q.Filter, true); err != nil {
			return listStatement{}, err
		}
	}
	org := orgCond(l, b.pin)
	if q.Paging == scim.PagingCursor && order == "" && !b.pin && l.scopeCol != "" && db.dialect == Postgres {
		// A cursor page in creation order must be read from
		// (org, created_at, id) and stop after a page. On a table never
		// analyzed, the planner would rather take the partial index on
		// userName, whose predicate source = 'scim' looks selective, and
		// sort the whole org: with the scope in collation "C" (see pinned)
		// that index no longer applies.
		org = l.alias + ".org_id = ? AND " + pinned(l.scopeCol, true) + " = '" + l.scopeVal + "'"
	}
	s := listStatement{l: l, cond: org, args: []any{l.orgID}}
	if q.Filter != nil {
		s.cond += " AND (" + b.sb.String() + ")"
		s.args = append(s.args, b.args...)
	}
	s.key = order
	s.unique = order != "" && order == l.uniqueKey
	s.orderBy = s.order(q.Descending)
	return s, nil
}

// where translates filter f (nil for none) of list l; pin as in pinned.
func (db *DB) where(l resourceList, f filter.Expr, pin bool) (*sqlBuilder, error) {
	b := &sqlBuilder{dialect: db.dialect, r: l.r, pin: pin, top: true}
	if f == nil {
		return b, nil
	}
	return b, b.expr(f, "")
}

// pinned returns expr as a search query compares it: in collation "C", the
// same equality for ids and names such as 'scim' or 'emails', but the
// collation of no btree index, so that none can serve the comparison.
//
// A search query is one that a search index narrows (users_search,
// groups_search): that index should find its candidates, and everything
// else be tested on those candidates only. On tables never analyzed
// (autovacuum off), indexes built when the table was empty look to the
// planner like a page of one row; given the choice, it reads the whole
// org through the org's btree (or all emails through user_values'), and
// tests each row. The search indexes compare org_id in collation "C",
// so with org_id, source and the attr of user_values pinned, a search
// index is the only index the query can start from.
func pinned(expr string, pin bool) string {
	if pin {
		return expr + ` COLLATE "C"`
	}
	return expr
}

// orgCond keeps a list in its org; pin as in pinned.
func orgCond(l resourceList, pin bool) string {
	cond := pinned(l.alias+".org_id", pin) + " = ?"
	if l.scopeCol != "" {
		// A constant, not an argument: it selects the partial indexes.
		cond += " AND " + pinned(l.scopeCol, pin) + " = '" + l.scopeVal + "'"
	}
	return cond
}

// refuseScan refuses, in a large org, a list that would read each of its
// rows: scan is a substring match that no index narrows ("" for none),
// perRow a sortBy that runs a subquery for each row. It counts the org's
// rows only then, and only up to l.large+1.
func (db *DB) refuseScan(ctx context.Context, l resourceList, scan, sortBy string, perRow bool) error {
	if scan == "" && !perRow {
		return nil
	}
	var n int64
	q := "SELECT count(*) FROM (SELECT 1 FROM " + l.table + " WHERE " + orgCond(l, false) + " LIMIT ?) s"
	if err := db.gorm.WithContext(ctx).Raw(q, l.orgID, l.large+1).Scan(&n).Error; err != nil {
		return internal("count "+l.table, err)
	}
	if n <= int64(l.large) {
		return nil
	}
	if scan != "" {
		return invalidFilter("%s would test each of the more than %d %s of this org: co, sw and ew use an index only on %s, "+
			"with at least 3 letters or digits in a row, and only when the whole filter requires them (not inside or, not). "+
			"Add such a comparison with and, or use eq", scan, l.large, l.noun, l.search)
	}
	return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "sortBy %q sorts by a multi-valued attribute, which reads each of the more than %d %s of this org: "+
		"sort by a singular attribute (userName, meta.created, ...) or leave sortBy out", sortBy, l.large, l.noun)
}

// scan returns the substring match that makes the filter test each row of
// the org, "" when there is none or a search index narrows the filter.
func (b *sqlBuilder) scan() string {
	switch {
	case b.narrowed:
		return ""
	case b.unindexed != "":
		return b.unindexed
	}
	return b.substring
}

// expr writes e. inMulti names the multi-valued attribute of the
// enclosing value path ("" at top level).
func (b *sqlBuilder) expr(e filter.Expr, inMulti string) error {
	b.depth++
	defer func() { b.depth-- }()
	if b.depth > 64 {
		return invalidFilter("filter is nested too deeply")
	}
	switch e := e.(type) {
	case *filter.Logical:
		op := strings.ToUpper(e.Op)
		if op != "AND" && op != "OR" {
			return invalidFilter("unknown logical operator %q", e.Op)
		}
		top := b.top
		b.top = top && op == "AND" // either side of an or may be false
		defer func() { b.top = top }()
		b.w("(")
		if err := b.expr(e.Left, inMulti); err != nil {
			return err
		}
		b.w(" " + op + " ")
		if err := b.expr(e.Right, inMulti); err != nil {
			return err
		}
		b.w(")")
		return nil
	case *filter.Not:
		top := b.top
		b.top = false
		defer func() { b.top = top }()
		b.w("NOT (")
		if err := b.expr(e.X, inMulti); err != nil {
			return err
		}
		b.w(")")
		return nil
	case *filter.ValuePath:
		if inMulti != "" {
			return invalidFilter("value paths cannot be nested")
		}
		return b.r.valuePath(b, e)
	case *filter.Compare:
		return b.r.compare(b, e, inMulti)
	}
	return invalidFilter("unsupported filter expression")
}

// exists writes `EXISTS (from AND body)`, a subquery over the elements of
// a multi-valued attribute (body may be nil); vp is the value path it
// comes from, if any. Its conditions test the elements of each candidate
// row: they narrow nothing on their own (see emailSearch). In a search
// query, OFFSET 0 keeps it so: the planner may not turn it into a join
// that starts from the elements (see pinned).
func (b *sqlBuilder) exists(from string, vp *filter.ValuePath, body func() error) error {
	top, outer := b.top, b.vp
	b.top = false
	if vp != nil {
		b.vp = vp
	}
	defer func() { b.top, b.vp = top, outer }()
	b.w("EXISTS (" + from)
	if body != nil {
		b.w(" AND ")
		if err := body(); err != nil {
			return err
		}
	}
	if b.pin {
		b.w(" OFFSET 0")
	}
	b.w(")")
	return nil
}

// condition writes `col op value` with SCIM semantics.
func (b *sqlBuilder) condition(col column, c *filter.Compare) error {
	if c.Op == filter.OpPr {
		switch col.kind {
		case kindString:
			b.w("COALESCE(" + col.expr + ", '') <> ''")
		case kindBool, kindTime:
			b.w(col.expr + " IS NOT NULL")
		}
		return nil
	}
	if c.Value == nil { // attr eq null: "not present"; ne null: present
		switch c.Op {
		case filter.OpEq:
			b.w("NOT (")
			if err := b.condition(col, &filter.Compare{Attr: c.Attr, Op: filter.OpPr}); err != nil {
				return err
			}
			b.w(")")
			return nil
		case filter.OpNe:
			return b.condition(col, &filter.Compare{Attr: c.Attr, Op: filter.OpPr})
		}
		return invalidFilter("%s cannot compare with null", c.Op)
	}
	switch col.kind {
	case kindBool:
		return b.boolCondition(col, c)
	case kindTime:
		return b.timeCondition(col, c)
	}
	s, ok := c.Value.(string)
	if !ok {
		return invalidFilter("%s compares strings; got %v", c.Attr.String(), c.Value)
	}
	if isSubstring(c.Op) {
		b.noteSubstring(col, c, s)
		b.like(col, c.Op, s)
		return nil
	}
	op, ok := comparisons[c.Op]
	if !ok {
		return invalidFilter("unknown operator %q", c.Op)
	}
	lhs := col.expr
	// NULL means unassigned, which compares like "". Skipping COALESCE for
	// `eq "non-empty"` keeps the index on external_id usable (externalId eq).
	if col.nullable && (c.Op != filter.OpEq || s == "") {
		lhs = "COALESCE(" + lhs + ", '')"
	}
	if c.Op == filter.OpEq && col.expr == "v.value" && !col.caseExact {
		// Matches the prefix index on user_values (see the migration).
		b.w("lower(substr(v.value, 1, 200)) = lower(substr(" + b.arg(s) + ", 1, 200)) AND ")
	}
	rhs := b.arg(s)
	if !col.caseExact {
		lhs, rhs = "lower("+lhs+")", "lower("+rhs+")"
	}
	b.w(lhs + " " + op + " " + rhs)
	return nil
}

// comparisons maps the ordering and equality operators to SQL.
var comparisons = map[filter.Op]string{
	filter.OpEq: "=", filter.OpNe: "<>", filter.OpGt: ">", filter.OpGe: ">=", filter.OpLt: "<", filter.OpLe: "<=",
}

func isSubstring(op filter.Op) bool {
	return op == filter.OpCo || op == filter.OpSw || op == filter.OpEw
}

// noteSubstring records what the co, sw or ew c on col costs. A search
// index serves it when col is indexed and s has a trigram to look up;
// it narrows the whole filter when it must hold for every match.
func (b *sqlBuilder) noteSubstring(col column, c *filter.Compare, s string) {
	what := filter.Format(c)
	if b.vp != nil {
		what = filter.Format(b.vp)
	}
	if b.substring == "" {
		b.substring = what
	}
	indexed := col.search && hasTrigram(s)
	if !indexed && b.unindexed == "" {
		b.unindexed = what
	}
	if indexed && b.top {
		b.narrowed = true
	}
}

// hasTrigram reports whether s has 3 letters or digits in a row. pg_trgm
// splits text into words of letters and digits and looks up their
// 3-letter pieces; a search string without one would read the whole
// index. (It also pads the words at the start and end of a value, so
// that sw "ab" has trigrams, but those match too much of an org to count.)
func hasTrigram(s string) bool {
	run := 0
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			run = 0
			continue
		}
		if run++; run == 3 {
			return true
		}
	}
	return false
}

// like writes co/sw/ew. Case-insensitive matches lower both sides and use
// LIKE (lower(expr) is also the expression of the search indexes);
// case-exact matches need LIKE on Postgres (case-sensitive there) and GLOB
// on SQLite (whose LIKE ignores ASCII case).
func (b *sqlBuilder) like(col column, op filter.Op, s string) {
	lhs := col.expr
	if col.nullable {
		lhs = "COALESCE(" + lhs + ", '')"
	}
	if col.caseExact && b.dialect == SQLite {
		p := globEscape(s)
		b.w(lhs + " GLOB " + b.arg(wrap(op, p, "*")))
		return
	}
	p := likeEscape(s)
	if col.caseExact {
		b.w(lhs + " LIKE " + b.arg(wrap(op, p, "%")) + ` ESCAPE '\'`)
		return
	}
	b.w("lower(" + lhs + ") LIKE lower(" + b.arg(wrap(op, p, "%")) + `) ESCAPE '\'`)
}

func wrap(op filter.Op, p, any string) string {
	switch op {
	case filter.OpSw:
		return p + any
	case filter.OpEw:
		return any + p
	}
	return any + p + any
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func globEscape(s string) string {
	return strings.NewReplacer(`[`, `[[]`, `*`, `[*]`, `?`, `[?]`).Replace(s)
}

func (b *sqlBuilder) boolCondition(col column, c *filter.Compare) error {
	v, ok := c.Value.(bool)
	if !ok {
		if s, isStr := c.Value.(string); isStr && (strings.EqualFold(s, "true") || strings.EqualFold(s, "false")) {
			v, ok = strings.EqualFold(s, "true"), true // Entra-style "True"
		}
	}
	if !ok {
		return invalidFilter("%s is a boolean; compare it with true or false", c.Attr.String())
	}
	switch c.Op {
	case filter.OpEq:
		b.w(col.expr + " = " + b.arg(v))
	case filter.OpNe:
		b.w(col.expr + " <> " + b.arg(v))
	default:
		return invalidFilter("%s is a boolean: only eq, ne and pr apply", c.Attr.String())
	}
	return nil
}

// timeCondition compares dateTime attributes as instants (RFC 7643 §2.3.5),
// whatever offset the client wrote.
func (b *sqlBuilder) timeCondition(col column, c *filter.Compare) error {
	s, ok := c.Value.(string)
	if !ok {
		return invalidFilter("%s is a dateTime; compare it with an RFC 3339 string", c.Attr.String())
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return invalidFilter("%s: %q is not an RFC 3339 date-time", c.Attr.String(), s)
	}
	t = t.UTC()
	op, ok := comparisons[c.Op]
	if !ok {
		return invalidFilter("%s is a dateTime: %s does not apply", c.Attr.String(), c.Op)
	}
	b.w(col.expr + " " + op + " " + b.arg(t))
	return nil
}
