// Package filter parses SCIM filter expressions (RFC 7644 §3.4.2.2) and
// PATCH paths (RFC 7644 §3.5.2) into a small syntax tree that the rest of
// scimflow translates to SQL or evaluates against a single resource.
//
// The package has one grammar: lex.go splits the input into tokens and
// decodes string literals as JSON strings; parse.go reads the tokens by
// recursive descent, building the tree and wording each error from the
// same walk, so an error names the character position and what was
// expected there. format.go writes a tree back as a filter that parses to
// an equal tree; match.go evaluates a tree against a decoded resource.
//
// Beyond the letter of RFC 7644 (and its errata 4690, which allows one or
// two comparisons in brackets) the parser accepts what identity providers
// send: brackets holding any filter, '_' in schema URNs and the Microsoft
// Entra ID form `emails[type eq "work"].value eq "x"`, read as
// emails[type eq "work" and value eq "x"].
package filter

// Op is a comparison operator, always lower case.
type Op string

// Comparison operators of RFC 7644 §3.4.2.2, table 3.
const (
	OpEq Op = "eq"
	OpNe Op = "ne"
	OpCo Op = "co"
	OpSw Op = "sw"
	OpEw Op = "ew"
	OpPr Op = "pr"
	OpGt Op = "gt"
	OpGe Op = "ge"
	OpLt Op = "lt"
	OpLe Op = "le"
)

// AttrPath names an attribute: an optional schema URN, the attribute name
// and an optional sub-attribute ("name.givenName").
// Names keep the case the client wrote; comparisons are case-insensitive
// (RFC 7643 §2.1).
type AttrPath struct {
	URI     string // schema URN such as "urn:ietf:params:scim:schemas:core:2.0:User"; "" when absent
	Name    string
	SubAttr string
}

// Expr is a node of a filter: *Compare, *Logical, *Not or *ValuePath.
type Expr interface{ isExpr() }

// Compare is `attrPath op value`, or `attrPath pr`.
//
// Value is one of: string (already unescaped), bool, nil (JSON null) or
// Number. It is nil for OpPr.
type Compare struct {
	Attr  AttrPath
	Op    Op
	Value any
}

// Number is a JSON number kept as written, so that no precision is lost
// before the caller decides how to compare it.
type Number string

// Logical is `left and right` or `left or right`.
type Logical struct {
	Op    string // "and" or "or"
	Left  Expr
	Right Expr
}

// Not is `not (x)`.
type Not struct {
	X Expr
}

// ValuePath is `attr[filter]`: true when at least one element of the
// multi-valued attribute Attr matches Filter. Attributes inside Filter are
// relative to the element (Filter's AttrPath.Name is a sub-attribute name).
type ValuePath struct {
	Attr   AttrPath // SubAttr is always ""
	Filter Expr
}

func (*Compare) isExpr()   {}
func (*Logical) isExpr()   {}
func (*Not) isExpr()       {}
func (*ValuePath) isExpr() {}

// Path is a PATCH operation path (RFC 7644 §3.5.2):
//
//	attrPath                       name.givenName
//	valuePath [ "." subAttr ]      emails[type eq "work"].value
//
// Filter is nil for a plain attrPath. When Filter is set, Attr.SubAttr is
// "" and SubAttr is the sub-attribute after the closing bracket, if any.
type Path struct {
	Attr    AttrPath
	Filter  Expr
	SubAttr string
}
