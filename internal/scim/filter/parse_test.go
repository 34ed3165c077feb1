package filter

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scimflow"
)

const (
	coreUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// Helpers that keep the expected trees readable.

func path(name string) AttrPath {
	n, sub, _ := strings.Cut(name, ".")
	return AttrPath{Name: n, SubAttr: sub}
}

func cmpr(attr string, op Op, v any) *Compare { return &Compare{Attr: path(attr), Op: op, Value: v} }
func pr(attr string) *Compare                 { return &Compare{Attr: path(attr), Op: OpPr} }
func and(l, r Expr) *Logical                  { return &Logical{Op: "and", Left: l, Right: r} }
func or(l, r Expr) *Logical                   { return &Logical{Op: "or", Left: l, Right: r} }
func not(x Expr) *Not                         { return &Not{X: x} }
func vp(attr string, f Expr) *ValuePath       { return &ValuePath{Attr: path(attr), Filter: f} }

// rfcFilters are the examples of RFC 7644 §3.4.2.2, figure 2, in order.
var rfcFilters = []struct {
	in   string
	want Expr
}{
	{`userName eq "bjensen"`, cmpr("userName", OpEq, "bjensen")},
	{`name.familyName co "O'Malley"`, cmpr("name.familyName", OpCo, "O'Malley")},
	{`userName sw "J"`, cmpr("userName", OpSw, "J")},
	{
		`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
		&Compare{Attr: AttrPath{URI: coreUser, Name: "userName"}, Op: OpSw, Value: "J"},
	},
	{`title pr`, pr("title")},
	{`meta.lastModified gt "2011-05-13T04:42:34Z"`, cmpr("meta.lastModified", OpGt, "2011-05-13T04:42:34Z")},
	{`meta.lastModified ge "2011-05-13T04:42:34Z"`, cmpr("meta.lastModified", OpGe, "2011-05-13T04:42:34Z")},
	{`meta.lastModified lt "2011-05-13T04:42:34Z"`, cmpr("meta.lastModified", OpLt, "2011-05-13T04:42:34Z")},
	{`meta.lastModified le "2011-05-13T04:42:34Z"`, cmpr("meta.lastModified", OpLe, "2011-05-13T04:42:34Z")},
	{`title pr and userType eq "Employee"`, and(pr("title"), cmpr("userType", OpEq, "Employee"))},
	{`title pr or userType eq "Intern"`, or(pr("title"), cmpr("userType", OpEq, "Intern"))},
	{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, cmpr("schemas", OpEq, enterpriseUser)},
	{
		`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		and(cmpr("userType", OpEq, "Employee"), or(cmpr("emails", OpCo, "example.com"), cmpr("emails.value", OpCo, "example.org"))),
	},
	{
		`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		and(cmpr("userType", OpNe, "Employee"), not(or(cmpr("emails", OpCo, "example.com"), cmpr("emails.value", OpCo, "example.org")))),
	},
	{
		`userType eq "Employee" and (emails.type eq "work")`,
		and(cmpr("userType", OpEq, "Employee"), cmpr("emails.type", OpEq, "work")),
	},
	{
		`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		and(cmpr("userType", OpEq, "Employee"), vp("emails", and(cmpr("type", OpEq, "work"), cmpr("value", OpCo, "@example.com")))),
	},
	{
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		or(
			vp("emails", and(cmpr("type", OpEq, "work"), cmpr("value", OpCo, "@example.com"))),
			vp("ims", and(cmpr("type", OpEq, "xmpp"), cmpr("value", OpCo, "@foo.com"))),
		),
	},
}

var parseTests = []struct {
	in   string
	want Expr
}{
	// Every operator, in any case.
	{`a ne "x"`, cmpr("a", OpNe, "x")},
	{`a ew "x"`, cmpr("a", OpEw, "x")},
	{`a EQ "x"`, cmpr("a", OpEq, "x")},
	{`a Co "x"`, cmpr("a", OpCo, "x")},
	{`a PR`, pr("a")},
	{`a pr AND b pr Or NOT (c pr)`, or(and(pr("a"), pr("b")), not(pr("c")))},

	// Precedence and associativity.
	{`a pr or b pr and c pr`, or(pr("a"), and(pr("b"), pr("c")))},
	{`a pr and b pr or c pr`, or(and(pr("a"), pr("b")), pr("c"))},
	{`a pr and b pr and c pr`, and(and(pr("a"), pr("b")), pr("c"))},
	{`a pr and (b pr or c pr)`, and(pr("a"), or(pr("b"), pr("c")))},
	{`((a pr))`, pr("a")},
	{`not (not (a pr))`, not(not(pr("a")))},

	// Values. Numbers are kept as written.
	{`active eq true`, cmpr("active", OpEq, true)},
	{`active eq False`, cmpr("active", OpEq, false)},
	{`manager eq null`, cmpr("manager", OpEq, nil)},
	{`n gt 42`, cmpr("n", OpGt, Number("42"))},
	{`n le -1.5e3`, cmpr("n", OpLe, Number("-1.5e3"))},
	{`n lt 1E5`, cmpr("n", OpLt, Number("1E5"))},
	{`n eq 12345678901234567890`, cmpr("n", OpEq, Number("12345678901234567890"))},
	{`n eq 0`, cmpr("n", OpEq, Number("0"))},

	// String literals are JSON strings and come back unescaped
	// (as JSON does, lower-case \u included).
	{`a eq "say \"hi\""`, cmpr("a", OpEq, `say "hi"`)},
	{`a eq "back\\slash"`, cmpr("a", OpEq, `back\slash`)},
	{`a eq "line\nbreak\ttab"`, cmpr("a", OpEq, "line\nbreak\ttab")},
	{`a eq "caf\u00e9"`, cmpr("a", OpEq, "café")},
	{`a eq "caf\u00E9"`, cmpr("a", OpEq, "café")},
	{`a eq "\ud83d\ude00"`, cmpr("a", OpEq, "😀")},
	{`a eq "\/"`, cmpr("a", OpEq, "/")},
	{`a eq ""`, cmpr("a", OpEq, "")},
	{`a eq "0"`, cmpr("a", OpEq, "0")},
	{`a eq "  and or ( ) [ ] not "`, cmpr("a", OpEq, "  and or ( ) [ ] not ")},
	{`a eq "日本語"`, cmpr("a", OpEq, "日本語")},

	// Schema URNs, also with '_' in them.
	{
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`,
		&Compare{Attr: AttrPath{URI: enterpriseUser, Name: "employeeNumber"}, Op: OpEq, Value: "701984"},
	},
	{
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`,
		&Compare{Attr: AttrPath{URI: enterpriseUser, Name: "manager", SubAttr: "value"}, Op: OpEq, Value: "26118915"},
	},
	{
		`urn:ietf:params:scim:schemas:extension:my_ext:2.0:User:foo eq "x"`,
		&Compare{Attr: AttrPath{URI: "urn:ietf:params:scim:schemas:extension:my_ext:2.0:User", Name: "foo"}, Op: OpEq, Value: "x"},
	},
	{
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "x"]`,
		&ValuePath{Attr: AttrPath{URI: enterpriseUser, Name: "manager"}, Filter: cmpr("value", OpEq, "x")},
	},

	// Names.
	{`members[$ref eq "x"]`, vp("members", cmpr("$ref", OpEq, "x"))},
	{`x-custom_attr2 pr`, pr("x-custom_attr2")},
	{`not pr`, pr("not")}, // an attribute called "not"
	{`and eq "x" and pr pr`, and(cmpr("and", OpEq, "x"), pr("pr"))},
	{`x0 eq "a" and v0 pr`, and(cmpr("x0", OpEq, "a"), pr("v0"))}, // names that look like generated ones

	// Brackets hold any filter, not only one comparison.
	{
		`emails[type eq "work" and primary eq true and value co "@x.com"]`,
		vp("emails", and(and(cmpr("type", OpEq, "work"), cmpr("primary", OpEq, true)), cmpr("value", OpCo, "@x.com"))),
	},
	{
		`emails[type eq "work" and (value co "a" or value co "b")]`,
		vp("emails", and(cmpr("type", OpEq, "work"), or(cmpr("value", OpCo, "a"), cmpr("value", OpCo, "b")))),
	},
	{`emails[not (type eq "work")]`, vp("emails", not(cmpr("type", OpEq, "work")))},
	{`not (emails[type eq "work"])`, not(vp("emails", cmpr("type", OpEq, "work")))},

	// Microsoft Entra ID: valuePath "." subAttr compareOp compValue.
	{
		`emails[type eq "work"].value eq "user@x.com"`,
		vp("emails", and(cmpr("type", OpEq, "work"), cmpr("value", OpEq, "user@x.com"))),
	},
	{`emails[type eq "work"].value pr`, vp("emails", and(cmpr("type", OpEq, "work"), pr("value")))},
	{
		`emails[type eq "work"].value eq "a" or emails[type eq "home"].value eq "b"`,
		or(
			vp("emails", and(cmpr("type", OpEq, "work"), cmpr("value", OpEq, "a"))),
			vp("emails", and(cmpr("type", OpEq, "home"), cmpr("value", OpEq, "b"))),
		),
	},
	{
		`emails[type eq "work" or type eq "home"].value EQ "a@x.com" and active eq true`,
		and(
			vp("emails", and(or(cmpr("type", OpEq, "work"), cmpr("type", OpEq, "home")), cmpr("value", OpEq, "a@x.com"))),
			cmpr("active", OpEq, true),
		),
	},

	// Whitespace: surrounding, repeated, or missing next to parentheses.
	{"  title pr  ", pr("title")},
	{"title  pr\tand\nuserType eq \"x\"", and(pr("title"), cmpr("userType", OpEq, "x"))},
	{`(title pr)and(userType eq "x")`, and(pr("title"), cmpr("userType", OpEq, "x"))},
	{`emails [ type eq "work" ]`, vp("emails", cmpr("type", OpEq, "work"))},
}

func TestParse(t *testing.T) {
	for _, tt := range append(rfcFilters, parseTests...) {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

var parseErrorTests = []struct {
	in   string
	want string // the client-facing message
}{
	{``, `invalid filter: empty`},
	{"  \t ", `invalid filter: empty`},
	{strings.Repeat("a", maxLen+1), `invalid filter: longer than 4096 bytes`},
	{"a eq \"\xff\"", `invalid filter: not valid UTF-8`},
	{`userName eq "bjensen" garbage`, `invalid filter: expected "and" or "or", got "garbage" at position 23`},
	{`userName eq "bjensen")`, `invalid filter: unexpected ")" at position 22`},
	{`userName xx "bjensen"`, `invalid filter: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after "userName", got "xx" at position 10`},
	{`userName`, `invalid filter: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after "userName", got end of input`},
	{`userName eq`, `invalid filter: expected a value after "eq", got end of input`},
	{`userName eq bjensen`, `invalid filter: expected a value after "eq" (a quoted string, a number, true, false or null), got "bjensen" at position 13`},
	{`n eq 01`, `invalid filter: expected a value after "eq" (a quoted string, a number, true, false or null), got "01" at position 6`},
	{`userName eq "bjensen`, `invalid filter: unterminated string at position 13`},
	{`a eq "x\"`, `invalid filter: unterminated string at position 6`},
	{`a eq "\x41"`, `invalid filter: invalid escape \x in string at position 7`},
	{`a eq "\u00g0"`, `invalid filter: invalid escape in string: \u needs four hex digits at position 7`},
	{"a eq \"tab\there\"", `invalid filter: control character U+0009 in string (use a JSON escape) at position 10`},
	{`"userName" eq "x"`, `invalid filter: expected an attribute name, got string "userName" at position 1`},
	{`title pr and`, `invalid filter: expected an expression, got end of input`},
	{`title pr or or`, `invalid filter: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after "or", got end of input`},
	{`(title pr`, `invalid filter: expected ")", got end of input`},
	{`()`, `invalid filter: expected an attribute name, got ")" at position 2`},
	{`not title pr`, `invalid filter: expected "(", got "title" at position 5`},
	{`a.b.c pr`, `invalid filter: invalid attribute path "a.b.c" at position 1`},
	{`name. pr`, `invalid filter: invalid attribute path "name." at position 1`},
	{`1a pr`, `invalid filter: invalid attribute path "1a" at position 1`},
	{`urn::x pr`, `invalid filter: invalid schema URI "urn:" at position 1`},
	{`urn:ietf:params:scim:schemas:core:2.0:User: pr`, `invalid filter: invalid attribute path "urn:ietf:params:scim:schemas:core:2.0:User:" at position 1`},
	{`emails[type eq "work"`, `invalid filter: missing "]" for this "[" at position 7`},
	{`type eq "work"]`, `invalid filter: unexpected "]" at position 15`},
	{`emails[]`, `invalid filter: expected an attribute name, got "]" at position 8`},
	{`emails[type eq "work" and value[x eq "y"]]`, `invalid filter: nested brackets are not allowed at position 32`},
	{`emails.value[type eq "work"]`, `invalid filter: a filter in brackets must follow an attribute, not a sub-attribute ("emails.value") at position 1`},
	{`emails[type eq "work"].value`, `invalid filter: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after ".value", got end of input`},
	{`emails[type eq "work"].value eq`, `invalid filter: expected a value after "eq", got end of input`},
	{`emails[type eq "work"] .value eq "x"`, `invalid filter: expected "and" or "or", got ".value" at position 24`},
	{`emails[type eq "work"].value.x eq "y"`, `invalid filter: expected "and" or "or", got ".value.x" at position 23`},
	{`ém eq "x"`, `invalid filter: invalid attribute path "ém" at position 1`},
	{`a eq "é" b`, `invalid filter: expected "and" or "or", got "b" at position 10`}, // characters, not bytes
	{strings.Repeat("(", maxDepth+1) + "a pr" + strings.Repeat(")", maxDepth+1), `invalid filter: filter is nested too deeply (more than 32 levels) at position 33`},
}

func TestParseError(t *testing.T) {
	for _, tt := range parseErrorTests {
		got, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want error %q", tt.in, Format(got), tt.want)
			continue
		}
		var e *scimflow.Error
		if !errors.As(err, &e) || e.Code != scimflow.EINVALID || e.SCIMType != scimflow.SCIMInvalidFilter {
			t.Errorf("Parse(%q) error = %#v, want an invalid/invalidFilter *scimflow.Error", tt.in, err)
			continue
		}
		if e.Message != tt.want {
			t.Errorf("Parse(%q) error = %q, want %q", tt.in, e.Message, tt.want)
		}
	}
}

// TestParseDepth checks that the depth limit leaves room for real filters.
func TestParseDepth(t *testing.T) {
	in := strings.Repeat("not (", maxDepth-1) + "emails[a pr]" + strings.Repeat(")", maxDepth-1)
	if _, err := Parse(in); err != nil {
		t.Errorf("Parse(%d levels) error: %v", maxDepth, err)
	}
	in = strings.Repeat("a pr and ", maxLen/len("a pr and ")-1) + "a pr"
	if _, err := Parse(in); err != nil {
		t.Errorf("Parse(%d bytes) error: %v", len(in), err)
	}
}

var parsePathTests = []struct {
	in   string
	want Path
}{
	{`members`, Path{Attr: path("members")}},
	{`name.givenName`, Path{Attr: path("name.givenName")}},
	{`Name.GivenName`, Path{Attr: path("Name.GivenName")}},
	{
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
		Path{Attr: AttrPath{URI: enterpriseUser, Name: "manager"}},
	},
	{
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`,
		Path{Attr: AttrPath{URI: enterpriseUser, Name: "manager", SubAttr: "value"}},
	},
	{
		`urn:ietf:params:scim:schemas:extension:my_ext:2.0:User:foo`,
		Path{Attr: AttrPath{URI: "urn:ietf:params:scim:schemas:extension:my_ext:2.0:User", Name: "foo"}},
	},
	{
		`members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
		Path{Attr: path("members"), Filter: cmpr("value", OpEq, "2819c223-7f76-453a-919d-413861904646")},
	},
	{
		`emails[type eq "work"].value`,
		Path{Attr: path("emails"), Filter: cmpr("type", OpEq, "work"), SubAttr: "value"},
	},
	{
		`addresses[type eq "work"].streetAddress`,
		Path{Attr: path("addresses"), Filter: cmpr("type", OpEq, "work"), SubAttr: "streetAddress"},
	},
	{
		`emails[type eq "work" and primary eq true and value ew "@x.com"].display`,
		Path{
			Attr:    path("emails"),
			Filter:  and(and(cmpr("type", OpEq, "work"), cmpr("primary", OpEq, true)), cmpr("value", OpEw, "@x.com")),
			SubAttr: "display",
		},
	},
	{
		`members[value eq "a\u0062c" or not (value sw "x")]`,
		Path{Attr: path("members"), Filter: or(cmpr("value", OpEq, "abc"), not(cmpr("value", OpSw, "x")))},
	},
	{
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value pr].displayName`,
		Path{Attr: AttrPath{URI: enterpriseUser, Name: "manager"}, Filter: pr("value"), SubAttr: "displayName"},
	},
	{` members `, Path{Attr: path("members")}},
}

func TestParsePath(t *testing.T) {
	for _, tt := range parsePathTests {
		got, err := ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q) error: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParsePath(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

var parsePathErrorTests = []struct {
	in   string
	want string
}{
	{``, `invalid path: empty`},
	{`members value`, `invalid path: unexpected "value" at position 9`},
	{`a.b.c`, `invalid path: invalid attribute path "a.b.c" at position 1`},
	{`"members"`, `invalid path: expected an attribute path, got string "members" at position 1`},
	{`[value eq "x"]`, `invalid path: expected an attribute path, got "[" at position 1`},
	{`members[value eq]`, `invalid path: expected a value after "eq" (a quoted string, a number, true, false or null), got "]" at position 17`},
	{`members[value eq "x"`, `invalid path: missing "]" for this "[" at position 8`},
	{`members[value[x pr]]`, `invalid path: nested brackets are not allowed at position 14`},
	{`name.givenName[x pr]`, `invalid path: a filter in brackets must follow an attribute, not a sub-attribute ("name.givenName") at position 1`},
	{`emails[type eq "work"]value`, `invalid path: unexpected "value" at position 23`},
	{`emails[type eq "work"] .value`, `invalid path: unexpected ".value" at position 24`},
	{`emails[type eq "work"].value.x`, `invalid path: unexpected ".value.x" at position 23`},
	{`emails[type eq "work"].value eq "x"`, `invalid path: unexpected "eq" at position 30`},
	{`members[value eq "x"] or x pr`, `invalid path: unexpected "or" at position 23`},
	{`title pr`, `invalid path: unexpected "pr" at position 7`},
	{`urn:a_b::c`, `invalid path: invalid schema URI "urn:a_b:" at position 1`},
}

func TestParsePathError(t *testing.T) {
	for _, tt := range parsePathErrorTests {
		got, err := ParsePath(tt.in)
		if err == nil {
			t.Errorf("ParsePath(%q) = %s, want error %q", tt.in, got, tt.want)
			continue
		}
		var e *scimflow.Error
		if !errors.As(err, &e) || e.Code != scimflow.EINVALID || e.SCIMType != scimflow.SCIMInvalidPath {
			t.Errorf("ParsePath(%q) error = %#v, want an invalid/invalidPath *scimflow.Error", tt.in, err)
			continue
		}
		if e.Message != tt.want {
			t.Errorf("ParsePath(%q) error = %q, want %q", tt.in, e.Message, tt.want)
		}
	}
}
