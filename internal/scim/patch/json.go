package patch

import (
	"encoding/json"
	"slices"
)

// setOrDelete sets m[k] to v, or deletes k when v is nil (unassigned).
func setOrDelete(m map[string]any, k string, v any) {
	if v == nil {
		delete(m, k)
		return
	}
	m[k] = v
}

// childMap returns m[k] as a map, creating it (or replacing a non-object).
func childMap(m map[string]any, k string) map[string]any {
	c, ok := m[k].(map[string]any)
	if !ok {
		c = make(map[string]any)
		m[k] = c
	}
	return c
}

// childMapIf is childMap when create is set; otherwise it returns m[k] as a
// map or nil.
func childMapIf(m map[string]any, k string, create bool) map[string]any {
	if create {
		return childMap(m, k)
	}
	c, _ := m[k].(map[string]any)
	return c
}

// asArray returns v, the stored value of a multi-valued attribute, as a
// fresh slice.
func asArray(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return slices.Clone(v)
	}
	return []any{v}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// clone returns a deep copy of the JSON value v.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = clone(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = clone(e)
		}
		return c
	}
	return v
}

// kind describes the JSON type of v for error messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	}
	return "an object"
}
