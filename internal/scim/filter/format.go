package filter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// String returns the path as written in a filter:
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
func (p AttrPath) String() string {
	var b strings.Builder
	if p.URI != "" {
		b.WriteString(p.URI)
		b.WriteByte(':')
	}
	b.WriteString(p.Name)
	if p.SubAttr != "" {
		b.WriteByte('.')
		b.WriteString(p.SubAttr)
	}
	return b.String()
}

// String returns the path as written in a PATCH operation.
func (p Path) String() string {
	if p.Filter == nil {
		return p.Attr.String()
	}
	s := p.Attr.String() + "[" + Format(p.Filter) + "]"
	if p.SubAttr != "" {
		s += "." + p.SubAttr
	}
	return s
}

// Format renders e as a filter string that Parse reads back into an equal
// tree: operators in lower case, strings as JSON, one space between words
// and only the parentheses the tree needs. A nil e renders as "".
func Format(e Expr) string {
	var b strings.Builder
	format(&b, e)
	return b.String()
}

func format(b *strings.Builder, e Expr) {
	switch x := e.(type) {
	case *Compare:
		b.WriteString(x.Attr.String())
		b.WriteByte(' ')
		b.WriteString(string(x.Op))
		if x.Op != OpPr {
			b.WriteByte(' ')
			b.WriteString(literal(x.Value))
		}
	case *Logical:
		operand(b, x.Left, precedence(x.Op), false)
		b.WriteString(" " + x.Op + " ")
		operand(b, x.Right, precedence(x.Op), true)
	case *Not:
		b.WriteString("not (")
		format(b, x.X)
		b.WriteByte(')')
	case *ValuePath:
		b.WriteString(x.Attr.String())
		b.WriteByte('[')
		format(b, x.Filter)
		b.WriteByte(']')
	}
}

// operand writes an operand of a logical operator of precedence p. Parse
// groups "a and b and c" as "(a and b) and c", so a right operand of the
// same precedence needs parentheses to keep its shape.
func operand(b *strings.Builder, e Expr, p int, right bool) {
	l, ok := e.(*Logical)
	if !ok || precedence(l.Op) > p || !right && precedence(l.Op) == p {
		format(b, e)
		return
	}
	b.WriteByte('(')
	format(b, e)
	b.WriteByte(')')
}

func precedence(op string) int {
	if op == "and" {
		return 2
	}
	return 1
}

// literal renders a comparison value as JSON.
func literal(v any) string {
	switch v := v.(type) {
	case Number:
		return string(v)
	case string:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // "<" stays "<", not "\u003c"
		if err := enc.Encode(v); err != nil {
			return `""`
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	j, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return string(j)
}
