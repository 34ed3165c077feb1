package filter

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		in   Expr
		want string
	}{
		{nil, ""},
		{cmpr("userName", OpEq, "bjensen"), `userName eq "bjensen"`},
		{cmpr("a", OpEq, `say "hi" <b> & \`), `a eq "say \"hi\" <b> & \\"`},
		{cmpr("a", OpEq, "tab\tnew\nline"), `a eq "tab\tnew\nline"`},
		{cmpr("a", OpEq, "café"), `a eq "café"`},
		{cmpr("a", OpGe, Number("1E5")), `a ge 1E5`},
		{cmpr("a", OpEq, true), `a eq true`},
		{cmpr("a", OpEq, nil), `a eq null`},
		{cmpr("a", OpEq, 1.5), `a eq 1.5`}, // built by hand, not by Parse
		{pr("title"), `title pr`},
		{&Compare{Attr: AttrPath{URI: enterpriseUser, Name: "manager", SubAttr: "value"}, Op: OpPr},
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr`},
		{and(and(pr("a"), pr("b")), pr("c")), `a pr and b pr and c pr`},
		{and(pr("a"), and(pr("b"), pr("c"))), `a pr and (b pr and c pr)`},
		{and(or(pr("a"), pr("b")), pr("c")), `(a pr or b pr) and c pr`},
		{and(pr("a"), or(pr("b"), pr("c"))), `a pr and (b pr or c pr)`},
		{or(and(pr("a"), pr("b")), pr("c")), `a pr and b pr or c pr`},
		{or(pr("a"), and(pr("b"), pr("c"))), `a pr or b pr and c pr`},
		{or(pr("a"), or(pr("b"), pr("c"))), `a pr or (b pr or c pr)`},
		{not(or(pr("a"), pr("b"))), `not (a pr or b pr)`},
		{vp("emails", and(cmpr("type", OpEq, "work"), pr("value"))), `emails[type eq "work" and value pr]`},
	} {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%#v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestFormatRoundTrip checks that Format writes what Parse reads back.
func TestFormatRoundTrip(t *testing.T) {
	for _, tt := range append(rfcFilters, parseTests...) {
		s := Format(tt.want)
		got, err := Parse(s)
		if err != nil {
			t.Errorf("Parse(Format(%q)) = Parse(%q) error: %v", tt.in, s, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", s, diff)
		}
	}
}

func TestPathString(t *testing.T) {
	for _, tt := range parsePathTests {
		s := tt.want.String()
		got, err := ParsePath(s)
		if err != nil {
			t.Errorf("ParsePath(%q) error: %v", s, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParsePath(%q) mismatch (-want +got):\n%s", s, diff)
		}
	}
	p := Path{Attr: path("emails"), Filter: cmpr("type", OpEq, "work"), SubAttr: "value"}
	if got, want := p.String(), `emails[type eq "work"].value`; got != want {
		t.Errorf("Path.String() = %s, want %s", got, want)
	}
}
