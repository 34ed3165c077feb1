package patch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// req returns a PATCH request body with the given operations.
func req(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

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

const (
	coreURN = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]`
	bothURN = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]`
	ent     = `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`

	// A user as stored after schema.Normalize and the server's additions.
	bjensen = `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
		`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
		`"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@home.example","type":"home"}],` +
		`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`

	// A user with nothing but a name.
	bare = `{` + coreURN + `,"id":"u1","userName":"bjensen"}`

	group = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Tour Guides",` +
		`"members":[{"value":"u1","display":"Babs","type":"User"},{"value":"u2"}]}`
)

type applyTest struct {
	name string
	rt   schema.ResourceType // UserResourceType when zero
	doc  string
	body string
	want string // "" when an error is expected
	// On error:
	scimType string
	msg      string // substring of the error message
}

var applyTests = []applyTest{
	// Literal identity provider requests.
	{
		name: "Entra ID default dialect",
		doc:  bjensen,
		body: entraDefault,
		want: `{` + bothURN + `,"id":"u1","userName":"bjensen","active":false,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"a@b.com","type":"work","primary":true},{"value":"babs@home.example","type":"home"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"},` +
			`"` + ent + `":{"manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`,
	},
	{
		name: "Entra ID default dialect, user without a work email",
		doc:  bare,
		body: entraDefault,
		want: `{` + bothURN + `,"id":"u1","userName":"bjensen","active":false,` +
			`"emails":[{"type":"work","value":"a@b.com"}],` +
			`"` + ent + `":{"manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`,
	},
	{
		name: "Entra ID feature-flag dialect",
		doc:  bjensen,
		body: entraFlag,
		want: `{` + bothURN + `,"id":"u1","userName":"bjensen","active":false,"displayName":"Barbie Jensen-Smith",` +
			`"name":{"givenName":"Barbie","familyName":"Jensen-Smith"},` +
			`"emails":[{"value":"barbie@example.com","type":"work","primary":true},{"value":"babs@home.example","type":"home"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"},` +
			`"` + ent + `":{"employeeNumber":"7"}}`,
	},
	{
		name: "Okta deactivation",
		doc:  bare,
		body: oktaDeactivate,
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":false}`,
	},
	{
		name: "replace of a filtered element keeps the sub-attributes not given (RFC 7644 §3.5.2.3)",
		doc:  bjensen,
		body: req(`{"op":"replace","path":"emails[type eq \"work\"]","value":{"value":"w2@x.com"}}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"w2@x.com","type":"work","primary":true},{"value":"babs@home.example","type":"home"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "a whole resource as a path-less value: echoed meta and groups are ignored",
		doc:  bare,
		body: req(`{"op":"replace","value":{"id":"u1","userName":"babs","meta":{"resourceType":"User","created":"2020-01-01T00:00:00Z"},"groups":[]}}`),
		want: `{` + coreURN + `,"id":"u1","userName":"babs"}`,
	},
	{
		name: "Okta echoes the id",
		doc:  bare,
		body: req(`{"op":"replace","value":{"id":"u1","userName":"babs","active":true,"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}}`),
		want: `{` + coreURN + `,"id":"u1","userName":"babs","active":true}`,
	},
	{
		name: "Entra ID sets the extension with a nested object",
		doc:  `{` + bothURN + `,"id":"u1","userName":"bjensen","` + ent + `":{"employeeNumber":"1"}}`,
		body: req(`{"op":"Replace","value":{"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER":{"Department":"Tours","manager":"m1"}}}`),
		want: `{` + bothURN + `,"id":"u1","userName":"bjensen","` + ent + `":{"employeeNumber":"1","department":"Tours","manager":{"value":"m1"}}}`,
	},
	{
		name: "Entra ID extras in a path-less value are ignored",
		doc:  bare,
		body: req(`{"op":"Add","value":{"urn:ietf:params:scim:schemas:extension:custom:2.0:User:x":"1","favouriteColour":"blue","name.nickname2":"x","not a path!":1,"title":"Boss"}}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","title":"Boss"}`,
	},

	// add
	{
		name: "add without path merges",
		doc:  bjensen,
		body: req(`{"op":"add","value":{"emails":[{"value":"b@example.org","type":"other"}],"nickName":"Babs","name":{"middleName":"J"}}}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,"nickName":"Babs",` +
			`"name":{"givenName":"Barbara","familyName":"Jensen","middleName":"J"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@home.example","type":"home"},{"value":"b@example.org","type":"other"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "add to a multi-valued attribute skips duplicates",
		doc:  bjensen,
		body: req(`{"op":"add","path":"emails","value":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"new@example.com"}]}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@home.example","type":"home"},{"value":"new@example.com"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "add a single object to a multi-valued attribute",
		doc:  bare,
		body: req(`{"op":"add","path":"phoneNumbers","value":{"value":"tel:+1-201-555-0123","type":"mobile"}}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","phoneNumbers":[{"value":"tel:+1-201-555-0123","type":"mobile"}]}`,
	},
	{
		name: "add a primary value demotes the others",
		doc:  bjensen,
		body: req(`{"op":"add","path":"emails","value":[{"value":"new@example.com","primary":"True"}]}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@home.example","type":"home"},{"value":"new@example.com","primary":true}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "add to a singular attribute sets it",
		doc:  bare,
		body: req(`{"op":"add","path":"title","value":"Tour Guide"}`, `{"op":"add","path":"title","value":"Senior Tour Guide"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","title":"Senior Tour Guide"}`,
	},
	{
		name: "add to a complex attribute merges",
		doc:  bjensen,
		body: req(`{"op":"add","path":"name","value":{"middleName":"Jane","givenName":"Babs"}}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Babs","familyName":"Jensen","middleName":"Jane"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@home.example","type":"home"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "add a sub-attribute to an absent complex attribute",
		doc:  bare,
		body: req(`{"op":"add","path":"name.givenName","value":"Barbara"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","name":{"givenName":"Barbara"}}`,
	},
	{
		name: "add with a filter merges into the matching values",
		doc:  bjensen,
		body: req(`{"op":"add","path":"emails[type eq \"home\"]","value":{"display":"Home"}}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@home.example","type":"home","display":"Home"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},

	// replace
	{
		name: "replace a complex attribute merges (RFC 7644 §3.5.2.3)",
		doc:  bjensen,
		body: req(`{"op":"replace","path":"name","value":{"givenName":"Babs","honorificPrefix":null}}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Babs","familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@home.example","type":"home"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "replace a multi-valued attribute wholesale",
		doc:  bjensen,
		body: req(`{"op":"replace","path":"emails","value":[{"value":"only@example.com","type":"work"}]}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"only@example.com","type":"work"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "replace a sub-attribute of filtered values",
		doc:  bjensen,
		body: req(`{"op":"replace","path":"emails[type eq \"WORK\"].value","value":"barbara@example.com"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"barbara@example.com","type":"work","primary":true},{"value":"babs@home.example","type":"home"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "replace filtered values",
		doc:  bjensen,
		body: req(`{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"b@home.example","type":"home","primary":true}}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"b@home.example","type":"home","primary":true}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "replace primary through a filter demotes the others",
		doc:  bjensen,
		body: req(`{"op":"Replace","path":"emails[type eq \"home\"].primary","value":"True"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@home.example","type":"home","primary":true}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "Entra ID replace creates the missing value from the filter",
		doc:  bare,
		body: req(
			`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@example.com"}`,
			`{"op":"Replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0100"}`,
			`{"op":"Replace","path":"addresses[type eq \"work\"].streetAddress","value":"100 Universal City Plaza"}`,
			`{"op":"Replace","path":"addresses[type eq \"work\"].locality","value":"Hollywood"}`,
			`{"op":"Replace","path":"phoneNumbers[type eq \"fax\"].value","value":"+1 555 0199"}`,
			`{"op":"replace","path":"emails[type eq \"other\"].Value","value":"smtp:b@example.org"}`,
			`{"op":"Replace","path":"addresses[type eq \"other\"].Formatted","value":"Building 92"}`,
			`{"op":"Replace","path":"roles[primary eq \"True\"].value","value":"Reader"}`,
		),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen",` +
			`"emails":[{"type":"work","value":"w@example.com"},{"type":"other","value":"smtp:b@example.org"}],` +
			`"phoneNumbers":[{"type":"mobile","value":"+1 555 0100"},{"type":"fax","value":"+1 555 0199"}],` +
			`"addresses":[{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood"},{"type":"other","formatted":"Building 92"}],` +
			`"roles":[{"primary":true,"value":"Reader"}]}`,
	},
	{
		name: "add with a filter creates the missing value",
		doc:  bare,
		body: req(`{"op":"add","path":"addresses[type eq \"home\"]","value":{"locality":"Springfield"}}`,
			`{"op":"add","path":"emails[type eq \"nonexistent\"].value","value":"n@example.com"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","addresses":[{"type":"home","locality":"Springfield"}],` +
			`"emails":[{"type":"nonexistent","value":"n@example.com"}]}`,
	},
	{
		name: "replace null on a missing filtered value does nothing",
		doc:  bare,
		body: req(`{"op":"replace","path":"emails[type eq \"work\"].value","value":null}`),
		want: bare,
	},
	{
		name: "Entra ID string boolean",
		doc:  bare,
		body: req(`{"op":"Replace","path":"active","value":"False"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":false}`,
	},
	{
		name: "replace null unassigns",
		doc:  bjensen,
		body: req(`{"op":"replace","path":"name.givenName","value":null}`, `{"op":"replace","path":"active","value":null}`, `{"op":"replace","path":"emails","value":[]}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","name":{"familyName":"Jensen"},"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "replace every value's sub-attribute",
		doc:  bjensen,
		body: req(`{"op":"replace","path":"emails.display","value":"Babs"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":true,"display":"Babs"},{"value":"babs@home.example","type":"home","display":"Babs"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "replace an extension attribute by path",
		doc:  bare,
		body: req(`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:MANAGER.value","value":"m2"}`,
			`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Tours"}`),
		want: `{` + bothURN + `,"id":"u1","userName":"bjensen","` + ent + `":{"manager":{"value":"m2"},"department":"Tours"}}`,
	},
	{
		name: "replace the whole extension",
		doc:  `{` + bothURN + `,"id":"u1","userName":"bjensen","` + ent + `":{"employeeNumber":"1"}}`,
		body: req(`{"op":"replace","path":"` + ent + `","value":{"department":"Tours"}}`),
		want: `{` + bothURN + `,"id":"u1","userName":"bjensen","` + ent + `":{"employeeNumber":"1","department":"Tours"}}`,
	},
	{
		name: "password is accepted and discarded",
		doc:  bare,
		body: req(`{"op":"replace","path":"password","value":"hunter2"}`, `{"op":"replace","value":{"password":"hunter3"}}`),
		want: bare,
	},
	{
		name:     "all-or-nothing: a failing operation undoes the others",
		doc:      bare,
		body:     req(`{"op":"replace","path":"active","value":false}`, `{"op":"replace","path":"shoeSize","value":"9"}`),
		scimType: scimflow.SCIMInvalidPath,
		msg:      `Operations[1]: path "shoeSize": no attribute "shoeSize" in resource type User`,
	},

	// remove
	{
		name: "remove attributes",
		doc:  bjensen,
		body: req(`{"op":"remove","path":"name.givenName"}`, `{"op":"remove","path":"active"}`, `{"op":"remove","path":"nickName"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","name":{"familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@home.example","type":"home"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "remove the last sub-attribute removes the attribute",
		doc:  bjensen,
		body: req(`{"op":"remove","path":"name.givenName"}`, `{"op":"remove","path":"name.familyName"}`, `{"op":"remove","path":"emails"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "remove filtered values",
		doc:  bjensen,
		body: req(`{"op":"remove","path":"emails[type eq \"home\" or value eq \"nobody@example.com\"]"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":true}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "remove a sub-attribute of filtered values",
		doc:  bjensen,
		body: req(`{"op":"remove","path":"emails[type eq \"work\"].primary"}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work"},{"value":"babs@home.example","type":"home"}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "remove listed values",
		doc:  bjensen,
		body: req(`{"op":"remove","path":"emails","value":[{"value":"BABS@home.example"}]}`),
		want: `{` + coreURN + `,"id":"u1","userName":"bjensen","active":true,` +
			`"name":{"givenName":"Barbara","familyName":"Jensen"},` +
			`"emails":[{"value":"bjensen@example.com","type":"work","primary":true}],` +
			`"meta":{"resourceType":"User","created":"2024-01-02T03:04:05Z"}}`,
	},
	{
		name: "remove what matches nothing",
		doc:  bjensen,
		body: req(`{"op":"remove","path":"emails[type eq \"other\"]"}`, `{"op":"remove","path":"emails","value":[{"value":"nobody@example.com"}]}`, `{"op":"remove","path":"addresses[type eq \"work\"].locality"}`),
		want: bjensen,
	},
	{
		name: "remove an extension attribute",
		doc:  `{` + bothURN + `,"id":"u1","userName":"bjensen","` + ent + `":{"manager":{"value":"m1"}}}`,
		body: req(`{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":[{"value":"m1"}]}`),
		want: `{` + bothURN + `,"id":"u1","userName":"bjensen"}`,
	},
	{
		name: "remove the whole extension",
		doc:  `{` + bothURN + `,"id":"u1","userName":"bjensen","` + ent + `":{"employeeNumber":"1","department":"Tours"}}`,
		body: req(`{"op":"remove","path":"` + ent + `"}`),
		want: `{` + bothURN + `,"id":"u1","userName":"bjensen"}`,
	},

	// Groups.
	{
		name: "Entra ID adds members",
		rt:   schema.GroupResourceType,
		doc:  group,
		body: req(`{"op":"Add","path":"members","value":[{"value":"u1"},{"value":"u3"}]}`),
		want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Tour Guides",` +
			`"members":[{"value":"u1","display":"Babs","type":"User"},{"value":"u2"},{"value":"u3"}]}`,
	},
	{
		name: "Entra ID removes members",
		rt:   schema.GroupResourceType,
		doc:  group,
		body: req(`{"op":"Remove","path":"members","value":[{"value":"u1"}]}`),
		want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Tour Guides","members":[{"value":"u2"}]}`,
	},
	{
		name: "Okta removes a member by filter",
		rt:   schema.GroupResourceType,
		doc:  group,
		body: req(`{"op":"remove","path":"members[value eq \"u2\"]"}`),
		want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Tour Guides","members":[{"value":"u1","display":"Babs","type":"User"}]}`,
	},
	{
		name: "Okta renames a group",
		rt:   schema.GroupResourceType,
		doc:  group,
		body: req(`{"op":"replace","value":{"id":"g1","displayName":"Guides"}}`),
		want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Guides",` +
			`"members":[{"value":"u1","display":"Babs","type":"User"},{"value":"u2"}]}`,
	},
	{
		name: "replace all members",
		rt:   schema.GroupResourceType,
		doc:  group,
		body: req(`{"op":"replace","path":"members","value":[{"value":"u9"}]}`),
		want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Tour Guides","members":[{"value":"u9"}]}`,
	},

	// Errors.
	{name: "replace id", doc: bare, body: req(`{"op":"replace","path":"id","value":"u2"}`), scimType: scimflow.SCIMMutability, msg: `attribute "id" is read-only`},
	{name: "path-less replace of another id", doc: bare, body: req(`{"op":"replace","value":{"id":"u2"}}`), scimType: scimflow.SCIMMutability, msg: `"id" is read-only`},
	{name: "replace meta", doc: bjensen, body: req(`{"op":"replace","path":"meta.created","value":"2020-01-01T00:00:00Z"}`), scimType: scimflow.SCIMMutability, msg: `"meta.created" is read-only`},
	{name: "add groups by path", doc: bare, body: req(`{"op":"add","path":"groups","value":[{"value":"g1"}]}`), scimType: scimflow.SCIMMutability, msg: `"groups" is read-only`},
	{name: "remove groups", doc: bare, body: req(`{"op":"remove","path":"groups"}`), scimType: scimflow.SCIMMutability, msg: `"groups" is read-only`},
	{name: "remove a required attribute", doc: bare, body: req(`{"op":"remove","path":"userName"}`), scimType: scimflow.SCIMMutability, msg: `"userName" is required`},
	{name: "replace a required attribute with null", doc: bare, body: req(`{"op":"replace","value":{"userName":null}}`), scimType: scimflow.SCIMMutability, msg: `"userName" is required`},
	{name: "change an immutable member value", rt: schema.GroupResourceType, doc: group, body: req(`{"op":"replace","path":"members[value eq \"u2\"].value","value":"u3"}`), scimType: scimflow.SCIMMutability, msg: `"members.value" is immutable`},
	{name: "unknown attribute", doc: bare, body: req(`{"op":"add","path":"shoeSize","value":"9"}`), scimType: scimflow.SCIMInvalidPath, msg: `no attribute "shoeSize"`},
	{name: "unknown sub-attribute", doc: bare, body: req(`{"op":"add","path":"name.nickname","value":"x"}`), scimType: scimflow.SCIMInvalidPath, msg: `attribute "name" has no sub-attribute "nickname"`},
	{name: "sub-attribute of a simple attribute", doc: bare, body: req(`{"op":"add","path":"userName.first","value":"x"}`), scimType: scimflow.SCIMInvalidPath, msg: `attribute "userName" has no sub-attributes`},
	{name: "extension attribute without URN", doc: bare, body: req(`{"op":"add","path":"employeeNumber","value":"7"}`), scimType: scimflow.SCIMInvalidPath, msg: `no attribute "employeeNumber"`},
	{name: "unknown extension", doc: bare, body: req(`{"op":"add","path":"urn:example:ext:2.0:User:x","value":"7"}`), scimType: scimflow.SCIMInvalidPath, msg: `no attribute`},
	{name: "filter on a singular attribute", doc: bare, body: req(`{"op":"replace","path":"name[givenName eq \"x\"].familyName","value":"y"}`), scimType: scimflow.SCIMInvalidPath, msg: `"name" is not multi-valued`},
	{name: "filter on an unknown sub-attribute", doc: bjensen, body: req(`{"op":"replace","path":"emails[kind eq \"work\"].value","value":"y"}`), scimType: scimflow.SCIMInvalidFilter, msg: `"kind" is not a sub-attribute of "emails"`},
	{name: "replace matching nothing with a complex filter", doc: bjensen, body: req(`{"op":"replace","path":"emails[type eq \"other\" or type eq \"x\"].value","value":"y"}`), scimType: scimflow.SCIMNoTarget, msg: `no value of "emails" matches the filter`},
	// RFC 7644 §3.5.2.3: a replace whose filter matches nothing has no
	// target; only the value paths Entra ID sends create the value.
	{name: "replace matching nothing: a type Entra does not send", doc: bjensen, body: req(`{"op":"replace","path":"emails[type eq \"nonexistent\"].value","value":"y"}`), scimType: scimflow.SCIMNoTarget, msg: `no value of "emails" matches the filter`},
	{name: "replace matching nothing: Entra's attribute with two terms", doc: bare, body: req(`{"op":"Replace","path":"phoneNumbers[type eq \"fax\" and primary eq false].value","value":"+1 555 0199"}`), scimType: scimflow.SCIMNoTarget, msg: `no value of "phoneNumbers"`},
	{name: "replace matching nothing: a whole value", doc: bare, body: req(`{"op":"replace","path":"addresses[type eq \"work\"]","value":{"locality":"Springfield"}}`), scimType: scimflow.SCIMNoTarget, msg: `no value of "addresses"`},
	{name: "replace matching nothing: a sub-attribute Entra does not send", doc: bare, body: req(`{"op":"replace","path":"emails[type eq \"work\"].display","value":"Work"}`), scimType: scimflow.SCIMNoTarget, msg: `no value of "emails"`},
	{name: "replace matching nothing: an attribute Entra does not send", doc: bare, body: req(`{"op":"replace","path":"ims[type eq \"work\"].value","value":"x"}`), scimType: scimflow.SCIMNoTarget, msg: `no value of "ims"`},
	{name: "replace matching nothing: roles not primary", doc: bare, body: req(`{"op":"replace","path":"roles[primary eq false].value","value":"x"}`), scimType: scimflow.SCIMNoTarget, msg: `no value of "roles"`},
	{name: "replace matching nothing, after a value path that did", doc: bjensen, body: req(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"w@example.com"}`, `{"op":"replace","path":"emails[type eq \"x\"].value","value":"y"}`), scimType: scimflow.SCIMNoTarget, msg: `Operations[1]: no value of "emails"`},
	{name: "add matching nothing with a non-equality filter", doc: bjensen, body: req(`{"op":"add","path":"emails[value co \"zzz\"].display","value":"y"}`), scimType: scimflow.SCIMNoTarget, msg: `no value of "emails" matches`},
	{name: "not a boolean", doc: bare, body: req(`{"op":"replace","path":"active","value":"yes"}`), scimType: scimflow.SCIMInvalidValue, msg: `attribute "active" must be true or false`},
	{name: "number for a string", doc: bare, body: req(`{"op":"replace","path":"userName","value":42}`), scimType: scimflow.SCIMInvalidValue, msg: `attribute "userName" must be a string, not a number`},
	{name: "string for an array of complex", doc: bare, body: req(`{"op":"add","path":"emails","value":"a@example.com"}`), scimType: scimflow.SCIMInvalidValue, msg: `attribute "emails" must be an array of objects`},
	{name: "object for a string in a path-less value", doc: bare, body: req(`{"op":"replace","value":{"title":{"value":"x"}}}`), scimType: scimflow.SCIMInvalidValue, msg: `attribute "title" must be a string, not an object`},
	{name: "path-less value that is not an object", doc: bare, body: req(`{"op":"add","value":"x"}`), scimType: scimflow.SCIMInvalidValue, msg: `"value" must be an object`},
	{name: "extension that is not an object", doc: bare, body: req(`{"op":"add","value":{"` + ent + `":"x"}}`), scimType: scimflow.SCIMInvalidValue, msg: `must be an object`},
	{name: "two primary values", doc: bare, body: req(`{"op":"add","path":"emails","value":[{"value":"a","primary":true},{"value":"b","primary":true}]}`), scimType: scimflow.SCIMInvalidValue, msg: `more than one primary value`},
	{name: "primary on two filtered values", doc: bjensen, body: req(`{"op":"replace","path":"emails[value pr].primary","value":true}`), scimType: scimflow.SCIMInvalidValue, msg: `more than one primary value`},
}

func TestApply(t *testing.T) {
	for _, tt := range applyTests {
		t.Run(tt.name, func(t *testing.T) {
			rt := tt.rt
			if rt.ID == "" {
				rt = schema.UserResourceType
			}
			ops, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", tt.body, err)
			}
			doc := decode(t, tt.doc)
			got, err := Apply(doc, ops, rt)
			if diff := cmp.Diff(decode(t, tt.doc), doc); diff != "" {
				t.Errorf("Apply modified its input (-before +after):\n%s", diff)
			}
			if tt.want == "" {
				var e *scimflow.Error
				if !errors.As(err, &e) || e.SCIMType != tt.scimType || !strings.Contains(e.Message, tt.msg) || got != nil {
					t.Fatalf("Apply(%s) = %v, %v, want nil, %s error containing %q", tt.body, got, err, tt.scimType, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply(%s) error: %v", tt.body, err)
			}
			if diff := cmp.Diff(decode(t, tt.want), got); diff != "" {
				t.Errorf("Apply(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

// TestApplyResultIsNormal checks that what Apply returns is in the form
// schema.Normalize produces, so that stored documents stay canonical.
func TestApplyResultIsNormal(t *testing.T) {
	for _, tt := range applyTests {
		if tt.want == "" {
			continue
		}
		want := decode(t, tt.want)
		rt := tt.rt
		if rt.ID == "" {
			rt = schema.UserResourceType
		}
		checkNormal(t, want, rt)
	}
}

// checkNormal reports an error when doc, without its server-managed
// attributes, is not its own normal form.
func checkNormal(t *testing.T, doc map[string]any, rt schema.ResourceType) {
	t.Helper()
	client := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "id" && k != "meta" && k != "groups" {
			client[k] = v
		}
	}
	got, err := schema.Normalize(client, rt)
	if err != nil {
		t.Errorf("Normalize(%v) error: %v", client, err)
		return
	}
	if diff := cmp.Diff(client, got); diff != "" {
		t.Errorf("document is not normal (-doc +normalized):\n%s", diff)
	}
}
