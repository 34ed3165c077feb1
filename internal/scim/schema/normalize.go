package schema

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// Normalize returns a canonical copy of doc, a resource of type rt as a
// client sent it (POST, PUT). doc is not modified.
//
//   - Attribute names, sub-attribute names and extension URNs take the
//     schema's spelling; the client's may differ in case (RFC 7643 §2.1). A
//     top-level key written as a full path
//     ("urn:ietf:params:scim:schemas:core:2.0:User:userName",
//     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
//     is moved to where the attribute lives.
//   - Values are coerced as NormalizeValue does: "True"/"false" strings
//     become booleans, a string for a complex attribute with a "value"
//     sub-attribute becomes {"value": s}, a single object for a multi-valued
//     attribute becomes a one-element array.
//   - null, empty arrays and empty objects mean unassigned and are removed
//     (RFC 7644 §3.5.1).
//   - Unknown attributes and unknown schema extensions are dropped, as are
//     readOnly attributes (id, meta, groups, manager.displayName: the server
//     sets them) and writeOnly ones (password: scimflow never stores it).
//   - "schemas" is kept as given.
//
// A value of the wrong type is an invalidValue error naming the attribute,
// as are an attribute given twice under different spellings and a
// multi-valued attribute with more values than its Attribute.ValueLimit.
func Normalize(doc map[string]any, rt ResourceType) (map[string]any, error) {
	return normalize(doc, rt, true)
}

// NormalizePatched is Normalize for the result of a PATCH on a stored
// resource: the patch already held every attribute it changed to the value
// limits, and attributes it did not touch are as they were stored. A user
// stored with more values than today's limit can still be patched (for
// example deactivated) without first losing values.
func NormalizePatched(doc map[string]any, rt ResourceType) (map[string]any, error) {
	return normalize(doc, rt, false)
}

func normalize(doc map[string]any, rt ResourceType, limits bool) (map[string]any, error) {
	if core, _ := rt.schemas(); core == nil {
		return nil, scimflow.Errorf(scimflow.EINTERNAL, "resource type %q has no known schema", rt.ID)
	}
	n := normalizer{rt: rt, out: make(map[string]any, len(doc)), seen: make(map[string]bool), limits: limits}
	for _, k := range SortedKeys(doc) {
		if err := n.key(k, doc[k]); err != nil {
			return nil, err
		}
	}
	for _, e := range rt.Extensions {
		if m, ok := n.out[e.Schema].(map[string]any); ok && len(m) == 0 {
			delete(n.out, e.Schema)
		}
	}
	return n.out, nil
}

type normalizer struct {
	limits bool // refuse multi-valued attributes over their ValueLimit
	rt     ResourceType
	out    map[string]any
	seen   map[string]bool // canonical paths already assigned
}

// key normalizes the top-level member k: v of a client document.
func (n *normalizer) key(k string, v any) error {
	if strings.EqualFold(k, "schemas") {
		n.out["schemas"] = Clone(v)
		return nil
	}
	p := splitKey(n.rt, k)
	if p.Name == "" {
		return n.extension(p.URI, v)
	}
	r, ok := Lookup(n.rt, p)
	if !ok || dropped(r.Attr) || (r.Sub != nil && (dropped(r.Sub) || r.Attr.MultiValued)) {
		return nil // unknown or server-managed: ignored, see Normalize
	}
	return n.assign(r, v)
}

// extension normalizes the object v of the extension urn of n.rt (RFC 7643
// §3.3). Unknown extensions are dropped.
func (n *normalizer) extension(urn string, v any) error {
	urn, ok := n.rt.Extension(urn)
	if !ok || v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "%q must be an object, not %s", urn, Kind(v))
	}
	for _, k := range SortedKeys(m) {
		r, ok := Lookup(n.rt, filter.AttrPath{URI: urn, Name: k})
		if !ok || dropped(r.Attr) {
			continue
		}
		if err := n.assign(r, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// assign stores the normalized v at r in n.out.
func (n *normalizer) assign(r Resolved, v any) error {
	name := r.String()
	if n.seen[strings.ToLower(name)] {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "attribute %q is given more than once", name)
	}
	n.seen[strings.ToLower(name)] = true
	nv, err := normalizeValue(*r.Target(), name, v, n.limits)
	if err != nil || nv == nil {
		return err
	}
	c := n.out
	if r.Extension {
		c = ChildMap(n.out, r.Schema)
	}
	switch {
	case r.Sub != nil:
		ChildMap(c, r.Attr.Name)[r.Sub.Name] = nv
	case r.Attr.Type == TypeComplex && !r.Attr.MultiValued:
		// "name" and "urn:...:User:name.familyName" may both be given.
		parent := ChildMap(c, r.Attr.Name)
		for k, sv := range nv.(map[string]any) {
			parent[k] = sv
		}
	default:
		c[r.Attr.Name] = nv
	}
	return nil
}

// NormalizeValue returns the canonical form of v as a value of a, coerced
// the way real identity providers need:
//
//   - booleans given as strings, in any case ("True", "false"; Microsoft
//     Entra ID sends them) become booleans;
//   - a string given for a singular complex attribute with a "value"
//     sub-attribute becomes {"value": s} (Entra sends the enterprise
//     "manager" as a plain id);
//   - a single object (or, for simple attributes, a single value) given for
//     a multi-valued attribute becomes a one-element array;
//   - numbers become json.Number.
//
// Sub-attributes are canonicalized like attributes in Normalize: names
// take the schema's spelling, unknown, readOnly and writeOnly ones are
// dropped. The result is nil when v is null, an empty array or an empty
// object: the attribute is unassigned (RFC 7644 §3.5.1). A number where a
// string is expected, an object where a string is expected, a string where
// an array of objects is expected, more than one primary value (RFC 7643
// §2.4), more values than the attribute's ValueLimit and other mismatches
// are invalidValue errors; name is the attribute path they mention.
// Duplicate values of a multi-valued attribute are merged into one (see
// dedupe), before the primary values are counted.
func NormalizeValue(a Attribute, name string, v any) (any, error) {
	return normalizeValue(a, name, v, true)
}

func normalizeValue(a Attribute, name string, v any, limits bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	if !a.MultiValued {
		return normalizeSingle(a, name, v, true)
	}
	var in []any
	switch v := v.(type) {
	case []any:
		in = v
	case map[string]any:
		in = []any{v}
	default:
		if a.Type == TypeComplex {
			return nil, typeError(name, "an array of objects", v)
		}
		in = []any{v}
	}
	// Counted before any value is looked at: a request over the limit
	// costs no more than one within it.
	if err := CheckValueCount(&a, name, len(in)); limits && err != nil {
		return nil, err
	}
	out := make([]any, 0, len(in))
	primaries := 0
	for _, e := range in {
		ne, err := normalizeSingle(a, name, e, false)
		if err != nil {
			return nil, err
		}
		if ne == nil {
			continue
		}
		out = append(out, ne)
	}
	// Duplicates merge first: the same value sent twice as primary is one
	// primary value.
	out = dedupe(&a, out)
	for _, e := range out {
		if m, ok := e.(map[string]any); ok && m["primary"] == true {
			primaries++
		}
	}
	if primaries > 1 {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "attribute %q has more than one primary value", name)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// normalizeSingle normalizes one value of a (an element, when a is
// multi-valued). singular allows the string-to-{"value": s} coercion.
func normalizeSingle(a Attribute, name string, v any, singular bool) (any, error) {
	switch a.Type {
	case TypeComplex:
		return normalizeComplex(a, name, v, singular)
	case TypeBoolean:
		switch b := v.(type) {
		case nil, bool:
			return b, nil
		case string:
			// RFC 7643 §2.3.2 booleans are JSON literals; Entra sends
			// "True" and "False" strings.
			if strings.EqualFold(b, "true") {
				return true, nil
			}
			if strings.EqualFold(b, "false") {
				return false, nil
			}
		}
		return nil, typeError(name, "true or false", v)
	case TypeInteger, TypeDecimal:
		return normalizeNumber(a, name, v)
	}
	s, ok := v.(string)
	if !ok {
		if v == nil {
			return nil, nil
		}
		if _, isArray := v.([]any); isArray && !a.MultiValued {
			return nil, typeError(name, "a single string", v)
		}
		return nil, typeError(name, "a string", v)
	}
	switch a.Type {
	case TypeDateTime:
		// xsd:dateTime with a time zone (RFC 7643 §2.3.5).
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "attribute %q must be a date-time such as \"2008-01-23T04:56:22Z\"", name)
		}
	case TypeBinary:
		// base64 (RFC 7643 §2.3.6); tolerate missing padding.
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			if _, err := base64.RawStdEncoding.DecodeString(s); err != nil {
				return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "attribute %q must be base64-encoded", name)
			}
		}
	}
	return s, nil
}

func normalizeComplex(a Attribute, name string, v any, singular bool) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		s, isString := v.(string)
		switch {
		case v == nil:
			return nil, nil
		case isString && singular && a.SubAttribute("value") != nil:
			m = map[string]any{"value": s}
		case a.MultiValued:
			return nil, typeError(name, "an array of objects", v)
		default:
			return nil, typeError(name, "an object", v)
		}
	}
	out := make(map[string]any, len(m))
	for _, k := range SortedKeys(m) {
		sub := a.SubAttribute(k)
		if sub == nil || dropped(sub) {
			continue
		}
		subName := name + "." + sub.Name
		if _, dup := out[sub.Name]; dup {
			return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "attribute %q is given more than once", subName)
		}
		nv, err := NormalizeValue(*sub, subName, m[k])
		if err != nil {
			return nil, err
		}
		if nv != nil {
			out[sub.Name] = nv
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func normalizeNumber(a Attribute, name string, v any) (any, error) {
	want := "a number"
	if a.Type == TypeInteger {
		want = "an integer"
	}
	var s string
	switch n := v.(type) {
	case nil:
		return nil, nil
	case json.Number:
		s = n.String()
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, typeError(name, want, v)
		}
		s = strconv.FormatFloat(n, 'g', -1, 64)
		if a.Type == TypeInteger && n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			s = strconv.FormatInt(int64(n), 10)
		}
	case int:
		s = strconv.Itoa(n)
	case int64:
		s = strconv.FormatInt(n, 10)
	default:
		return nil, typeError(name, want, v)
	}
	var err error
	if a.Type == TypeInteger {
		_, err = strconv.ParseInt(s, 10, 64)
	} else {
		_, err = strconv.ParseFloat(s, 64)
	}
	if err != nil {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "attribute %q must be %s", name, want)
	}
	return json.Number(s), nil
}

func typeError(name, want string, got any) error {
	return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "attribute %q must be %s, not %s", name, want, Kind(got))
}

// Kind describes the JSON type of v for error messages ("a string").
func Kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64, int, int64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "an unsupported value"
}

// dropped reports whether clients' values for a are ignored: the server
// sets readOnly attributes and never stores writeOnly ones (RFC 7643 §7).
func dropped(a *Attribute) bool {
	return a.Mutability == MutabilityReadOnly || a.Mutability == MutabilityWriteOnly
}

// childMap returns m[k] as a map, creating it (or replacing a non-object)
// when needed.
// ChildMap returns the object m[k], creating it when absent.
func ChildMap(m map[string]any, k string) map[string]any {
	c, ok := m[k].(map[string]any)
	if !ok {
		c = make(map[string]any)
		m[k] = c
	}
	return c
}

// SortedKeys returns the keys of m in order, so that processing a JSON
// object is deterministic.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Clone returns a deep copy of the JSON value v.
func Clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = Clone(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = Clone(e)
		}
		return c
	}
	return v
}
