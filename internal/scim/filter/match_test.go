package filter

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testUser is the User of RFC 7643 §8.2, trimmed, with a few additions to
// reach the corners of Match.
const testUser = `{
	"schemas": [
		"urn:ietf:params:scim:schemas:core:2.0:User",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	],
	"id": "2819c223-7f76-453a-919d-413861904646",
	"externalId": "bjensen",
	"userName": "bjensen@example.com",
	"name": {"familyName": "O'Malley", "givenName": "Barbara"},
	"nickName": "",
	"title": "Tour Guide",
	"userType": "Employee",
	"active": true,
	"loginCount": 42,
	"x509Certificates": null,
	"ims": [],
	"roles": ["admin", "Viewer"],
	"emails": [
		{"value": "bjensen@example.com", "type": "work", "primary": true},
		{"value": "babs@jensen.org", "type": "home"}
	],
	"meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
		"employeeNumber": "701984",
		"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
	},
	"urn:ietf:params:scim:schemas:extension:my_ext:2.0:User": {"foo": "Bar"}
}`

var matchTests = []struct {
	filter string
	want   bool
}{
	// Strings ignore case, in attribute names and values, except where
	// caseExact says otherwise (externalId in these tests).
	{`userName eq "bjensen@example.com"`, true},
	{`USERNAME eq "BJensen@Example.com"`, true},
	{`userName eq "bjensen"`, false},
	{`externalId eq "bjensen"`, true},
	{`externalId eq "BJensen"`, false},
	{`externalId sw "BJ"`, false},
	{`name.familyName co "o'malley"`, true},
	{`userName sw "J"`, false},
	{`userName sw "BJ"`, true},
	{`userName ew "@EXAMPLE.COM"`, true},
	{`title gt "tour"`, true},
	{`title lt "Tour Guide"`, false},
	{`title le "TOUR GUIDE"`, true},
	{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj"`, true},

	// Presence (RFC 7643 §2.5: null, "" and [] are all unassigned).
	{`title pr`, true},
	{`nickName pr`, false},
	{`x509Certificates pr`, false},
	{`ims pr`, false},
	{`nosuch pr`, false},
	{`name pr`, true},
	{`emails pr`, true},
	{`emails.type pr`, true},
	{`x509Certificates eq null`, true},
	{`nosuch eq null`, true},
	{`title eq null`, false},
	{`title ne null`, true},
	{`nickName eq null`, true},

	// Date-times compare as instants.
	{`meta.lastModified gt "2011-05-13T04:42:34Z"`, false},
	{`meta.lastModified ge "2011-05-13T04:42:34Z"`, true},
	{`meta.lastModified lt "2011-05-13T04:42:34Z"`, false},
	{`meta.lastModified le "2011-05-13T04:42:34Z"`, true},
	{`meta.lastModified gt "2011-05-13T04:42:33Z"`, true},
	{`meta.lastModified lt "2011-05-13T04:42:34.5Z"`, true},
	{`meta.lastModified eq "2011-05-13T06:42:34+02:00"`, true},
	{`meta.lastModified gt "2011-05-13T06:42:33+02:00"`, true},
	{`meta.created lt "2011"`, true},                // "2011" is no date-time: compared as strings
	{`meta.created gt "2010-01-23T04:56:22"`, true}, // no zone, no date-time either

	// Numbers compare numerically; no comparison across types.
	{`loginCount eq 42`, true},
	{`loginCount eq 42.0`, true},
	{`loginCount eq 4.2e1`, true},
	{`loginCount gt 41.5`, true},
	{`loginCount le 41`, false},
	{`loginCount lt 1e400`, true},
	{`loginCount eq "42"`, false},
	{`loginCount co 4`, false},
	{`userName eq 42`, false},

	// Booleans.
	{`active eq true`, true},
	{`active ne false`, true},
	{`active eq "true"`, false},
	{`active gt false`, false},

	// Multi-valued attributes: any value; "value" of complex ones.
	{`emails co "jensen.org"`, true},
	{`emails eq "BABS@jensen.org"`, true},
	{`emails.value ew "@example.com"`, true},
	{`emails.type eq "home"`, true},
	{`emails.type eq "other"`, false},
	{`emails ne "babs@jensen.org"`, false},
	{`emails ne "nobody@example.com"`, true},
	{`roles eq "viewer"`, true},
	{`roles[value eq "admin"]`, true},

	// Value paths need one element to match the whole filter.
	{`emails[type eq "work" and value co "@example.com"]`, true},
	{`emails[type eq "home" and value co "@example.com"]`, false},
	{`emails[type eq "work" and primary eq true]`, true},
	{`emails[type eq "home" and primary eq true]`, false},
	{`emails[not (primary eq true)]`, true},
	{`emails[type eq "work"].value eq "bjensen@example.com"`, true},
	{`emails[type eq "work"].value eq "babs@jensen.org"`, false},
	{`ims[type eq "xmpp"]`, false},
	{`nosuch[type eq "xmpp"]`, false},
	{`name[givenName eq "barbara"]`, true},

	// Extensions live under their URN.
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, true},
	{`URN:IETF:params:scim:schemas:extension:enterprise:2.0:User:EmployeeNumber eq "701984"`, true},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value sw "26118915"`, true},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName eq "john smith"`, true},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[displayName co "smith"]`, true},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName pr`, false},
	{`urn:ietf:params:scim:schemas:extension:my_ext:2.0:User:foo eq "bar"`, true},
	{`urn:ietf:params:scim:schemas:extension:other:2.0:User:foo pr`, false},
	{`employeeNumber pr`, false},
	{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, true},

	// Comparing a complex attribute without "value" is false.
	{`name eq "Barbara"`, false},
	{`meta co "2011"`, false},

	// Logic, with the RFC 7644 examples.
	{`title pr and userType eq "Employee"`, true},
	{`title pr and userType eq "Intern"`, false},
	{`title pr or userType eq "Intern"`, true},
	{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, true},
	{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, false},
	{`userType eq "Employee" and (emails.type eq "work")`, true},
	{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, true},
	{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, true},
	{`not (title pr)`, false},
	{`nosuch eq "x" or not (nosuch pr)`, true},
}

func TestMatch(t *testing.T) {
	caseExact := func(p AttrPath) bool { return strings.EqualFold(p.Name, "externalId") }
	for _, useNumber := range []bool{false, true} {
		obj := decode(t, testUser, useNumber)
		for _, tt := range matchTests {
			e, err := Parse(tt.filter)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.filter, err)
			}
			if got := Match(e, obj, caseExact); got != tt.want {
				t.Errorf("Match(%q) (UseNumber %v) = %v, want %v", tt.filter, useNumber, got, tt.want)
			}
		}
	}
}

func decode(t testing.TB, s string, useNumber bool) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	if useNumber {
		d.UseNumber()
	}
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestMatchNil(t *testing.T) {
	if !Match(nil, nil, nil) {
		t.Error("Match(nil, nil, nil) = false, want true")
	}
	if Match(pr("a"), nil, nil) {
		t.Error("Match(a pr, nil, nil) = true, want false")
	}
}

// TestMatchCaseExactPath checks the path that Match asks caseExact about:
// inside brackets, the full path of the sub-attribute.
func TestMatchCaseExactPath(t *testing.T) {
	e, err := Parse(`userName eq "bjensen@example.com" and emails[type eq "home"] and ` +
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`)
	if err != nil {
		t.Fatal(err)
	}
	var got []AttrPath
	Match(e, decode(t, testUser, false), func(p AttrPath) bool {
		got = append(got, p)
		return false
	})
	want := []AttrPath{
		{Name: "userName"},
		{Name: "emails", SubAttr: "type"},
		{Name: "emails", SubAttr: "type"}, // once per element
		{URI: enterpriseUser, Name: "manager", SubAttr: "value"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("caseExact calls mismatch (-want +got):\n%s", diff)
	}
}

func TestFold(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"Straße", "STRAßE"},
		{"K", "\u212a"}, // Kelvin sign
		{"ÉCOLE", "école"},
		{"Σίσυφος", "ΣΊΣΥΦΟΣ"},
	} {
		if Fold(tt.a) != Fold(tt.b) {
			t.Errorf("Fold(%q) = %q, Fold(%q) = %q, want equal", tt.a, Fold(tt.a), tt.b, Fold(tt.b))
		}
	}
}
