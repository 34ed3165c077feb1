package filter

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

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
	e, err := parseFilter(s)
	if err != nil {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidFilter, "invalid filter: %s", message(s, err))
	}
	return e, nil
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
	p, err := parsePath(s)
	if err != nil {
		return Path{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidPath, "invalid path: %s", message(s, err))
	}
	return p, nil
}

func parseFilter(s string) (Expr, *syntaxError) {
	p, err := newParser(s)
	if err != nil {
		return nil, err
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	return e, p.rest()
}

// parsePath reads `attrPath` or `valuePath ["." subAttr]`. Unlike in a
// filter, nothing may follow: the Entra form is a filter, not a path.
func parsePath(s string) (Path, *syntaxError) {
	p, err := newParser(s)
	if err != nil {
		return Path{}, err
	}
	t := p.next()
	if t == nil || t.kind != kWord {
		return Path{}, p.errAt(t, "expected an attribute path, got %s", describe(t))
	}
	attr, err := p.attrPath(t)
	if err != nil {
		return Path{}, err
	}
	path := Path{Attr: attr}
	if p.at(kLBrack) {
		if path.Filter, err = p.brackets(t, attr); err != nil {
			return Path{}, err
		}
		if sub := p.subAttr(); sub != nil {
			path.SubAttr = sub.text[1:]
		}
	}
	if t := p.peek(); t != nil {
		return Path{}, p.errAt(t, "unexpected %s", describe(t))
	}
	return path, nil
}

func newParser(s string) (*parser, *syntaxError) {
	switch {
	case len(s) > maxLen:
		return nil, errorf(-1, "longer than %d bytes", maxLen)
	case !utf8.ValidString(s):
		return nil, errorf(-1, "not valid UTF-8")
	case strings.TrimLeft(s, " \t\r\n") == "":
		return nil, errorf(-1, "empty")
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	return &parser{toks: toks, end: len(s)}, nil
}

// message renders e for a client: byte offsets become character
// positions counted from 1.
func message(s string, e *syntaxError) string {
	switch {
	case e.pos < 0 || e.pos > len(s):
		return e.msg // "empty", "longer than 4096 bytes": about the whole input
	case e.pos < len(s):
		return fmt.Sprintf("%s at position %d", e.msg, utf8.RuneCountInString(s[:e.pos])+1)
	case strings.HasSuffix(e.msg, "end of input"):
		return e.msg // "expected ")", got end of input"
	}
	return e.msg + " at end of input"
}

// A parser reads tokens by recursive descent along the grammar of RFC 7644
// §3.4.2.2, with its order of operations ("not" over "and" over "or"), and
// with brackets that hold any filter. The tree and the error come from the
// same walk, so what is accepted and how a rejection is worded cannot
// disagree. Depth is bounded by lex (maxDepth); every token is read once.
type parser struct {
	toks []token
	i    int
	end  int // length of the input: the position of "end of input"
}

func (p *parser) peek() *token {
	if p.i < len(p.toks) {
		return &p.toks[p.i]
	}
	return nil
}

func (p *parser) next() *token {
	t := p.peek()
	if t != nil {
		p.i++
	}
	return t
}

// at reports whether the next token is of kind k.
func (p *parser) at(k kind) bool {
	t := p.peek()
	return t != nil && t.kind == k
}

func (p *parser) errAt(t *token, format string, args ...any) *syntaxError {
	if t == nil {
		return errorf(p.end, format, args...)
	}
	return errorf(t.pos, format, args...)
}

// keyword consumes the next token if it is the word k, in any case.
func (p *parser) keyword(k string) bool {
	t := p.peek()
	if t != nil && t.kind == kWord && strings.EqualFold(t.text, k) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(k kind, want string) *syntaxError {
	t := p.next()
	if t == nil || t.kind != k {
		return p.errAt(t, "expected %q, got %s", want, describe(t))
	}
	return nil
}

// rest reports the token after a complete filter, if any.
func (p *parser) rest() *syntaxError {
	t := p.peek()
	switch {
	case t == nil:
		return nil
	case t.kind == kWord || t.kind == kString:
		return p.errAt(t, `expected "and" or "or", got %s`, describe(t))
	}
	return p.errAt(t, "unexpected %s", describe(t))
}

func (p *parser) or() (Expr, *syntaxError)  { return p.chain("or", p.and) }
func (p *parser) and() (Expr, *syntaxError) { return p.chain("and", p.unary) }

// chain reads `operand *(op operand)` and groups it to the left, so
// "a and b and c" is "(a and b) and c".
func (p *parser) chain(op string, operand func() (Expr, *syntaxError)) (Expr, *syntaxError) {
	left, err := operand()
	if err != nil {
		return nil, err
	}
	for p.keyword(op) {
		right, err := operand()
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: op, Left: left, Right: right}
	}
	return left, nil
}

// unary reads `"(" filter ")"`, `not "(" filter ")"` or an attribute
// expression.
func (p *parser) unary() (Expr, *syntaxError) {
	t := p.peek()
	switch {
	case t == nil:
		return nil, p.errAt(t, "expected an expression, got end of input")
	case t.kind == kLParen:
		p.i++
		return p.group()
	case t.kind == kWord && strings.EqualFold(t.text, "not") && !p.attrFollows():
		p.i++
		if err := p.expect(kLParen, "("); err != nil {
			return nil, err
		}
		x, err := p.group()
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	case t.kind == kWord:
		return p.attrExp()
	}
	return nil, p.errAt(t, "expected an attribute name, got %s", describe(t))
}

// group reads `filter ")"` after an opening parenthesis.
func (p *parser) group() (Expr, *syntaxError) {
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	return e, p.expect(kRParen, ")")
}

// attrFollows tells the attribute "not" from the operator `not (...)`.
// RFC 7644 §3.4.2.2 reserves no keyword: "not" is an ATTRNAME like any
// other, so `not pr` is an attrExp and `not[type eq "x"]` a valuePath.
func (p *parser) attrFollows() bool {
	if p.i+1 >= len(p.toks) {
		return false
	}
	t := p.toks[p.i+1]
	return t.kind == kLBrack || isOperator(t)
}

func isOperator(t token) bool {
	if t.kind != kWord {
		return false
	}
	switch Op(strings.ToLower(t.text)) {
	case OpEq, OpNe, OpCo, OpSw, OpEw, OpPr, OpGt, OpGe, OpLt, OpLe:
		return true
	}
	return false
}

// attrExp reads `attrPath op value`, `attrPath pr`, `attrPath[filter]`, or
// the Entra form `attrPath[filter].subAttr op value`.
func (p *parser) attrExp() (Expr, *syntaxError) {
	t := p.next()
	attr, err := p.attrPath(t)
	if err != nil {
		return nil, err
	}
	if !p.at(kLBrack) {
		return p.comparison(attr, t)
	}
	f, err := p.brackets(t, attr)
	if err != nil {
		return nil, err
	}
	if sub := p.subAttr(); sub != nil {
		c, err := p.comparison(AttrPath{Name: sub.text[1:]}, sub)
		if err != nil {
			return nil, err
		}
		f = &Logical{Op: "and", Left: f, Right: c}
	}
	return &ValuePath{Attr: attr, Filter: f}, nil
}

// brackets reads `"[" filter "]"` after attr, written as t. The filter's
// attributes are relative to the elements of attr, a complex attribute;
// attr cannot be a sub-attribute, which is never complex (RFC 7643
// §2.3.8), although the ABNF of RFC 7644 §3.4.2.2 would allow one.
func (p *parser) brackets(t *token, attr AttrPath) (Expr, *syntaxError) {
	if attr.SubAttr != "" {
		return nil, p.errAt(t, "a filter in brackets must follow an attribute, not a sub-attribute (%q)", t.text)
	}
	p.i++ // '['
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	return f, p.expect(kRBrack, "]")
}

// subAttr consumes and returns ".name" written right after the "]" just
// read: the sub-attribute of a PATCH path (RFC 7644 §3.5.2) or of the Entra
// form, which Microsoft Entra ID sends in GET /Users?filter=... although it
// is outside the grammar of RFC 7644.
func (p *parser) subAttr() *token {
	t := p.peek()
	b := p.toks[p.i-1]
	if t == nil || t.kind != kWord || t.pos != b.end() || !strings.HasPrefix(t.text, ".") || !isName(t.text[1:]) {
		return nil
	}
	p.i++
	return t
}

// comparison reads `op value` or `pr` after attr, written as t.
func (p *parser) comparison(attr AttrPath, t *token) (Expr, *syntaxError) {
	o := p.next()
	if o == nil || !isOperator(*o) {
		return nil, p.errAt(o, "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after %q, got %s", t.text, describe(o))
	}
	c := &Compare{Attr: attr, Op: Op(strings.ToLower(o.text))}
	if c.Op == OpPr {
		return c, nil
	}
	v := p.next()
	if v == nil {
		return nil, p.errAt(v, "expected a value after %q, got end of input", o.text)
	}
	val, ok := value(*v)
	if !ok {
		return nil, p.errAt(v, "expected a value after %q (a quoted string, a number, true, false or null), got %s", o.text, describe(v))
	}
	c.Value = val
	return c, nil
}

// value returns the compValue of RFC 7644 §3.4.2.2 that t is: a string,
// a Number as written, or a case-insensitive true, false or null (RFC 7643
// §2.3.2: booleans have no case sensitivity).
func value(t token) (any, bool) {
	if t.kind == kString {
		return t.str, true
	}
	if t.kind != kWord {
		return nil, false
	}
	switch strings.ToLower(t.text) {
	case "true":
		return true, true
	case "false":
		return false, true
	case "null":
		return nil, true
	}
	if isNumber(t.text) {
		return Number(t.text), true
	}
	return nil, false
}

// attrPath reads the word t as an attribute path.
func (p *parser) attrPath(t *token) (AttrPath, *syntaxError) {
	if i := strings.LastIndexByte(t.text, ':'); i >= 0 && !isURI(t.text[:i]) {
		return AttrPath{}, p.errAt(t, "invalid schema URI %q", t.text[:i])
	}
	a, ok := parseAttrPath(t.text)
	if !ok {
		return AttrPath{}, p.errAt(t, "invalid attribute path %q", t.text)
	}
	return a, nil
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
// §2.3.7).
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
