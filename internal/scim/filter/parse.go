package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	fp "github.com/scim2/filter-parser/v2"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// Parse parses a SCIM filter (RFC 7644 §3.4.2.2), such as
//
//	userName eq "bjensen" and emails[type eq "work" and value co "@example.com"]
//
// Operators, "and", "or" and "not" are case-insensitive; "and" binds tighter
// than "or". Inside brackets any filter is allowed except another bracket.
// Parse also accepts the Microsoft Entra ID form
//
//	emails[type eq "work"].value eq "user@example.com"
//
// which it reads as emails[type eq "work" and value eq "user@example.com"].
//
// Errors are *scimflow.Error with SCIMType invalidFilter; their message names
// the position (in characters, from 1) of the problem.
func Parse(s string) (Expr, error) {
	toks, err := prepare(s)
	if err == nil {
		var e Expr
		if e, err = parseFilter(toks); err == nil {
			return e, nil
		}
		err = explain(diagnoseFilter(toks, len(s)))
	}
	return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidFilter, "invalid filter: %s", message(s, err))
}

// ParsePath parses the path of a PATCH operation (RFC 7644 §3.5.2):
//
//	members
//	name.givenName
//	urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value
//	emails[type eq "work"].value
//
// The filter in brackets is anything Parse accepts without brackets. Every
// error, including one in the bracketed filter, is a *scimflow.Error with
// SCIMType invalidPath.
func ParsePath(s string) (Path, error) {
	toks, err := prepare(s)
	if err == nil {
		var p Path
		if p, err = parsePath(toks); err == nil {
			return p, nil
		}
		err = explain(diagnosePath(toks, len(s)))
	}
	return Path{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidPath, "invalid path: %s", message(s, err))
}

func prepare(s string) ([]token, error) {
	switch {
	case len(s) > maxLen:
		return nil, errorf(-1, "longer than %d bytes", maxLen)
	case !utf8.ValidString(s):
		return nil, errorf(-1, "not valid UTF-8")
	case strings.TrimLeft(s, " \t\r\n") == "":
		return nil, errorf(-1, "empty")
	}
	return lex(s)
}

// explain returns the diagnosis of a string that filter-parser rejected.
// The diagnosis and the library should agree on what is valid; if they do
// not, the client still gets an error, only a vaguer one.
func explain(d *syntaxError) error {
	if d == nil {
		return errorf(-1, "syntax error")
	}
	return d
}

// message renders err for a client: byte offsets become character
// positions counted from 1.
func message(s string, err error) string {
	var e *syntaxError
	if !errors.As(err, &e) || e.pos < 0 || e.pos > len(s) {
		if e != nil {
			return e.msg
		}
		return "syntax error"
	}
	if e.pos == len(s) {
		if strings.HasSuffix(e.msg, "end of input") {
			return e.msg // "expected ")", got end of input"
		}
		return e.msg + " at end of input"
	}
	return fmt.Sprintf("%s at position %d", e.msg, utf8.RuneCountInString(s[:e.pos])+1)
}

// A rewriter turns tokens into a string that filter-parser v2.3.1 accepts
// and maps its result back. The library has gaps that make it unfit to see
// the client's text directly:
//
//   - it returns string literals still escaped (`a eq "x\"y"` gives `x\"y`);
//   - it rejects \u escapes with lower-case hex digits;
//   - its URI rule has no '_', so `urn:...:my_ext:2.0:User:x` fails;
//   - inside brackets it accepts one comparison or exactly two joined by
//     and/or, without parentheses (a restrictive reading of RFC 7644 errata
//     4690), where clients send `emails[a eq 1 and b eq 2 and c eq 3]`;
//   - `1E5` comes back as "1e5", not as written;
//   - it is slow: some 75 allocations per input character, and attribute
//     names are rescanned while it backtracks (6µs per character; a 4 KB
//     name took 25ms, and made fuzzing crawl).
//
// So every string, number and attribute path becomes a short numbered
// placeholder ("3", 3, x3) whose value the rewriter keeps, and every
// bracketed filter is parsed on its own and replaced by the placeholder
// comparison `v3 pr`. Words that are none of these nor a keyword cannot be
// valid anywhere and fail at once. What the library still decides is the
// grammar: operators, literals, and/or/not, parentheses, precedence, and
// whether a keyword is used as an attribute name (`not pr`). It needs at
// least one space between words, and the rewriter emits exactly one, so
// `(a pr)and(b pr)` is accepted too. The worst case left is a 4 KB chain
// of short comparisons, about 20ms.
type rewriter struct {
	b      strings.Builder
	strs   []string
	nums   []Number
	paths  []AttrPath
	groups []Expr
}

func (r *rewriter) space() {
	if r.b.Len() > 0 {
		r.b.WriteByte(' ')
	}
}

func (r *rewriter) token(t token) error {
	r.space()
	switch {
	case t.kind == kString:
		fmt.Fprintf(&r.b, `"%d"`, len(r.strs))
		r.strs = append(r.strs, t.str)
	case t.kind != kWord || isKeyword(t.text):
		r.b.WriteString(t.text)
	case isNumber(t.text):
		fmt.Fprintf(&r.b, "%d", len(r.nums))
		r.nums = append(r.nums, Number(t.text))
	default:
		p, ok := parseAttrPath(t.text)
		if !ok {
			return errInvalid
		}
		fmt.Fprintf(&r.b, "x%d", len(r.paths))
		r.paths = append(r.paths, p)
	}
	return nil
}

// isKeyword reports whether s is a word of the filter grammar. None starts
// with 'v' or 'x', the letters of the placeholders.
func isKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "true", "false", "null",
		"eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le":
		return true
	}
	return false
}

func (r *rewriter) group(e Expr) {
	fmt.Fprintf(&r.b, "[v%d pr]", len(r.groups))
	r.groups = append(r.groups, e)
}

// errInvalid means that the rewriter found the input invalid, or that the
// library returned something the rewriter did not put there; the caller
// reports the diagnosis instead.
var errInvalid = errors.New("filter: invalid")

func parseFilter(toks []token) (Expr, error) {
	r := &rewriter{}
	for i := 0; i < len(toks); i++ {
		if toks[i].kind != kLBrack {
			if err := r.token(toks[i]); err != nil {
				return nil, err
			}
			continue
		}
		j := closing(toks, i)
		e, err := parseFilter(toks[i+1 : j])
		if err != nil {
			return nil, err
		}
		tail := entraTail(toks, j)
		if len(tail) > 0 {
			right, err := parseFilter(tail)
			if err != nil {
				return nil, err
			}
			if _, ok := right.(*Compare); !ok {
				return nil, errInvalid
			}
			e = &Logical{Op: "and", Left: e, Right: right}
		}
		r.group(e)
		i = j + len(tail)
	}
	lib, err := fp.ParseFilterNumber([]byte(r.b.String()))
	if err != nil {
		return nil, err
	}
	return r.expr(lib)
}

func parsePath(toks []token) (Path, error) {
	r := &rewriter{}
	for i := 0; i < len(toks); i++ {
		switch {
		case toks[i].kind == kLBrack:
			j := closing(toks, i)
			e, err := parseFilter(toks[i+1 : j])
			if err != nil {
				return Path{}, err
			}
			r.group(e)
			i = j
		case i > 0 && toks[i-1].kind == kRBrack && isSubAttr(toks[i-1], toks[i]):
			r.b.WriteString(toks[i].text) // "].value": no space allowed
		default:
			if err := r.token(toks[i]); err != nil {
				return Path{}, err
			}
		}
	}
	lib, err := fp.ParsePathNumber([]byte(r.b.String()))
	if err != nil {
		return Path{}, err
	}
	attr, err := r.attr(lib.AttributePath)
	if err != nil {
		return Path{}, err
	}
	p := Path{Attr: attr}
	if lib.ValueExpression == nil {
		return p, nil
	}
	if attr.SubAttr != "" {
		return Path{}, errInvalid
	}
	if p.Filter, err = r.group0(lib.ValueExpression); err != nil {
		return Path{}, err
	}
	p.SubAttr = lib.SubAttributeName()
	return p, nil
}

// closing returns the index of the "]" that closes toks[i]; lex has checked
// that there is one and that brackets do not nest.
func closing(toks []token, i int) int {
	for toks[i].kind != kRBrack {
		i++
	}
	return i
}

// isSubAttr reports whether t is ".name" written right after the "]" at b.
func isSubAttr(b, t token) bool {
	return t.kind == kWord && t.pos == b.end() && strings.HasPrefix(t.text, ".") && isName(t.text[1:])
}

// entraTail returns the tokens of `value eq "x"` in the Microsoft Entra ID
// form `emails[type eq "work"].value eq "x"`, which is outside the grammar
// of RFC 7644 but sent by Entra in GET /Users?filter=... requests. The
// first token is the sub-attribute without its dot. It returns nil when
// the "]" at toks[j] is not followed by ".name".
func entraTail(toks []token, j int) []token {
	if j+1 >= len(toks) || !isSubAttr(toks[j], toks[j+1]) {
		return nil
	}
	sub := toks[j+1]
	tail := []token{{kind: kWord, text: sub.text[1:], pos: sub.pos + 1}}
	rest := toks[j+2:]
	if len(rest) == 0 || rest[0].kind != kWord {
		return tail
	}
	tail = append(tail, rest[0])
	if strings.EqualFold(rest[0].text, "pr") || len(rest) == 1 {
		return tail
	}
	if k := rest[1].kind; k == kWord || k == kString {
		tail = append(tail, rest[1])
	}
	return tail
}

func (r *rewriter) expr(e fp.Expression) (Expr, error) {
	switch x := e.(type) {
	case *fp.AttributeExpression:
		attr, err := r.attr(x.AttributePath)
		if err != nil {
			return nil, err
		}
		c := &Compare{Attr: attr, Op: Op(strings.ToLower(string(x.Operator)))}
		if c.Op != OpPr {
			if c.Value, err = r.value(x.CompareValue); err != nil {
				return nil, err
			}
		}
		return c, nil
	case *fp.LogicalExpression:
		left, err := r.expr(x.Left)
		if err != nil {
			return nil, err
		}
		right, err := r.expr(x.Right)
		if err != nil {
			return nil, err
		}
		return &Logical{Op: strings.ToLower(string(x.Operator)), Left: left, Right: right}, nil
	case *fp.NotExpression:
		inner, err := r.expr(x.Expression)
		if err != nil {
			return nil, err
		}
		return &Not{X: inner}, nil
	case *fp.ValuePath:
		attr, err := r.attr(x.AttributePath)
		if err != nil {
			return nil, err
		}
		if attr.SubAttr != "" {
			return nil, errInvalid // emails.value[...]: see diagnoseFilter
		}
		f, err := r.group0(x.ValueFilter)
		if err != nil {
			return nil, err
		}
		return &ValuePath{Attr: attr, Filter: f}, nil
	}
	return nil, errInvalid
}

// group0 returns the bracketed filter that the placeholder `vN pr` stands for.
func (r *rewriter) group0(e fp.Expression) (Expr, error) {
	x, ok := e.(*fp.AttributeExpression)
	if !ok || x.AttributePath.URIPrefix != nil || x.AttributePath.SubAttribute != nil {
		return nil, errInvalid
	}
	i, ok := index(strings.TrimPrefix(x.AttributePath.AttributeName, "v"), len(r.groups))
	if !ok {
		return nil, errInvalid
	}
	return r.groups[i], nil
}

// attr returns the attribute path that the placeholder xN stands for, or
// the keyword used as an attribute name.
func (r *rewriter) attr(p fp.AttributePath) (AttrPath, error) {
	if p.URIPrefix != nil || p.SubAttribute != nil {
		return AttrPath{}, errInvalid
	}
	if isKeyword(p.AttributeName) {
		return AttrPath{Name: p.AttributeName}, nil
	}
	i, ok := index(strings.TrimPrefix(p.AttributeName, "x"), len(r.paths))
	if !ok {
		return AttrPath{}, errInvalid
	}
	return r.paths[i], nil
}

func (r *rewriter) value(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool:
		return v, nil
	case string:
		if i, ok := index(v, len(r.strs)); ok {
			return r.strs[i], nil
		}
	case json.Number:
		if i, ok := index(string(v), len(r.nums)); ok {
			return r.nums[i], nil
		}
	}
	return nil, errInvalid
}

// index parses a placeholder number below n.
func index(s string, n int) (int, bool) {
	i, err := strconv.Atoi(s)
	return i, err == nil && i >= 0 && i < n
}

// isNumber reports whether s is a JSON number (RFC 8259 §6).
func isNumber(s string) bool {
	return s != "" && (s[0] == '-' || '0' <= s[0] && s[0] <= '9') && json.Valid([]byte(s))
}

// parseAttrPath parses `[URI ":"] ATTRNAME ["." ATTRNAME]` (RFC 7644
// §3.4.2.2). The URI is everything before the last colon.
func parseAttrPath(s string) (AttrPath, bool) {
	var p AttrPath
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		p.URI, s = s[:i], s[i+1:]
		if !isURI(p.URI) {
			return AttrPath{}, false
		}
	}
	name, sub, dot := strings.Cut(s, ".")
	if !isName(name) || dot && !isName(sub) {
		return AttrPath{}, false
	}
	p.Name, p.SubAttr = name, sub
	return p, true
}

// isURI reports whether s is a plausible schema URN: colon-separated,
// non-empty segments of letters, digits, '-', '.' and '_'. RFC 8141 allows
// more in the namespace-specific string, but no SCIM schema uses it, and a
// tight rule keeps typos like "urn::x" from turning into silent mismatches.
func isURI(s string) bool {
	for seg := range strings.SplitSeq(s, ":") {
		if seg == "" || strings.TrimLeft(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != "" {
			return false
		}
	}
	return true
}

// isName reports whether s is an ATTRNAME of RFC 7644 §3.4.2.2
// (ALPHA *(nameChar)), with the optional leading '$' of "$ref" (RFC 7643
// §2.3.7) that filter-parser also accepts.
func isName(s string) bool {
	s = strings.TrimPrefix(s, "$")
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
