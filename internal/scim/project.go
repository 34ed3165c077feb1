package scim

import (
	"strings"

	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// Projection selects the attributes of a response (RFC 7644 §3.4.2.5,
// §3.9): attributes replaces the default set, excludedAttributes removes
// from it. id and schemas are always returned.
type Projection struct {
	include []filter.AttrPath
	exclude []filter.AttrPath
}

// ParseProjection parses the comma-separated attributes and
// excludedAttributes parameters. Names are case-insensitive and may be
// qualified by a schema URN or carry a sub-attribute ("name.givenName").
func ParseProjection(attributes, excluded string) (Projection, error) {
	var p Projection
	var err error
	if p.include, err = parseNames(attributes, "attributes"); err != nil {
		return p, err
	}
	p.exclude, err = parseNames(excluded, "excludedAttributes")
	return p, err
}

func parseNames(list, param string) ([]filter.AttrPath, error) {
	var out []filter.AttrPath
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		p, err := filter.ParsePath(name)
		if err != nil || p.Filter != nil {
			return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "%s: %q is not an attribute name", param, name)
		}
		out = append(out, p.Attr)
	}
	return out, nil
}

// IsZero reports whether p returns the default attribute set.
func (p Projection) IsZero() bool { return len(p.include) == 0 && len(p.exclude) == 0 }

// Excludes reports whether the top-level attribute name is excluded, so that
// a handler can avoid loading it (Entra reads groups with
// excludedAttributes=members).
func (p Projection) Excludes(name string) bool {
	if len(p.include) > 0 {
		for _, a := range p.include {
			if strings.EqualFold(a.Name, name) && (a.URI == "" || isCoreURN(a.URI)) {
				return false
			}
		}
		return true
	}
	for _, a := range p.exclude {
		if strings.EqualFold(a.Name, name) && a.SubAttr == "" && (a.URI == "" || isCoreURN(a.URI)) {
			return true
		}
	}
	return false
}

func isCoreURN(uri string) bool {
	return strings.EqualFold(uri, UserURN) || strings.EqualFold(uri, GroupURN)
}

// Requests reports whether attributes= names the top-level attribute name
// explicitly: attributes whose "returned" is "request" (User.groups) are
// only returned then.
func (p Projection) Requests(name string) bool {
	for _, a := range p.include {
		if strings.EqualFold(a.Name, name) && (a.URI == "" || isCoreURN(a.URI)) {
			return true
		}
	}
	return false
}

// Apply returns doc reduced to the projection. doc is not modified.
func (p Projection) Apply(doc map[string]any) map[string]any {
	if p.IsZero() {
		return doc
	}
	out := map[string]any{}
	if len(p.include) > 0 {
		for _, a := range p.include {
			copyAttr(out, doc, a)
		}
	} else {
		for k, v := range doc {
			out[k] = v
		}
		for _, a := range p.exclude {
			removeAttr(out, a)
		}
	}
	for _, k := range []string{"id", "schemas"} {
		if v, ok := doc[k]; ok {
			out[k] = v
		}
	}
	return out
}

// container returns the object holding a's top-level name: the resource
// itself, or the extension object for an extension URN.
func container(doc map[string]any, a filter.AttrPath) (map[string]any, string, bool) {
	if a.URI == "" || isCoreURN(a.URI) {
		return doc, "", true
	}
	for k, v := range doc {
		if strings.EqualFold(k, a.URI) {
			m, ok := v.(map[string]any)
			return m, k, ok
		}
	}
	return nil, "", false
}

func findKey(m map[string]any, name string) (string, bool) {
	for k := range m {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

func copyAttr(out, doc map[string]any, a filter.AttrPath) {
	// An unqualified extension URN in attributes= asks for the whole extension.
	if a.URI == "" && strings.HasPrefix(strings.ToLower(a.Name), "urn:") {
		if k, ok := findKey(doc, a.Name); ok {
			out[k] = doc[k]
		}
		return
	}
	src, extKey, ok := container(doc, a)
	if !ok {
		return
	}
	dst := out
	if extKey != "" {
		m, _ := out[extKey].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[extKey] = m
		}
		dst = m
	}
	k, ok := findKey(src, a.Name)
	if !ok {
		return
	}
	if a.SubAttr == "" {
		dst[k] = src[k]
		return
	}
	switch v := src[k].(type) {
	case map[string]any:
		sub, ok := findKey(v, a.SubAttr)
		if !ok {
			return
		}
		m, _ := dst[k].(map[string]any)
		if m == nil {
			m = map[string]any{}
			dst[k] = m
		}
		m[sub] = v[sub]
	case []any: // emails.value: keep that sub-attribute of each element
		prev, _ := dst[k].([]any)
		els := make([]any, len(v))
		for i, el := range v {
			em, _ := el.(map[string]any)
			m := map[string]any{}
			if i < len(prev) {
				if pm, ok := prev[i].(map[string]any); ok {
					m = pm
				}
			}
			if sub, ok := findKey(em, a.SubAttr); ok {
				m[sub] = em[sub]
			}
			els[i] = m
		}
		dst[k] = els
	}
}

func removeAttr(out map[string]any, a filter.AttrPath) {
	if a.URI == "" && strings.HasPrefix(strings.ToLower(a.Name), "urn:") {
		if k, ok := findKey(out, a.Name); ok {
			delete(out, k)
		}
		return
	}
	dst, extKey, ok := container(out, a)
	if !ok {
		return
	}
	if extKey != "" { // copy before changing: out shares the doc's maps
		m := make(map[string]any, len(dst))
		for k, v := range dst {
			m[k] = v
		}
		out[extKey], dst = m, m
	}
	k, ok := findKey(dst, a.Name)
	if !ok {
		return
	}
	if a.SubAttr == "" {
		delete(dst, k)
		return
	}
	switch v := dst[k].(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for kk, vv := range v {
			if !strings.EqualFold(kk, a.SubAttr) {
				m[kk] = vv
			}
		}
		dst[k] = m
	case []any:
		els := make([]any, len(v))
		for i, el := range v {
			em, _ := el.(map[string]any)
			m := map[string]any{}
			for kk, vv := range em {
				if !strings.EqualFold(kk, a.SubAttr) {
					m[kk] = vv
				}
			}
			els[i] = m
		}
		dst[k] = els
	}
}
