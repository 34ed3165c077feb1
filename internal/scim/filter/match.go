package filter

import (
	"cmp"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Match reports whether obj, a resource or an element of a multi-valued
// attribute as decoded by encoding/json, satisfies e. A nil e matches
// every object.
//
// The rules follow RFC 7644 §3.4.2.2 and RFC 7643 §2:
//
//   - Attribute names are case-insensitive. An attribute with a schema URN
//     is looked up in obj[URN], where extension attributes live; if there
//     is no such key and the URN is a core schema
//     ("urn:ietf:params:scim:schemas:core:..."), in obj itself.
//   - On a multi-valued attribute a comparison is true when any value
//     matches; for complex values without a sub-attribute ("emails co
//     "@example.com"") the "value" sub-attribute is compared.
//   - String comparisons ignore case unless caseExact reports true for the
//     attribute (a nil caseExact means never). Inside `attr[...]` caseExact
//     gets the full path, for example emails.value.
//   - Strings that both parse as RFC 3339 date-times compare as instants;
//     numbers compare numerically; other strings lexicographically.
//   - "pr" is true for a value that is not null, "" or an empty array or
//     object; "eq null" is its negation (RFC 7643 §2.5: unassigned and null
//     are the same state).
//   - "ne" is the negation of "eq": `emails ne "a@x"` is true for a user
//     without that address, including a user without any.
//   - A comparison between values of different types is false.
func Match(e Expr, obj map[string]any, caseExact func(AttrPath) bool) bool {
	if e == nil {
		return true
	}
	m := matcher{caseExact: caseExact}
	return m.match(e, obj, nil)
}

type matcher struct {
	caseExact func(AttrPath) bool
}

// match evaluates e against obj. parent is the attribute whose element obj
// is, inside a value path.
func (m matcher) match(e Expr, obj map[string]any, parent *AttrPath) bool {
	switch x := e.(type) {
	case *Compare:
		return m.compare(x, obj, parent)
	case *Logical:
		if x.Op == "or" {
			return m.match(x.Left, obj, parent) || m.match(x.Right, obj, parent)
		}
		return m.match(x.Left, obj, parent) && m.match(x.Right, obj, parent)
	case *Not:
		return !m.match(x.X, obj, parent)
	case *ValuePath:
		v, ok := lookupAttr(obj, x.Attr)
		if !ok {
			return false
		}
		for _, elem := range flatten(v) {
			if o, ok := element(elem); ok && m.match(x.Filter, o, &x.Attr) {
				return true
			}
		}
	}
	return false
}

// element returns an element of a multi-valued attribute as an object; a
// primitive element p is read as {"value": p}, so that
// `emails[value eq "x"]` also works on ["x", "y"].
func element(v any) (map[string]any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return v, true
	case nil, []any:
		return nil, false
	}
	return map[string]any{"value": v}, true
}

func (m matcher) compare(c *Compare, obj map[string]any, parent *AttrPath) bool {
	vals := values(obj, c.Attr)
	switch {
	case c.Op == OpPr:
		return anyPresent(vals)
	case c.Value == nil && c.Op == OpEq:
		return !anyPresent(vals)
	case c.Value == nil && c.Op == OpNe:
		return anyPresent(vals)
	}
	full := c.Attr
	if parent != nil {
		full = AttrPath{URI: parent.URI, Name: parent.Name, SubAttr: c.Attr.Name}
	}
	exact := m.caseExact != nil && m.caseExact(full)
	op := c.Op
	if op == OpNe {
		op = OpEq
	}
	found := false
	for _, v := range vals {
		if o, ok := v.(map[string]any); ok {
			v, _ = lookup(o, "value")
		}
		if compareValue(v, op, c.Value, exact) {
			found = true
			break
		}
	}
	return found != (c.Op == OpNe)
}

func compareValue(got any, op Op, want any, exact bool) bool {
	switch w := want.(type) {
	case string:
		g, ok := got.(string)
		return ok && compareString(g, op, w, exact)
	case bool:
		g, ok := got.(bool)
		return ok && op == OpEq && g == w
	case Number:
		n, ok := compareNumber(got, w)
		return ok && ordered(op, n)
	}
	return false
}

func compareString(got string, op Op, want string, exact bool) bool {
	switch op {
	case OpEq, OpGt, OpGe, OpLt, OpLe:
		if a, err := time.Parse(time.RFC3339Nano, got); err == nil {
			if b, err := time.Parse(time.RFC3339Nano, want); err == nil {
				return ordered(op, a.Compare(b))
			}
		}
	}
	if !exact {
		got, want = Fold(got), Fold(want)
	}
	switch op {
	case OpCo:
		return strings.Contains(got, want)
	case OpSw:
		return strings.HasPrefix(got, want)
	case OpEw:
		return strings.HasSuffix(got, want)
	}
	return ordered(op, strings.Compare(got, want))
}

// ordered reports whether a comparison result c (-1, 0, +1) satisfies op.
func ordered(op Op, c int) bool {
	switch op {
	case OpEq:
		return c == 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	}
	return false
}

// compareNumber compares a decoded JSON number with want: exactly when both
// are integers that fit in 64 bits, as float64 otherwise. (math/big would be
// exact, but "1e999999999" would make it allocate without bound.)
func compareNumber(got any, want Number) (int, bool) {
	var g string
	switch v := got.(type) {
	case float64:
		g = strconv.FormatFloat(v, 'g', -1, 64)
	case json.Number:
		g = string(v)
	case int:
		g = strconv.Itoa(v)
	case int64:
		g = strconv.FormatInt(v, 10)
	default:
		return 0, false
	}
	if a, err := strconv.ParseInt(g, 10, 64); err == nil {
		if b, err := strconv.ParseInt(string(want), 10, 64); err == nil {
			return cmp.Compare(a, b), true
		}
	}
	a, err := parseFloat(g)
	if err != nil {
		return 0, false
	}
	b, err := parseFloat(string(want))
	if err != nil {
		return 0, false
	}
	return cmp.Compare(a, b), true
}

// parseFloat is strconv.ParseFloat that accepts ±Inf for out-of-range
// values, which still order correctly.
func parseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if errors.Is(err, strconv.ErrRange) {
		err = nil
	}
	return f, err
}

// values returns the values of attribute a in obj, with multi-valued
// attributes flattened: `emails.type` on two emails gives both types.
func values(obj map[string]any, a AttrPath) []any {
	v, ok := lookupAttr(obj, AttrPath{URI: a.URI, Name: a.Name})
	if !ok {
		return nil
	}
	if a.SubAttr == "" {
		return flatten(v)
	}
	var out []any
	for _, elem := range flatten(v) {
		if o, ok := elem.(map[string]any); ok {
			if sv, ok := lookup(o, a.SubAttr); ok {
				out = append(out, flatten(sv)...)
			}
		}
	}
	return out
}

// lookupAttr returns the value of a.Name in obj, honouring a.URI.
func lookupAttr(obj map[string]any, a AttrPath) (any, bool) {
	if a.URI != "" {
		if ext, ok := lookup(obj, a.URI); ok {
			o, ok := ext.(map[string]any)
			if !ok {
				return nil, false
			}
			obj = o
		} else if !isCoreSchema(a.URI) {
			return nil, false
		}
	}
	return lookup(obj, a.Name)
}

func isCoreSchema(uri string) bool {
	const core = "urn:ietf:params:scim:schemas:core:"
	return len(uri) > len(core) && strings.EqualFold(uri[:len(core)], core)
}

// lookup returns obj[name], matching the key case-insensitively (RFC 7643
// §2.1).
func lookup(obj map[string]any, name string) (any, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func flatten(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	return []any{v}
}

func anyPresent(vals []any) bool {
	for _, v := range vals {
		if present(v) {
			return true
		}
	}
	return false
}

func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

// Fold maps every rune of s to the smallest rune of its Unicode simple case
// folding orbit, so that Fold(a) == Fold(b) exactly when strings.EqualFold(a,
// b): co/sw/ew/gt/... work on folded strings, and folded strings key maps
// of values compared without case.
func Fold(s string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
}
