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
