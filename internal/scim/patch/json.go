package patch

import (
	"slices"

	"github.com/scimflow/scimflow/internal/scim/schema"
)

// setOrDelete sets m[k] to v, or deletes k when v is nil (unassigned).
func setOrDelete(m map[string]any, k string, v any) {
	if v == nil {
		delete(m, k)
		return
	}
	m[k] = v
}

// childMapIf is childMap when create is set; otherwise it returns m[k] as a
// map or nil.
func childMapIf(m map[string]any, k string, create bool) map[string]any {
	if create {
		return schema.ChildMap(m, k)
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
