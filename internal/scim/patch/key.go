package patch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scim/schema"
)

// Multi-valued attributes are merged and filtered through maps keyed by an
// encoding of their values, never by comparing every value with every
// other: PATCH is applied while the resource's row is locked, and a
// pairwise merge of n values costs n² comparisons (16,000 emails once took
// minutes).

// appendKey appends to b an encoding of the JSON value v such that two
// values have the same encoding exactly when reflect.DeepEqual(x, y)
// (except for NaN, which JSON cannot carry). The encoding is prefix-free,
// so that keys can be concatenated.
func appendKey(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, 'z')
	case bool:
		if v {
			return append(b, 't')
		}
		return append(b, 'f')
	case string:
		return appendString(append(b, 's'), v)
	case json.Number:
		return appendString(append(b, 'n'), string(v))
	case float64:
		if v == 0 {
			v = 0 // -0 == 0, as DeepEqual compares floats
		}
		return appendString(append(b, 'd'), strconv.FormatFloat(v, 'g', -1, 64))
	case map[string]any:
		if v == nil {
			return append(b, 'M') // DeepEqual tells a nil map from an empty one
		}
		b = strconv.AppendInt(append(b, 'm'), int64(len(v)), 10)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendKey(appendString(b, k), v[k])
		}
		return b
	case []any:
		if v == nil {
			return append(b, 'A')
		}
		b = strconv.AppendInt(append(b, 'a'), int64(len(v)), 10)
		for _, e := range v {
			b = appendKey(b, e)
		}
		return b
	}
	// Not produced by encoding/json; compared by type and Go syntax.
	return appendString(append(b, '?'), fmt.Sprintf("%T %#v", v, v))
}

// appendString appends s, prefixed by its length.
func appendString(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	return append(append(b, ':'), s...)
}

// appendEqualKey appends an encoding of v, a value of the simple attribute
// a, that is the same for two values exactly when they are equal as a
// compares them: strings without case unless a is caseExact (RFC 7643
// §2.2), anything else as reflect.DeepEqual.
func appendEqualKey(b []byte, a *schema.Attribute, v any) []byte {
	if s, ok := v.(string); ok && !a.CaseExact {
		return appendString(append(b, 'S'), filter.Fold(s))
	}
	return appendKey(b, v)
}

// valueSet holds values of the multi-valued attribute a and tells, in
// constant time, whether a value y is the same as one x of them: equal
// (reflect.DeepEqual), or, when a's "value" sub-attribute is immutable
// (Group members), x is an object with a "value" equal to y's "value" (as
// appendEqualKey compares).
type valueSet struct {
	id    *schema.Attribute // the immutable "value" sub-attribute, or nil
	whole map[string]bool   // appendKey of every value
	ids   map[string]bool   // appendEqualKey of the "value" of every object that has one
}

func newValueSet(a *schema.Attribute, vals []any) *valueSet {
	s := &valueSet{whole: make(map[string]bool, len(vals))}
	if sub := a.SubAttribute("value"); sub != nil && sub.Mutability == schema.MutabilityImmutable {
		s.id, s.ids = sub, make(map[string]bool, len(vals))
	}
	for _, x := range vals {
		s.add(x)
	}
	return s
}

func (s *valueSet) add(x any) {
	s.whole[string(appendKey(nil, x))] = true
	if s.id == nil {
		return
	}
	if m, ok := x.(map[string]any); ok {
		if v, ok := m["value"]; ok {
			s.ids[string(appendEqualKey(nil, s.id, v))] = true
		}
	}
}

func (s *valueSet) has(y any) bool {
	if s.whole[string(appendKey(nil, y))] {
		return true
	}
	if s.id == nil {
		return false
	}
	m, _ := y.(map[string]any)
	return s.ids[string(appendEqualKey(nil, s.id, m["value"]))]
}

// listedSet holds the values listed by a remove operation on the
// multi-valued attribute a and tells whether a value x of a is listed, in
// time independent of the length of the list: when x equals a listed
// non-object, or x is an object that has every sub-attribute value of a
// listed object (other sub-attributes of x may differ; values compared as
// appendEqualKey compares). Listed objects are grouped by the names of
// their members (their shape: in practice always {"value": id}), and
// each group is keyed by those sub-attributes' values.
type listedSet struct {
	a      *schema.Attribute
	plain  map[string]bool // appendEqualKey(a, l) of listed non-objects
	shapes []shape
}

type shape struct {
	keys []string            // the listed object's member names, sorted
	subs []*schema.Attribute // subs[i] is the sub-attribute keys[i] names
	objs map[string]bool     // the projection of each listed object of this shape
}

func newListedSet(a *schema.Attribute, listed []any) *listedSet {
	s := &listedSet{a: a, plain: map[string]bool{}}
	byKeys := map[string]int{} // shape keys -> index in s.shapes
	for _, l := range listed {
		w, ok := l.(map[string]any)
		if !ok {
			s.plain[string(appendEqualKey(nil, a, l))] = true
			continue
		}
		sh := shape{keys: schema.SortedKeys(w)}
		for _, k := range sh.keys {
			sub := a.SubAttribute(k)
			if sub == nil {
				sh.subs = nil // names no sub-attribute: matches nothing
				break
			}
			sh.subs = append(sh.subs, sub)
		}
		if len(sh.subs) != len(sh.keys) {
			continue
		}
		var id []byte
		for _, k := range sh.keys {
			id = appendString(id, k)
		}
		i, ok := byKeys[string(id)]
		if !ok {
			i, byKeys[string(id)] = len(s.shapes), len(s.shapes)
			sh.objs = map[string]bool{}
			s.shapes = append(s.shapes, sh)
		}
		s.shapes[i].objs[string(s.shapes[i].project(w))] = true
	}
	return s
}

// project encodes the sub-attributes of m that sh names.
func (sh shape) project(m map[string]any) []byte {
	var b []byte
	for i, k := range sh.keys {
		b = appendEqualKey(b, sh.subs[i], m[k])
	}
	return b
}

func (s *listedSet) has(x any) bool {
	if len(s.plain) > 0 && s.plain[string(appendEqualKey(nil, s.a, x))] {
		return true
	}
	m, ok := x.(map[string]any)
	if !ok {
		return false
	}
	for _, sh := range s.shapes {
		if sh.objs[string(sh.project(m))] {
			return true
		}
	}
	return false
}
