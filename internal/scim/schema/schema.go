// Package schema defines the SCIM resource schemas and resource types that
// scimflow serves (RFC 7643 §4, §6, §7) and normalizes client-supplied
// resource documents against them.
//
// Resources are handled as JSON documents (map[string]any decoded with
// json.Decoder.UseNumber). Core and common attributes live at the top level
// of a document; attributes of a schema extension live under the extension's
// URN, as on the wire (RFC 7643 §3.3).
package schema

import (
	"encoding/json"
	"strings"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// Schema URNs (RFC 7643 §8.7, RFC 7644 §3.1 and §4).
const (
	UserURN           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaURN         = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	ResourceTypeURN   = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
)

// Attribute data types (RFC 7643 §2.3).
const (
	TypeString    = "string"
	TypeBoolean   = "boolean"
	TypeDecimal   = "decimal"
	TypeInteger   = "integer"
	TypeDateTime  = "dateTime"
	TypeReference = "reference"
	TypeComplex   = "complex"
	TypeBinary    = "binary"
)

// Values of the "mutability" characteristic (RFC 7643 §7).
const (
	MutabilityReadOnly  = "readOnly"
	MutabilityReadWrite = "readWrite"
	MutabilityImmutable = "immutable"
	MutabilityWriteOnly = "writeOnly"
)

// Values of the "returned" characteristic (RFC 7643 §7).
const (
	ReturnedAlways  = "always"
	ReturnedNever   = "never"
	ReturnedDefault = "default"
	ReturnedRequest = "request"
)

// Values of the "uniqueness" characteristic (RFC 7643 §7).
const (
	UniquenessNone   = "none"
	UniquenessServer = "server"
	UniquenessGlobal = "global"
)

// Attribute is an attribute definition with its characteristics
// (RFC 7643 §2.2 and §7).
//
// An empty Mutability, Returned or Uniqueness means the RFC default:
// readWrite, default and none.
type Attribute struct {
	Name            string
	Type            string // one of the Type* constants
	MultiValued     bool
	Description     string
	Required        bool
	CaseExact       bool
	Mutability      string // one of the Mutability* constants
	Returned        string // one of the Returned* constants
	Uniqueness      string // one of the Uniqueness* constants
	CanonicalValues []string
	ReferenceTypes  []string    // for TypeReference: "User", "Group", "external", "uri"
	SubAttributes   []Attribute // for TypeComplex
	// MaxValues, for a multi-valued attribute, is the most values one
	// request (or one PATCH operation) may give it; 0 means
	// MaxValuesPerAttribute. It is scimflow's, not a characteristic of
	// RFC 7643 §7, and is not rendered by GET /Schemas.
	MaxValues int
}

// Limits on the values of multi-valued attributes. RFC 7643 sets none, but
// every value costs work while a resource is locked, and real directories
// send a handful: Entra ID and Okta never send more than about ten emails,
// phone numbers or roles. Group members are bounded per request, not per
// group: a group grows by many PATCH operations, and Entra ID sends at most
// a few hundred members in one.
const (
	MaxValuesPerAttribute  = 100
	MaxMembersPerOperation = 10000
)

// ValueLimit returns the most values a request may give the multi-valued
// attribute a (see MaxValues).
func (a *Attribute) ValueLimit() int {
	if a.MaxValues > 0 {
		return a.MaxValues
	}
	return MaxValuesPerAttribute
}

// CheckValueCount returns an invalidValue error naming the attribute name
// when n values exceed the limit of the multi-valued attribute a.
func CheckValueCount(a *Attribute, name string, n int) error {
	if limit := a.ValueLimit(); n > limit {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "attribute %q has %d values; at most %d are allowed", name, n, limit)
	}
	return nil
}

// SubAttribute returns the sub-attribute of a named name, compared
// case-insensitively (RFC 7643 §2.1), or nil.
func (a *Attribute) SubAttribute(name string) *Attribute {
	return find(a.SubAttributes, name)
}

// find returns the attribute of attrs named name, ignoring case.
func find(attrs []Attribute, name string) *Attribute {
	for i := range attrs {
		if strings.EqualFold(attrs[i].Name, name) {
			return &attrs[i]
		}
	}
	return nil
}

type attributeJSON struct {
	Name            string      `json:"name"`
	Type            string      `json:"type"`
	SubAttributes   []Attribute `json:"subAttributes,omitempty"`
	MultiValued     bool        `json:"multiValued"`
	Description     string      `json:"description"`
	Required        bool        `json:"required"`
	CanonicalValues []string    `json:"canonicalValues,omitempty"`
	CaseExact       bool        `json:"caseExact"`
	Mutability      string      `json:"mutability"`
	Returned        string      `json:"returned"`
	Uniqueness      string      `json:"uniqueness"`
	ReferenceTypes  []string    `json:"referenceTypes,omitempty"`
}

// MarshalJSON renders a as an element of "attributes" or "subAttributes" of
// a Schema resource (RFC 7643 §7), with every characteristic spelled out.
func (a Attribute) MarshalJSON() ([]byte, error) {
	a = withDefaults(a)
	return json.Marshal(attributeJSON{
		Name:            a.Name,
		Type:            a.Type,
		SubAttributes:   a.SubAttributes,
		MultiValued:     a.MultiValued,
		Description:     a.Description,
		Required:        a.Required,
		CanonicalValues: a.CanonicalValues,
		CaseExact:       a.CaseExact,
		Mutability:      a.Mutability,
		Returned:        a.Returned,
		Uniqueness:      a.Uniqueness,
		ReferenceTypes:  a.ReferenceTypes,
	})
}

// withDefaults returns a with the RFC 7643 §7 defaults filled in, for a and
// its sub-attributes.
func withDefaults(a Attribute) Attribute {
	if a.Mutability == "" {
		a.Mutability = MutabilityReadWrite
	}
	if a.Returned == "" {
		a.Returned = ReturnedDefault
	}
	if a.Uniqueness == "" {
		a.Uniqueness = UniquenessNone
	}
	if len(a.SubAttributes) > 0 {
		subs := make([]Attribute, len(a.SubAttributes))
		for i, s := range a.SubAttributes {
			subs[i] = withDefaults(s)
		}
		a.SubAttributes = subs
	}
	return a
}

// Schema is a resource schema or schema extension (RFC 7643 §7).
type Schema struct {
	ID          string // the schema URN
	Name        string
	Description string
	Attributes  []Attribute
}

// Attribute returns the attribute of s named name, compared
// case-insensitively (RFC 7643 §2.1), or nil.
func (s *Schema) Attribute(name string) *Attribute {
	return find(s.Attributes, name)
}

// meta is the "meta" attribute of a discovery resource (RFC 7643 §3.1).
type meta struct {
	ResourceType string `json:"resourceType"`
	Location     string `json:"location,omitempty"`
}

type schemaJSON struct {
	Schemas     []string    `json:"schemas"`
	ID          string      `json:"id"`
	Name        string      `json:"name,omitempty"`
	Description string      `json:"description,omitempty"`
	Attributes  []Attribute `json:"attributes"`
	Meta        meta        `json:"meta"`
}

// MarshalJSON renders s as a Schema resource (RFC 7643 §7) without
// meta.location; use Resource to include it.
func (s Schema) MarshalJSON() ([]byte, error) {
	return s.marshal("")
}

// Resource returns s as the Schema resource served at
// baseURL + "/Schemas/" + s.ID (RFC 7643 §7, RFC 7644 §4), for example as an
// element of the ListResponse of GET /Schemas. baseURL is the SCIM base URL
// such as "https://example.com/scim/v2"; an empty baseURL omits meta.location.
func (s Schema) Resource(baseURL string) json.RawMessage {
	loc := ""
	if baseURL != "" {
		loc = strings.TrimSuffix(baseURL, "/") + "/Schemas/" + s.ID
	}
	b, err := s.marshal(loc)
	if err != nil {
		// Only strings, bools and slices of them: marshalling cannot fail.
		panic("schema: marshal " + s.ID + ": " + err.Error())
	}
	return b
}

func (s Schema) marshal(location string) ([]byte, error) {
	attrs := s.Attributes
	if attrs == nil {
		attrs = []Attribute{}
	}
	return json.Marshal(schemaJSON{
		Schemas:     []string{SchemaURN},
		ID:          s.ID,
		Name:        s.Name,
		Description: s.Description,
		Attributes:  attrs,
		Meta:        meta{ResourceType: "Schema", Location: location},
	})
}

// Schemas returns the schemas scimflow serves, in the order GET /Schemas
// lists them. The definitions are shared: callers must not modify them.
func Schemas() []Schema {
	return []Schema{User, EnterpriseUser, Group}
}

// SchemaByID returns the schema whose URN is id, compared case-insensitively.
func SchemaByID(id string) (Schema, bool) {
	s := schemaByID(id)
	if s == nil {
		return Schema{}, false
	}
	return *s, true
}

func schemaByID(id string) *Schema {
	for _, s := range []*Schema{&User, &EnterpriseUser, &Group} {
		if strings.EqualFold(s.ID, id) {
			return s
		}
	}
	return nil
}
