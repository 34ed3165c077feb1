package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// decode decodes s as a resource document the way the API does.
func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

var normalizeTests = []struct {
	name string
	rt   ResourceType
	in   string
	want string // JSON; "" when an error is expected
	// On error:
	scimType string
	msg      string // substring of the error message
}{
	{
		name: "Entra ID create user",
		rt:   UserResourceType,
		in: `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
			"userName": "Test_User_ab6490ee@testuser.com",
			"active": true,
			"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
			"meta": {"resourceType": "User"},
			"name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
			"roles": [],
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "department": "Tour Operations", "manager": "26118915-6090-4610-87e4-49d8ca9f808d"}
		}`,
		want: `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
			"userName": "Test_User_ab6490ee@testuser.com",
			"active": true,
			"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
			"name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}
		}`,
	},
	{
		name: "names are case-insensitive",
		rt:   UserResourceType,
		in:   `{"USERNAME": "a", "Name": {"GIVENNAME": "b"}, "Emails": [{"VALUE": "x@example.com", "Type": "work"}], "ExternalID": "e"}`,
		want: `{"userName": "a", "name": {"givenName": "b"}, "emails": [{"value": "x@example.com", "type": "work"}], "externalId": "e"}`,
	},
	{
		name: "extension URN is case-insensitive",
		rt:   UserResourceType,
		in:   `{"userName": "a", "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"EmployeeNumber": "1", "Manager": {"Value": "m"}}}`,
		want: `{"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1", "manager": {"value": "m"}}}`,
	},
	{
		name: "full paths are folded in",
		rt:   UserResourceType,
		in: `{
			"urn:ietf:params:scim:schemas:core:2.0:User:userName": "a",
			"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName": "F",
			"name": {"givenName": "G"},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "D",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"costCenter": "C"}
		}`,
		want: `{
			"userName": "a",
			"name": {"givenName": "G", "familyName": "F"},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "costCenter": "C"}
		}`,
	},
	{
		name: "Entra ID string booleans",
		rt:   UserResourceType,
		in:   `{"userName": "a", "active": "False", "roles": [{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}], "emails": [{"value": "x", "primary": "false"}]}`,
		want: `{"userName": "a", "active": false, "roles": [{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}], "emails": [{"value": "x", "primary": false}]}`,
	},
	{
		name: "null and empty values are unassigned",
		rt:   UserResourceType,
		in:   `{"userName": "a", "title": null, "emails": [], "name": {"givenName": null}, "phoneNumbers": [null, {}], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": null}}`,
		want: `{"userName": "a"}`,
	},
	{
		name: "unknown attributes and extensions are dropped",
		rt:   UserResourceType,
		in: `{
			"userName": "a", "favouriteColour": "blue", "name": {"givenName": "b", "nickname2": "x"},
			"urn:ietf:params:scim:schemas:extension:custom:2.0:User": {"x": 1},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:shoeSize": "9",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"hatSize": "7"}
		}`,
		want: `{"userName": "a", "name": {"givenName": "b"}}`,
	},
	{
		name: "server-managed and write-only attributes are dropped",
		rt:   UserResourceType,
		in: `{
			"id": "client-chosen", "meta": {"created": "2020-01-01T00:00:00Z"}, "userName": "a",
			"groups": [{"value": "g1"}], "password": "hunter2",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m", "displayName": "Boss"}}
		}`,
		want: `{"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}}}`,
	},
	{
		name: "a single object for a multi-valued attribute",
		rt:   UserResourceType,
		in:   `{"userName": "a", "emails": {"value": "x@example.com"}}`,
		want: `{"userName": "a", "emails": [{"value": "x@example.com"}]}`,
	},
	{
		name: "duplicate emails merge: same type and value, value without case (RFC 7643 §2.4)",
		rt:   UserResourceType,
		in: `{"userName": "a", "emails": [
			{"value": "dup@example.com", "type": "work"},
			{"value": "home@example.com", "type": "home"},
			{"value": "DUP@Example.com", "type": "Work", "display": "Dup", "primary": true},
			{"value": "dup@example.com", "type": "work", "primary": false},
			{"value": "dup@example.com", "type": "other"},
			{"value": "dup@example.com"}
		]}`,
		want: `{"userName": "a", "emails": [
			{"value": "dup@example.com", "type": "work", "display": "Dup", "primary": true},
			{"value": "home@example.com", "type": "home"},
			{"value": "dup@example.com", "type": "other"},
			{"value": "dup@example.com"}
		]}`,
	},
	{
		name: "a value sent twice as primary is one primary value",
		rt:   UserResourceType,
		in:   `{"userName": "a", "phoneNumbers": [{"value": "+1 555 0100", "type": "work", "primary": true}, {"value": "+1 555 0100", "type": "work", "primary": "True"}]}`,
		want: `{"userName": "a", "phoneNumbers": [{"value": "+1 555 0100", "type": "work", "primary": true}]}`,
	},
	{
		name: "binary and reference values compare with case; roles without",
		rt:   UserResourceType,
		in: `{"userName": "a",
			"x509Certificates": [{"value": "QUJD"}, {"value": "qujd"}, {"value": "QUJD"}],
			"photos": [{"value": "https://example.com/A.jpg"}, {"value": "https://example.com/a.jpg"}],
			"roles": [{"value": "Admin", "type": "app"}, {"value": "admin", "type": "APP"}]}`,
		want: `{"userName": "a",
			"x509Certificates": [{"value": "QUJD"}, {"value": "qujd"}],
			"photos": [{"value": "https://example.com/A.jpg"}, {"value": "https://example.com/a.jpg"}],
			"roles": [{"value": "Admin", "type": "app"}]}`,
	},
	{
		name: "duplicate addresses merge on every component and type",
		rt:   UserResourceType,
		in: `{"userName": "a", "addresses": [
			{"type": "work", "locality": "Hollywood", "country": "USA"},
			{"type": "work", "locality": "HOLLYWOOD", "country": "usa", "primary": true},
			{"type": "work", "locality": "Hollywood", "country": "USA", "postalCode": "91608"}
		]}`,
		want: `{"userName": "a", "addresses": [
			{"type": "work", "locality": "Hollywood", "country": "USA", "primary": true},
			{"type": "work", "locality": "Hollywood", "country": "USA", "postalCode": "91608"}
		]}`,
	},
	{
		name: "group members listed twice are one member",
		rt:   GroupResourceType,
		in:   `{"displayName": "g", "members": [{"value": "u1"}, {"value": "u2"}, {"value": "u1", "display": "U One"}]}`,
		want: `{"displayName": "g", "members": [{"value": "u1", "display": "U One"}, {"value": "u2"}]}`,
	},
	{
		name: "schemas are kept as given",
		rt:   UserResourceType,
		in:   `{"Schemas": ["URN:ietf:params:scim:schemas:core:2.0:User", "urn:example:other"], "userName": "a"}`,
		want: `{"schemas": ["URN:ietf:params:scim:schemas:core:2.0:User", "urn:example:other"], "userName": "a"}`,
	},
	{
		name: "binary and reference values",
		rt:   UserResourceType,
		in:   `{"userName": "a", "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}], "profileUrl": "https://example.com/a", "photos": [{"value": "https://example.com/a.jpg", "type": "photo"}]}`,
		want: `{"userName": "a", "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}], "profileUrl": "https://example.com/a", "photos": [{"value": "https://example.com/a.jpg", "type": "photo"}]}`,
	},
	{
		name: "Okta create group",
		rt:   GroupResourceType,
		in:   `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2", "members": [{"value": "u1", "display": "a@example.com"}], "userName": "not a group attribute"}`,
		want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2", "members": [{"value": "u1", "display": "a@example.com"}]}`,
	},
	{
		name:     "number for a string",
		rt:       UserResourceType,
		in:       `{"userName": 42}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `attribute "userName" must be a string, not a number`,
	},
	{
		name:     "object for a string",
		rt:       UserResourceType,
		in:       `{"userName": "a", "displayName": {"value": "x"}}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `"displayName"`,
	},
	{
		name:     "array for a singular string",
		rt:       UserResourceType,
		in:       `{"userName": ["a", "b"]}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `"userName"`,
	},
	{
		name:     "string for a complex attribute without value",
		rt:       UserResourceType,
		in:       `{"userName": "a", "name": "Barbara Jensen"}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `attribute "name" must be an object, not a string`,
	},
	{
		name:     "string for an array of complex",
		rt:       UserResourceType,
		in:       `{"userName": "a", "emails": "a@example.com"}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `attribute "emails" must be an array of objects, not a string`,
	},
	{
		name:     "strings in an array of complex",
		rt:       GroupResourceType,
		in:       `{"displayName": "g", "members": ["u1"]}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `"members"`,
	},
	{
		name:     "not a boolean",
		rt:       UserResourceType,
		in:       `{"userName": "a", "active": "yes"}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `attribute "active" must be true or false, not a string`,
	},
	{
		name:     "wrong sub-attribute type",
		rt:       UserResourceType,
		in:       `{"userName": "a", "emails": [{"value": 7}]}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `attribute "emails.value" must be a string`,
	},
	{
		name:     "wrong extension attribute type",
		rt:       UserResourceType,
		in:       `{"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": 7}}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager" must be an object`,
	},
	{
		name:     "extension is not an object",
		rt:       UserResourceType,
		in:       `{"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "x"}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `must be an object`,
	},
	{
		name:     "two primary values",
		rt:       UserResourceType,
		in:       `{"userName": "a", "emails": [{"value": "x", "primary": true}, {"value": "y", "primary": "True"}]}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `attribute "emails" has more than one primary value`,
	},
	{
		name:     "attribute given twice",
		rt:       UserResourceType,
		in:       `{"userName": "a", "USERNAME": "b"}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `attribute "userName" is given more than once`,
	},
	{
		name:     "sub-attribute given twice",
		rt:       UserResourceType,
		in:       `{"userName": "a", "name": {"givenName": "b", "GivenName": "c"}}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `attribute "name.givenName" is given more than once`,
	},
	{
		name:     "binary that is not base64",
		rt:       UserResourceType,
		in:       `{"userName": "a", "x509Certificates": [{"value": "not base64!"}]}`,
		scimType: scimflow.SCIMInvalidValue,
		msg:      `"x509Certificates.value" must be base64-encoded`,
	},
}

func TestNormalize(t *testing.T) {
	for _, tt := range normalizeTests {
		t.Run(tt.name, func(t *testing.T) {
			in := decode(t, tt.in)
			before := decode(t, tt.in)
			got, err := Normalize(in, tt.rt)
			if diff := cmp.Diff(before, in); diff != "" {
				t.Errorf("Normalize modified its input (-before +after):\n%s", diff)
			}
			if tt.want == "" {
				var e *scimflow.Error
				if !errors.As(err, &e) || e.SCIMType != tt.scimType || !strings.Contains(e.Message, tt.msg) {
					t.Fatalf("Normalize(%s) = %v, want %s error containing %q", tt.in, err, tt.scimType, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%s) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(decode(t, tt.want), got); diff != "" {
				t.Errorf("Normalize(%s) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestNormalizeIdempotent checks that a normalized document is its own
// normal form.
func TestNormalizeIdempotent(t *testing.T) {
	for _, tt := range normalizeTests {
		if tt.want == "" {
			continue
		}
		want := decode(t, tt.want)
		got, err := Normalize(want, tt.rt)
		if err != nil {
			t.Errorf("%s: Normalize(want) error: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: Normalize(want) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestNormalizeValue(t *testing.T) {
	active := User.Attribute("active")
	emails := User.Attribute("emails")
	manager := EnterpriseUser.Attribute("manager")
	integer := Attribute{Name: "n", Type: TypeInteger}
	decimal := Attribute{Name: "d", Type: TypeDecimal}
	created := find(CommonAttributes, "meta").SubAttribute("created")
	tests := []struct {
		attr Attribute
		in   any
		want any
		err  bool
	}{
		{*active, "TRUE", true, false},
		{*active, false, false, false},
		{*active, nil, nil, false},
		{*active, json.Number("1"), nil, true},
		{*manager, "m1", map[string]any{"value": "m1"}, false},
		{*emails, map[string]any{"Value": "x"}, []any{map[string]any{"value": "x"}}, false},
		{*emails, []any{}, nil, false},
		{integer, json.Number("12"), json.Number("12"), false},
		{integer, float64(3), json.Number("3"), false},
		{integer, json.Number("1.5"), nil, true},
		{integer, "12", nil, true},
		{decimal, json.Number("1.5e3"), json.Number("1.5e3"), false},
		{decimal, 2.5, json.Number("2.5"), false},
		{*created, "2008-01-23T04:56:22Z", "2008-01-23T04:56:22Z", false},
		{*created, "yesterday", nil, true},
	}
	for _, tt := range tests {
		got, err := NormalizeValue(tt.attr, tt.attr.Name, tt.in)
		if (err != nil) != tt.err {
			t.Errorf("NormalizeValue(%s, %#v) error = %v, want error %t", tt.attr.Name, tt.in, err, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("NormalizeValue(%s, %#v) mismatch (-want +got):\n%s", tt.attr.Name, tt.in, diff)
		}
	}
}

func ExampleNormalize() {
	// A user as Microsoft Entra ID creates it.
	doc := map[string]any{
		"schemas":  []any{UserURN, EnterpriseUserURN},
		"UserName": "bjensen@example.com",
		"active":   "True",
		"meta":     map[string]any{"resourceType": "User"},
		EnterpriseUserURN: map[string]any{
			"manager": "26118915-6090-4610-87e4-49d8ca9f808d",
		},
	}
	got, err := Normalize(doc, UserResourceType)
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		panic(err)
	}
	b.WriteTo(os.Stdout)
	// Output:
	// {
	//   "active": true,
	//   "schemas": [
	//     "urn:ietf:params:scim:schemas:core:2.0:User",
	//     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	//   ],
	//   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
	//     "manager": {
	//       "value": "26118915-6090-4610-87e4-49d8ca9f808d"
	//     }
	//   },
	//   "userName": "bjensen@example.com"
	// }
}
