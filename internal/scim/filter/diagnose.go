package filter

import (
	"strings"
)

// filter-parser reports where its top-level alternative failed (usually
// position 1) and in terms of its own combinators ("expected op.Or
// or[func func func func]"), which is useless to a client. When it rejects
// a filter, a checker walks the tokens along the same grammar and names the
// first token that does not fit. It never builds a tree: the library
// remains the grammar of record.
type checker struct {
	toks   []token
	i      int
	end    int  // length of the input: the position of "end of input"
	filter bool // accept the Entra form `a[...].b op value`
}

func diagnoseFilter(toks []token, end int) *syntaxError {
	c := &checker{toks: toks, end: end, filter: true}
	if err := c.or(); err != nil {
		return err
	}
	return c.rest()
}

func diagnosePath(toks []token, end int) *syntaxError {
	c := &checker{toks: toks, end: end}
	t := c.next()
	if t == nil || t.kind != kWord {
		return c.errAt(t, "expected an attribute path, got %s", describe(t))
	}
	if err := c.attrPath(t); err != nil {
		return err
	}
	if n := c.peek(); n != nil && n.kind == kLBrack {
		if err := c.brackets(t); err != nil {
			return err
		}
		if s := c.peek(); s != nil && isSubAttr(c.toks[c.i-1], *s) {
			c.i++
		}
	}
	if t := c.peek(); t != nil {
		return c.errAt(t, "unexpected %s", describe(t))
	}
	return nil
}

func (c *checker) peek() *token {
	if c.i < len(c.toks) {
		return &c.toks[c.i]
	}
	return nil
}

func (c *checker) next() *token {
	t := c.peek()
	if t != nil {
		c.i++
	}
	return t
}

func (c *checker) errAt(t *token, format string, args ...any) *syntaxError {
	if t == nil {
		return errorf(c.end, format, args...)
	}
	return errorf(t.pos, format, args...)
}

// keyword consumes the next token if it is the word k, in any case.
func (c *checker) keyword(k string) bool {
	t := c.peek()
	if t != nil && t.kind == kWord && strings.EqualFold(t.text, k) {
		c.i++
		return true
	}
	return false
}

func (c *checker) expect(k kind, want string) *syntaxError {
	t := c.next()
	if t == nil || t.kind != k {
		return c.errAt(t, "expected %q, got %s", want, describe(t))
	}
	return nil
}

// rest reports the token after a complete filter, if any.
func (c *checker) rest() *syntaxError {
	t := c.peek()
	switch {
	case t == nil:
		return nil
	case t.kind == kWord || t.kind == kString:
		return c.errAt(t, `expected "and" or "or", got %s`, describe(t))
	}
	return c.errAt(t, "unexpected %s", describe(t))
}

func (c *checker) or() *syntaxError {
	for {
		if err := c.and(); err != nil {
			return err
		}
		if !c.keyword("or") {
			return nil
		}
	}
}

func (c *checker) and() *syntaxError {
	for {
		if err := c.unary(); err != nil {
			return err
		}
		if !c.keyword("and") {
			return nil
		}
	}
}

func (c *checker) unary() *syntaxError {
	t := c.peek()
	switch {
	case t == nil:
		return c.errAt(t, "expected an expression, got end of input")
	case t.kind == kLParen:
		c.i++
		if err := c.or(); err != nil {
			return err
		}
		return c.expect(kRParen, ")")
	case t.kind == kWord && strings.EqualFold(t.text, "not") && !c.operatorFollows():
		c.i++
		if err := c.expect(kLParen, "("); err != nil {
			return err
		}
		if err := c.or(); err != nil {
			return err
		}
		return c.expect(kRParen, ")")
	case t.kind == kWord:
		return c.attrExp()
	}
	return c.errAt(t, "expected an attribute name, got %s", describe(t))
}

// operatorFollows tells `not pr` (the attribute "not") from `not (...)`.
func (c *checker) operatorFollows() bool {
	return c.i+1 < len(c.toks) && isOperator(c.toks[c.i+1])
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

func (c *checker) attrExp() *syntaxError {
	t := c.next()
	if err := c.attrPath(t); err != nil {
		return err
	}
	if n := c.peek(); n == nil || n.kind != kLBrack {
		return c.comparison(t)
	}
	if err := c.brackets(t); err != nil {
		return err
	}
	if s := c.peek(); c.filter && s != nil && isSubAttr(c.toks[c.i-1], *s) {
		c.i++
		return c.comparison(s)
	}
	return nil
}

// brackets checks `[filter]` after the attribute path t.
func (c *checker) brackets(t *token) *syntaxError {
	if p, _ := parseAttrPath(t.text); p.SubAttr != "" {
		return c.errAt(t, "a filter in brackets must follow an attribute, not a sub-attribute (%q)", t.text)
	}
	c.i++ // '['
	if err := c.or(); err != nil {
		return err
	}
	return c.expect(kRBrack, "]")
}

// comparison checks `op value` or `pr` after the attribute path t.
func (c *checker) comparison(t *token) *syntaxError {
	o := c.next()
	if o == nil || !isOperator(*o) {
		return c.errAt(o, "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after %q, got %s", t.text, describe(o))
	}
	if strings.EqualFold(o.text, "pr") {
		return nil
	}
	v := c.next()
	switch {
	case v == nil:
		return c.errAt(v, "expected a value after %q, got end of input", o.text)
	case v.kind == kString:
		return nil
	case v.kind == kWord && (isNumber(v.text) || isLiteral(v.text)):
		return nil
	}
	return c.errAt(v, "expected a value after %q (a quoted string, a number, true, false or null), got %s", o.text, describe(v))
}

func isLiteral(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "null":
		return true
	}
	return false
}

// attrPath checks `[URI ":"] ATTRNAME ["." ATTRNAME]`.
func (c *checker) attrPath(t *token) *syntaxError {
	if t.kind != kWord {
		return c.errAt(t, "expected an attribute name, got %s", describe(t))
	}
	if i := strings.LastIndexByte(t.text, ':'); i >= 0 && !isURI(t.text[:i]) {
		return c.errAt(t, "invalid schema URI %q", t.text[:i])
	}
	if _, ok := parseAttrPath(t.text); !ok && !isKeyword(t.text) {
		return c.errAt(t, "invalid attribute path %q", t.text)
	}
	return nil
}
