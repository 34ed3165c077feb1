package store

import (
	"context"
	"strings"
	"time"

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

// column is where a singular user attribute lives.
type column struct {
	expr      string
	kind      attrKind
	caseExact bool
	nullable  bool
}

// sqlBuilder accumulates a WHERE clause and its arguments.
type sqlBuilder struct {
	dialect Dialect
	r       resolver
	sb      strings.Builder
	args    []any
	depth   int
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
	// (RFC 7644 §3.4.2.3), "" when every row sorts alike.
	order(sortBy string) (string, error)
}

// sortKey is the ORDER BY expression of a singular column: strings that
// compare without case sort without case, constants not at all.
func sortKey(col column) string {
	switch {
	case strings.HasPrefix(col.expr, "'"):
		return "" // a constant (meta.resourceType): every row sorts alike
	case col.kind == kindString && !col.caseExact:
		return "lower(" + col.expr + ")"
	}
	return col.expr
}

// resourceList is a SCIM list over one table: scimflow's one
// implementation of filter, sort, count and page for Users and Groups.
type resourceList struct {
	table string // "users u"
	alias string // "u"
	cond  string // the org's rows: "u.org_id = ?"
	args  []any
	r     resolver
}

// find counts the rows matching q and loads its page into dest (a pointer
// to a slice of rows). The order is stable: the sort key, then creation
// time and id.
func (db *DB) find(ctx context.Context, l resourceList, q scim.ListQuery, dest any) (int, error) {
	cond, args := l.cond, l.args
	if q.Filter != nil {
		w, a, err := where(db.dialect, l.r, q.Filter)
		if err != nil {
			return 0, err
		}
		cond += " AND (" + w + ")"
		args = append(append([]any{}, args...), a...)
	}
	order, err := l.r.order(q.SortBy)
	if err != nil {
		return 0, err
	}
	dir := "ASC"
	if q.Descending {
		dir = "DESC"
	}
	orderBy := l.alias + ".created_at " + dir + ", " + l.alias + ".id " + dir
	if order != "" {
		orderBy = order + " " + dir + ", " + orderBy
	}
	tx := db.gorm.WithContext(ctx)
	var total int64
	if err := tx.Table(l.table).Where(cond, args...).Count(&total).Error; err != nil {
		return 0, internal("count "+l.table, err)
	}
	if q.Count <= 0 || int64(q.StartIndex) > total {
		return int(total), nil
	}
	err = tx.Table(l.table).Select(l.alias+".*").Where(cond, args...).
		Order(orderBy).Offset(max(q.StartIndex, 1) - 1).Limit(q.Count).Find(dest).Error
	if err != nil {
		return 0, internal("list "+l.table, err)
	}
	return int(total), nil
}

// where translates a SCIM filter into a SQL condition and its arguments.
func where(d Dialect, r resolver, e filter.Expr) (string, []any, error) {
	b := &sqlBuilder{dialect: d, r: r}
	if err := b.expr(e, ""); err != nil {
		return "", nil, err
	}
	return b.sb.String(), b.args, nil
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
	if c.Op == filter.OpCo || c.Op == filter.OpSw || c.Op == filter.OpEw {
		b.like(col, c.Op, s)
		return nil
	}
	op, ok := comparisons[c.Op]
	if !ok {
		return invalidFilter("unknown operator %q", c.Op)
	}
	lhs := col.expr
	// NULL means unassigned, which compares like "". Skipping COALESCE for
	// `eq "non-empty"` keeps the unique index usable (externalId eq).
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

// like writes co/sw/ew. Case-insensitive matches lower both sides and use
// LIKE; case-exact matches need LIKE on Postgres (case-sensitive there) and
// GLOB on SQLite (whose LIKE ignores ASCII case).
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
