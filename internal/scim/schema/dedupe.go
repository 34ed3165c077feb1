package schema

import (
	"fmt"
	"strconv"

	"github.com/scimflow/scimflow/internal/scim/filter"
)

// dedupe merges the duplicates among vals, the normalized values of the
// multi-valued attribute a, so that each value is stored once (RFC 7643
// §2.4: a client SHOULD NOT send duplicates, and a server that keeps them
// returns them to every later reader).
//
// Two values are duplicates when every identifying sub-attribute is equal
// as the schema compares it: "value" and "type" for emails, phoneNumbers,
// ims, photos, entitlements, roles and x509Certificates; every address
// component and "type" for addresses; "value" alone when it is immutable
// (Group members). "display" and "primary" describe a value rather than
// identify it. Strings compare without case unless the sub-attribute is
// caseExact; binary values (base64) and references (URLs) always compare
// exactly, since their case carries meaning.
//
// The first occurrence keeps its place and its spelling of the identifying
// sub-attributes; a later duplicate's other sub-attributes overwrite the
// first's (the last word wins, as in a PATCH), except that the merged
// value is primary when any of its copies was. dedupe costs time linear in
// len(vals): values are found through a map, never compared pairwise.
func dedupe(a *Attribute, vals []any) []any {
	if len(vals) < 2 {
		return vals
	}
	ids := identifying(a)
	first := make(map[string]int, len(vals)) // key -> index in out
	out := vals[:0:0]
	for _, v := range vals {
		k := valueKey(a, ids, v)
		i, dup := first[k]
		if !dup {
			first[k] = len(out)
			out = append(out, v)
			continue
		}
		kept, ok1 := out[i].(map[string]any)
		later, ok2 := v.(map[string]any)
		if !ok1 || !ok2 {
			continue // simple values: equal ones are the same value
		}
		merged := Clone(kept).(map[string]any)
		for name, sv := range later {
			if isIdentifying(ids, name) {
				continue
			}
			if name == "primary" {
				merged[name] = kept[name] == true || sv == true
				continue
			}
			merged[name] = sv
		}
		out[i] = merged
	}
	return out
}

// identifying returns the sub-attributes of a that identify one of its
// values (see dedupe); nil for a simple multi-valued attribute, whose
// whole value identifies it.
func identifying(a *Attribute) []*Attribute {
	if a.Type != TypeComplex {
		return nil
	}
	if v := a.SubAttribute("value"); v != nil && v.Mutability == MutabilityImmutable {
		return []*Attribute{v}
	}
	var ids []*Attribute
	for i := range a.SubAttributes {
		switch s := &a.SubAttributes[i]; s.Name {
		case "display", "primary":
		default:
			ids = append(ids, s)
		}
	}
	return ids
}

func isIdentifying(ids []*Attribute, name string) bool {
	for _, s := range ids {
		if s.Name == name {
			return true
		}
	}
	return false
}

// valueKey encodes the identifying sub-attributes of v (or v itself, for
// a simple attribute) so that two values have the same key exactly when
// dedupe takes them for duplicates. Each part is length-prefixed, so that
// parts cannot run into each other.
func valueKey(a *Attribute, ids []*Attribute, v any) string {
	if ids == nil {
		return string(appendPart(nil, a, v))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return string(appendPart([]byte{'!'}, a, v))
	}
	var b []byte
	for _, s := range ids {
		sv, present := m[s.Name]
		if !present {
			b = append(b, '-')
			continue
		}
		b = appendPart(append(b, '+'), s, sv)
	}
	return string(b)
}

func appendPart(b []byte, a *Attribute, v any) []byte {
	var s string
	switch v := v.(type) {
	case string:
		s = "s" + v
		if !a.CaseExact && a.Type != TypeBinary && a.Type != TypeReference {
			s = "s" + filter.Fold(v)
		}
	default:
		s = fmt.Sprintf("%T:%v", v, v)
	}
	b = strconv.AppendInt(b, int64(len(s)), 10)
	return append(append(b, ':'), s...)
}
