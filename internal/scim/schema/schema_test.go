package schema

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scim/filter"
)

func TestLookup(t *testing.T) {
	const ent = EnterpriseUserURN
	tests := []struct {
		rt        ResourceType
		path      filter.AttrPath
		want      string // canonical path; "" when not found
		schema    string
		caseExact bool
		multi     bool
		typ       string
	}{
		{UserResourceType, filter.AttrPath{Name: "USERNAME"}, "userName", UserURN, false, false, TypeString},
		{UserResourceType, filter.AttrPath{URI: "URN:ietf:params:scim:schemas:core:2.0:user", Name: "userName"}, "userName", UserURN, false, false, TypeString},
		{UserResourceType, filter.AttrPath{Name: "name", SubAttr: "GIVENNAME"}, "name.givenName", UserURN, false, false, TypeString},
		{UserResourceType, filter.AttrPath{Name: "emails"}, "emails", UserURN, false, true, TypeComplex},
		{UserResourceType, filter.AttrPath{Name: "Emails", SubAttr: "Primary"}, "emails.primary", UserURN, false, false, TypeBoolean},
		{UserResourceType, filter.AttrPath{Name: "groups", SubAttr: "$REF"}, "groups.$ref", UserURN, false, false, TypeReference},
		{UserResourceType, filter.AttrPath{Name: "id"}, "id", "", true, false, TypeString},
		{UserResourceType, filter.AttrPath{Name: "externalid"}, "externalId", "", true, false, TypeString},
		{UserResourceType, filter.AttrPath{Name: "meta", SubAttr: "lastmodified"}, "meta.lastModified", "", false, false, TypeDateTime},
		{UserResourceType, filter.AttrPath{URI: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user", Name: "MANAGER", SubAttr: "value"}, ent + ":manager.value", ent, false, false, TypeString},
		{UserResourceType, filter.AttrPath{URI: ent, Name: "employeeNumber"}, ent + ":employeeNumber", ent, false, false, TypeString},
		{GroupResourceType, filter.AttrPath{Name: "members", SubAttr: "value"}, "members.value", GroupURN, false, false, TypeString},
		{GroupResourceType, filter.AttrPath{Name: "DisplayName"}, "displayName", GroupURN, false, false, TypeString},

		// Extension attributes need their URN (RFC 7644 §3.10).
		{UserResourceType, filter.AttrPath{Name: "employeeNumber"}, "", "", false, false, ""},
		{UserResourceType, filter.AttrPath{Name: "nope"}, "", "", false, false, ""},
		{UserResourceType, filter.AttrPath{Name: "name", SubAttr: "nope"}, "", "", false, false, ""},
		{UserResourceType, filter.AttrPath{Name: "userName", SubAttr: "x"}, "", "", false, false, ""},
		{UserResourceType, filter.AttrPath{URI: "urn:example:other", Name: "userName"}, "", "", false, false, ""},
		{UserResourceType, filter.AttrPath{URI: ent, Name: "id"}, "", "", false, false, ""},
		{UserResourceType, filter.AttrPath{}, "", "", false, false, ""},
		{GroupResourceType, filter.AttrPath{Name: "userName"}, "", "", false, false, ""},
		{GroupResourceType, filter.AttrPath{URI: ent, Name: "department"}, "", "", false, false, ""},
	}
	for _, tt := range tests {
		r, ok := Lookup(tt.rt, tt.path)
		if ok != (tt.want != "") {
			t.Errorf("Lookup(%s, %+v) ok = %t, want %t", tt.rt.ID, tt.path, ok, !ok)
			continue
		}
		if !ok {
			continue
		}
		got := r.Target()
		if r.String() != tt.want || r.Schema != tt.schema || got.CaseExact != tt.caseExact || got.MultiValued != tt.multi || got.Type != tt.typ {
			t.Errorf("Lookup(%s, %+v) = %s (schema %q, caseExact %t, multiValued %t, type %s), want %s (schema %q, caseExact %t, multiValued %t, type %s)",
				tt.rt.ID, tt.path, r, r.Schema, got.CaseExact, got.MultiValued, got.Type, tt.want, tt.schema, tt.caseExact, tt.multi, tt.typ)
		}
		if r.Extension != (tt.schema == ent) {
			t.Errorf("Lookup(%s, %+v).Extension = %t", tt.rt.ID, tt.path, r.Extension)
		}
	}
}

func TestCaseExact(t *testing.T) {
	tests := []struct {
		path filter.AttrPath
		want bool
	}{
		{filter.AttrPath{Name: "id"}, true},
		{filter.AttrPath{Name: "externalId"}, true},
		{filter.AttrPath{Name: "userName"}, false},
		{filter.AttrPath{Name: "emails", SubAttr: "value"}, false},
		{filter.AttrPath{Name: "unknown"}, false},
	}
	for _, tt := range tests {
		if got := UserResourceType.CaseExact(tt.path); got != tt.want {
			t.Errorf("CaseExact(%+v) = %t, want %t", tt.path, got, tt.want)
		}
	}
}

// TestUserAttributes checks that every attribute of RFC 7643 §4.1 and §4.3
// is defined, with the characteristics scimflow relies on.
func TestUserAttributes(t *testing.T) {
	want := map[string][]string{
		"userName": nil, "displayName": nil, "nickName": nil, "profileUrl": nil, "title": nil,
		"userType": nil, "preferredLanguage": nil, "locale": nil, "timezone": nil, "active": nil, "password": nil,
		"name":             {"formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"},
		"emails":           {"value", "display", "type", "primary"},
		"phoneNumbers":     {"value", "display", "type", "primary"},
		"ims":              {"value", "display", "type", "primary"},
		"photos":           {"value", "display", "type", "primary"},
		"addresses":        {"formatted", "streetAddress", "locality", "region", "postalCode", "country", "type", "primary"},
		"groups":           {"value", "$ref", "display", "type"},
		"entitlements":     {"value", "display", "type", "primary"},
		"roles":            {"value", "display", "type", "primary"},
		"x509Certificates": {"value", "display", "type", "primary"},
	}
	got := map[string][]string{}
	for _, a := range User.Attributes {
		var subs []string
		for _, s := range a.SubAttributes {
			subs = append(subs, s.Name)
		}
		got[a.Name] = subs
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("User attributes mismatch (-want +got):\n%s", diff)
	}

	checks := []struct {
		rt   ResourceType
		path filter.AttrPath
		want Attribute // only the characteristics compared below
	}{
		{UserResourceType, filter.AttrPath{Name: "userName"}, Attribute{Required: true, Mutability: MutabilityReadWrite, Returned: ReturnedDefault, Uniqueness: UniquenessServer}},
		{UserResourceType, filter.AttrPath{Name: "password"}, Attribute{Mutability: MutabilityWriteOnly, Returned: ReturnedNever, Uniqueness: UniquenessNone}},
		{UserResourceType, filter.AttrPath{Name: "groups"}, Attribute{MultiValued: true, Mutability: MutabilityReadOnly, Returned: ReturnedRequest, Uniqueness: UniquenessNone}},
		{UserResourceType, filter.AttrPath{Name: "id"}, Attribute{CaseExact: true, Mutability: MutabilityReadOnly, Returned: ReturnedAlways, Uniqueness: UniquenessServer}},
		{UserResourceType, filter.AttrPath{Name: "externalId"}, Attribute{CaseExact: true, Mutability: MutabilityReadWrite, Returned: ReturnedDefault, Uniqueness: UniquenessNone}},
		{GroupResourceType, filter.AttrPath{Name: "displayName"}, Attribute{Required: true, Mutability: MutabilityReadWrite, Returned: ReturnedDefault, Uniqueness: UniquenessServer}},
		{GroupResourceType, filter.AttrPath{Name: "members"}, Attribute{MultiValued: true, Mutability: MutabilityReadWrite, Returned: ReturnedDefault, Uniqueness: UniquenessNone}},
		{GroupResourceType, filter.AttrPath{Name: "members", SubAttr: "value"}, Attribute{Mutability: MutabilityImmutable, Returned: ReturnedDefault, Uniqueness: UniquenessNone}},
	}
	for _, c := range checks {
		r, ok := Lookup(c.rt, c.path)
		if !ok {
			t.Errorf("Lookup(%s, %+v) failed", c.rt.ID, c.path)
			continue
		}
		a := r.Target()
		got := Attribute{Required: a.Required, MultiValued: a.MultiValued, CaseExact: a.CaseExact, Mutability: a.Mutability, Returned: a.Returned, Uniqueness: a.Uniqueness}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s %s characteristics mismatch (-want +got):\n%s", c.rt.ID, r, diff)
		}
	}
}

func TestSchemaResource(t *testing.T) {
	var got map[string]any
	if err := json.Unmarshal(User.Resource("https://example.com/scim/v2/"), &got); err != nil {
		t.Fatal(err)
	}
	attrs := got["attributes"].([]any)
	delete(got, "attributes")
	want := map[string]any{
		"schemas":     []any{SchemaURN},
		"id":          UserURN,
		"name":        "User",
		"description": "User Account",
		"meta": map[string]any{
			"resourceType": "Schema",
			"location":     "https://example.com/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("User.Resource mismatch (-want +got):\n%s", diff)
	}

	// RFC 7643 §8.7.1, with every characteristic spelled out.
	wantAttrs := map[string]any{
		"userName": map[string]any{
			"name": "userName", "type": "string", "multiValued": false,
			"description": User.Attribute("userName").Description,
			"required":    true, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "server",
		},
		"profileUrl": map[string]any{
			"name": "profileUrl", "type": "reference", "referenceTypes": []any{"external"}, "multiValued": false,
			"description": User.Attribute("profileUrl").Description,
			"required":    false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
		},
		"password": map[string]any{
			"name": "password", "type": "string", "multiValued": false,
			"description": User.Attribute("password").Description,
			"required":    false, "caseExact": false, "mutability": "writeOnly", "returned": "never", "uniqueness": "none",
		},
	}
	for _, a := range attrs {
		a := a.(map[string]any)
		if w, ok := wantAttrs[a["name"].(string)]; ok {
			if diff := cmp.Diff(w, a); diff != "" {
				t.Errorf("attribute %s mismatch (-want +got):\n%s", a["name"], diff)
			}
			delete(wantAttrs, a["name"].(string))
		}
		if a["name"] == "emails" {
			subs := a["subAttributes"].([]any)
			typ := subs[2].(map[string]any)
			if diff := cmp.Diff([]any{"work", "home", "other"}, typ["canonicalValues"]); diff != "" {
				t.Errorf("emails.type canonicalValues mismatch (-want +got):\n%s", diff)
			}
		}
	}
	if len(wantAttrs) > 0 {
		t.Errorf("attributes missing from User.Resource: %v", wantAttrs)
	}

	// Without a base URL there is no location; id, meta, externalId are
	// common attributes, not part of the schema.
	b, err := json.Marshal(Group)
	if err != nil {
		t.Fatal(err)
	}
	var group struct {
		Meta       map[string]any   `json:"meta"`
		Attributes []map[string]any `json:"attributes"`
	}
	if err := json.Unmarshal(b, &group); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"resourceType": "Schema"}, group.Meta); diff != "" {
		t.Errorf("Group meta mismatch (-want +got):\n%s", diff)
	}
	var names []any
	for _, a := range group.Attributes {
		names = append(names, a["name"])
	}
	if diff := cmp.Diff([]any{"displayName", "members"}, names); diff != "" {
		t.Errorf("Group attributes mismatch (-want +got):\n%s", diff)
	}
}

func TestResourceTypeResource(t *testing.T) {
	tests := []struct {
		rt   ResourceType
		want string
	}{
		{UserResourceType, `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
			"id": "User",
			"name": "User",
			"endpoint": "/Users",
			"description": "User Account",
			"schema": "urn:ietf:params:scim:schemas:core:2.0:User",
			"schemaExtensions": [{"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": false}],
			"meta": {"location": "https://example.com/scim/v2/ResourceTypes/User", "resourceType": "ResourceType"}
		}`},
		{GroupResourceType, `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
			"id": "Group",
			"name": "Group",
			"endpoint": "/Groups",
			"description": "Group",
			"schema": "urn:ietf:params:scim:schemas:core:2.0:Group",
			"meta": {"location": "https://example.com/scim/v2/ResourceTypes/Group", "resourceType": "ResourceType"}
		}`},
	}
	for _, tt := range tests {
		var got, want any
		if err := json.Unmarshal(tt.rt.Resource("https://example.com/scim/v2"), &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s.Resource mismatch (-want +got):\n%s", tt.rt.ID, diff)
		}
	}
}

func TestByID(t *testing.T) {
	if s, ok := SchemaByID("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:GROUP"); !ok || s.ID != GroupURN {
		t.Errorf("SchemaByID(upper-case Group URN) = %q, %t, want %q, true", s.ID, ok, GroupURN)
	}
	if _, ok := SchemaByID("urn:example:nope"); ok {
		t.Errorf("SchemaByID(unknown) = _, true, want false")
	}
	if rt, ok := ResourceTypeByID("user"); !ok || rt.Endpoint != "/Users" {
		t.Errorf("ResourceTypeByID(user) = %+v, %t", rt, ok)
	}
	var ids []string
	for _, s := range Schemas() {
		ids = append(ids, s.ID)
	}
	if diff := cmp.Diff([]string{UserURN, EnterpriseUserURN, GroupURN}, ids); diff != "" {
		t.Errorf("Schemas() mismatch (-want +got):\n%s", diff)
	}
}
