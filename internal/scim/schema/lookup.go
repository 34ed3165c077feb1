package schema

import (
	"strings"

	"github.com/scimflow/scimflow/internal/scim/filter"
)

// Resolved is an attribute path resolved against a resource type: the
// definitions it names, spelled as the schema spells them. Attr and Sub
// point into the shared definitions and must not be modified.
type Resolved struct {
	// Schema is the URN of the schema that defines Attr: the core schema,
	// an extension, or "" for the common attributes id, externalId and
	// meta (RFC 7643 §3.1).
	Schema string
	// Extension reports whether Attr lives under doc[Schema] rather than
	// at the top level of a resource document (RFC 7643 §3.3).
	Extension bool
	Attr      *Attribute
	Sub       *Attribute // nil when the path has no sub-attribute
}

// Target returns the attribute the path designates: Sub if set, else Attr.
func (r Resolved) Target() *Attribute {
	if r.Sub != nil {
		return r.Sub
	}
	return r.Attr
}

// Path returns the canonical spelling of the resolved path. URI is set for
// extension attributes only.
func (r Resolved) Path() filter.AttrPath {
	p := filter.AttrPath{Name: r.Attr.Name}
	if r.Extension {
		p.URI = r.Schema
	}
	if r.Sub != nil {
		p.SubAttr = r.Sub.Name
	}
	return p
}

// String returns the canonical path as a client would write it:
// "name.givenName", or
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
func (r Resolved) String() string {
	return r.Path().String()
}

// Lookup resolves p against rt. Schema URNs, attribute and sub-attribute
// names are matched case-insensitively (RFC 7643 §2.1). A path without URI
// names a core or common attribute (RFC 7644 §3.10); attributes of an
// extension need the extension's URN. ok is false when p names no
// attribute of rt.
func Lookup(rt ResourceType, p filter.AttrPath) (r Resolved, ok bool) {
	core, exts := rt.schemas()
	var s *Schema
	switch {
	case p.URI == "" || strings.EqualFold(p.URI, rt.Schema):
		s = core
	default:
		for _, e := range exts {
			if strings.EqualFold(e.ID, p.URI) {
				s = e
				r.Extension = true
			}
		}
	}
	if s == nil {
		return Resolved{}, false
	}
	r.Schema = s.ID
	r.Attr = s.Attribute(p.Name)
	if r.Attr == nil && !r.Extension {
		r.Schema = ""
		r.Attr = find(CommonAttributes, p.Name)
	}
	if r.Attr == nil {
		return Resolved{}, false
	}
	if p.SubAttr == "" {
		return r, true
	}
	r.Sub = r.Attr.SubAttribute(p.SubAttr)
	if r.Sub == nil {
		return Resolved{}, false
	}
	return r, true
}

// splitKey splits a document key or attribute path written without a
// filter — "userName", "name.givenName",
// "urn:ietf:params:scim:schemas:core:2.0:User:userName",
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
// — into an AttrPath. Schema URNs contain ':' and '.', so the URNs of rt are
// tried first; an unknown URN ends at the last ':' (RFC 7644 §3.10). A key
// that is exactly a schema URN of rt yields an AttrPath with only URI set.
func splitKey(rt ResourceType, key string) filter.AttrPath {
	var p filter.AttrPath
	rest := key
	urns := []string{rt.Schema}
	for _, e := range rt.Extensions {
		urns = append(urns, e.Schema)
	}
	for _, urn := range urns {
		if strings.EqualFold(key, urn) {
			return filter.AttrPath{URI: urn}
		}
		if len(key) > len(urn) && key[len(urn)] == ':' && strings.EqualFold(key[:len(urn)], urn) {
			p.URI, rest = urn, key[len(urn)+1:]
			break
		}
	}
	if p.URI == "" && hasPrefixFold(key, "urn:") {
		i := strings.LastIndexByte(key, ':')
		p.URI, rest = key[:i], key[i+1:]
	}
	p.Name, p.SubAttr, _ = strings.Cut(rest, ".")
	return p
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
