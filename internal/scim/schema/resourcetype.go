package schema

import (
	"encoding/json"
	"strings"

	"github.com/scimflow/scimflow/internal/scim/filter"
)

// ResourceType describes a resource endpoint: its core schema and its
// schema extensions (RFC 7643 §6).
type ResourceType struct {
	ID          string
	Name        string
	Endpoint    string // relative to the SCIM base URL, such as "/Users"
	Description string
	Schema      string // URN of the core schema
	Extensions  []Extension
}

// Extension is a schema extension of a resource type (RFC 7643 §6,
// "schemaExtensions").
type Extension struct {
	Schema   string // URN of the extension schema
	Required bool
}

// UserResourceType is the User resource type, with the Enterprise User
// extension (RFC 7643 §8.6).
var UserResourceType = ResourceType{
	ID:          "User",
	Name:        "User",
	Endpoint:    "/Users",
	Description: "User Account",
	Schema:      UserURN,
	Extensions:  []Extension{{Schema: EnterpriseUserURN, Required: false}},
}

// GroupResourceType is the Group resource type (RFC 7643 §8.6).
var GroupResourceType = ResourceType{
	ID:          "Group",
	Name:        "Group",
	Endpoint:    "/Groups",
	Description: "Group",
	Schema:      GroupURN,
}

// ResourceTypes returns the resource types scimflow serves, in the order
// GET /ResourceTypes lists them.
func ResourceTypes() []ResourceType {
	return []ResourceType{UserResourceType, GroupResourceType}
}

// ResourceTypeByID returns the resource type with the given id ("User",
// "Group"), compared case-insensitively.
func ResourceTypeByID(id string) (ResourceType, bool) {
	for _, rt := range ResourceTypes() {
		if strings.EqualFold(rt.ID, id) {
			return rt, true
		}
	}
	return ResourceType{}, false
}

type extensionJSON struct {
	Schema   string `json:"schema"`
	Required bool   `json:"required"`
}

type resourceTypeJSON struct {
	Schemas          []string        `json:"schemas"`
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	Endpoint         string          `json:"endpoint"`
	Description      string          `json:"description,omitempty"`
	Schema           string          `json:"schema"`
	SchemaExtensions []extensionJSON `json:"schemaExtensions,omitempty"`
	Meta             meta            `json:"meta"`
}

// MarshalJSON renders rt as a ResourceType resource (RFC 7643 §6) without
// meta.location; use Resource to include it.
func (rt ResourceType) MarshalJSON() ([]byte, error) {
	return rt.marshal("")
}

// Resource returns rt as the ResourceType resource served at
// baseURL + "/ResourceTypes/" + rt.ID (RFC 7643 §6, RFC 7644 §4). baseURL
// is the SCIM base URL such as "https://example.com/scim/v2"; an empty
// baseURL omits meta.location.
func (rt ResourceType) Resource(baseURL string) json.RawMessage {
	loc := ""
	if baseURL != "" {
		loc = strings.TrimSuffix(baseURL, "/") + "/ResourceTypes/" + rt.ID
	}
	b, err := rt.marshal(loc)
	if err != nil {
		// Only strings and bools: marshalling cannot fail.
		panic("schema: marshal resource type " + rt.ID + ": " + err.Error())
	}
	return b
}

func (rt ResourceType) marshal(location string) ([]byte, error) {
	v := resourceTypeJSON{
		Schemas:     []string{ResourceTypeURN},
		ID:          rt.ID,
		Name:        rt.Name,
		Endpoint:    rt.Endpoint,
		Description: rt.Description,
		Schema:      rt.Schema,
		Meta:        meta{ResourceType: "ResourceType", Location: location},
	}
	for _, e := range rt.Extensions {
		v.SchemaExtensions = append(v.SchemaExtensions, extensionJSON(e))
	}
	return json.Marshal(v)
}

// Extension returns the canonical URN of the schema extension of rt named
// urn, compared case-insensitively, or "" and false.
func (rt ResourceType) Extension(urn string) (string, bool) {
	for _, e := range rt.Extensions {
		if strings.EqualFold(e.Schema, urn) {
			return e.Schema, true
		}
	}
	return "", false
}

// CaseExact reports whether values of the attribute at p are compared
// case-sensitively (RFC 7643 §2.2 "caseExact"). Unknown attributes are
// compared case-insensitively. Its method value fits filter.Match.
func (rt ResourceType) CaseExact(p filter.AttrPath) bool {
	r, ok := Lookup(rt, p)
	return ok && r.Target().CaseExact
}

// schemas returns the core schema of rt and its extension schemas. Unknown
// URNs are skipped.
func (rt ResourceType) schemas() (core *Schema, exts []*Schema) {
	core = schemaByID(rt.Schema)
	for _, e := range rt.Extensions {
		if s := schemaByID(e.Schema); s != nil {
			exts = append(exts, s)
		}
	}
	return core, exts
}
