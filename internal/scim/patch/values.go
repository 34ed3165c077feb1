package patch

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// setMulti adds to or replaces the multi-valued attribute r.
func setMulti(op string, c map[string]any, r schema.Resolved, v any) error {
	nv, err := schema.NormalizeValue(*r.Attr, r.String(), v)
	if err != nil {
		return err
	}
	if op == OpReplace || v == nil {
		setOrDelete(c, r.Attr.Name, nv)
		return nil
	}
	add, _ := nv.([]any)
	vals := asArray(c[r.Attr.Name])
	touched := make([]bool, len(vals))
	seen := newValueSet(r.Attr, vals)
	for _, e := range add {
		if seen.has(e) {
			continue
		}
		seen.add(e)
		vals = append(vals, e)
		touched = append(touched, true)
	}
	return storeValues(c, r, vals, touched)
}

// setValues applies an add or replace to the values of the multi-valued
// attribute of t that t selects.
func setValues(op string, c map[string]any, t target, v any) error {
	vals := asArray(c[t.res.Attr.Name])
	match := matches(vals, t)
	var err error
	if t.res.Sub != nil {
		vals, match, err = setSubOfValues(op, t, vals, match, v)
	} else {
		vals, match, err = setWholeValues(op, t, vals, match, v)
	}
	if err != nil {
		return err
	}
	return storeValues(c, t.res, vals, match)
}

// setSubOfValues sets the sub-attribute of t on the selected values (match),
// creating the value when none is selected, and returns the new values and
// selection.
func setSubOfValues(op string, t target, vals []any, match []bool, v any) ([]any, []bool, error) {
	if !slices.Contains(match, true) {
		if v == nil {
			return vals, match, nil // nothing to unset
		}
		e, err := newValue(op, t)
		if err != nil {
			return nil, nil, err
		}
		vals = append(vals, e)
		match = append(match, true)
	}
	for i, m := range match {
		e, ok := vals[i].(map[string]any)
		if !m || !ok {
			continue
		}
		if err := setSub(e, nil, t.res, v); err != nil {
			return nil, nil, err
		}
	}
	return vals, match, nil
}

// setWholeValues adds v to, or replaces by v, the selected values (match),
// creating the value when none is selected, and returns the new values and
// selection.
func setWholeValues(op string, t target, vals []any, match []bool, v any) ([]any, []bool, error) {
	r := t.res
	elem := *r.Attr
	elem.MultiValued = false
	nv, err := schema.NormalizeValue(elem, r.String(), v)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case nv == nil:
		// null unassigns the selected values.
		for i, m := range match {
			if m {
				vals[i] = nil
			}
		}
	case !slices.Contains(match, true):
		e, err := newValue(op, t)
		if err != nil {
			return nil, nil, err
		}
		if m, ok := nv.(map[string]any); ok {
			maps.Copy(e, m)
			nv = e
		}
		vals = append(vals, nv)
		match = append(match, true)
	case op == OpReplace && isObject(nv):
		// RFC 7644 §3.5.2.3: the given sub-attributes replace those of the
		// selected values; sub-attributes not given are left unchanged.
		for i, m := range match {
			if !m {
				continue
			}
			if err := checkReplaceable(r, vals[i], nv); err != nil {
				return nil, nil, err
			}
			if err := mergeValue(r, vals, i, nv); err != nil {
				return nil, nil, err
			}
		}
	case op == OpReplace:
		// The selected values are replaced by one (RFC 7644 §3.5.2.3).
		first := true
		for i, m := range match {
			if !m {
				continue
			}
			if err := checkReplaceable(r, vals[i], nv); err != nil {
				return nil, nil, err
			}
			if first {
				vals[i], first = schema.Clone(nv), false
			} else {
				vals[i], match[i] = nil, false
			}
		}
	default:
		// add merges the given sub-attributes into the selected values.
		for i, m := range match {
			if !m {
				continue
			}
			if err := mergeValue(r, vals, i, nv); err != nil {
				return nil, nil, err
			}
		}
	}
	return vals, match, nil
}

// mergeValue merges the sub-attributes of nv into vals[i].
func mergeValue(r schema.Resolved, vals []any, i int, nv any) error {
	e, ok := vals[i].(map[string]any)
	m, isMap := nv.(map[string]any)
	if !ok || !isMap {
		vals[i] = schema.Clone(nv)
		return nil
	}
	for _, k := range schema.SortedKeys(m) {
		rs := r
		if rs.Sub = r.Attr.SubAttribute(k); rs.Sub == nil {
			continue
		}
		if err := setSub(e, nil, rs, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// checkReplaceable returns a mutability error when replacing the value
// old by nv changes an immutable sub-attribute.
func checkReplaceable(r schema.Resolved, old, nv any) error {
	o, _ := old.(map[string]any)
	n, _ := nv.(map[string]any)
	for _, sub := range r.Attr.SubAttributes {
		if sub.Mutability != schema.MutabilityImmutable {
			continue
		}
		if x, had := o[sub.Name]; had && !reflect.DeepEqual(x, n[sub.Name]) {
			rs := r
			rs.Sub = &sub
			return immutableError(rs)
		}
	}
	return nil
}

// checkRemovable is checkReplaceable for unsetting sub-attributes of a
// value while keeping the value. Removing a whole value is always allowed.
func checkRemovable(r schema.Resolved, old any) error {
	if r.Sub == nil {
		return nil
	}
	m, _ := old.(map[string]any)
	if _, had := m[r.Sub.Name]; had && r.Sub.Mutability == schema.MutabilityImmutable {
		return immutableError(r)
	}
	return nil
}

// newValue returns a new value for the multi-valued attribute of t, built
// from the equality comparisons of t's filter, for an add or replace whose
// filter matched no value. Only a filter that is an "and" of
// `sub eq literal` comparisons says what the value is; for any other
// filter nothing matched and the operation has no target (RFC 7644
// §3.5.2.3). A replace through a filter that matched nothing has no
// target either, except on the paths Entra ID sends (see entraCreates).
func newValue(op string, t target) (map[string]any, error) {
	r := t.res
	terms := map[string]any{}
	if op == OpReplace && t.filter != nil && !entraCreates(t) {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMNoTarget, "no value of %q matches the filter %s; replace changes existing values only (add creates one)", attrName(r), filter.Format(t.filter))
	}
	if t.filter != nil && !equalities(t.filter, terms) {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMNoTarget, "no value of %q matches the filter %s", attrName(r), filter.Format(t.filter))
	}
	e := make(map[string]any, len(terms)+1)
	for _, k := range schema.SortedKeys(terms) {
		sub := subOf(r.Attr, k)
		if sub == nil {
			return nil, scimflow.SCIMErrorf(scimflow.SCIMNoTarget, "no value of %q matches the filter %s", attrName(r), filter.Format(t.filter))
		}
		nv, err := schema.NormalizeValue(*sub, attrName(r)+"."+sub.Name, terms[k])
		if err != nil {
			return nil, err
		}
		if nv != nil {
			e[sub.Name] = nv
		}
	}
	return e, nil
}

// equalities collects the comparisons of e, an "and" of `sub eq literal`,
// into terms, keyed by lower-case sub-attribute name. It reports false for
// any other filter, or contradicting comparisons.
func equalities(e filter.Expr, terms map[string]any) bool {
	switch e := e.(type) {
	case *filter.Compare:
		if e.Op != filter.OpEq || e.Value == nil || e.Attr.URI != "" || e.Attr.SubAttr != "" {
			return false
		}
		v := e.Value
		if n, ok := v.(filter.Number); ok {
			v = json.Number(n)
		}
		k := strings.ToLower(e.Attr.Name)
		if old, ok := terms[k]; ok && !reflect.DeepEqual(old, v) {
			return false
		}
		terms[k] = v
		return true
	case *filter.Logical:
		return strings.EqualFold(e.Op, "and") && equalities(e.Left, terms) && equalities(e.Right, terms)
	}
	return false
}

// matches reports, for each value of vals, whether t selects it.
func matches(vals []any, t target) []bool {
	m := make([]bool, len(vals))
	caseExact := func(p filter.AttrPath) bool {
		name := p.Name
		if p.SubAttr != "" {
			name = p.SubAttr
		}
		sub := subOf(t.res.Attr, name)
		return sub != nil && sub.CaseExact
	}
	for i, v := range vals {
		switch {
		case t.filter == nil:
			m[i] = true
		case t.res.Attr.Type != schema.TypeComplex:
			m[i] = filter.Match(t.filter, map[string]any{"value": v}, caseExact)
		default:
			obj, ok := v.(map[string]any)
			m[i] = ok && filter.Match(t.filter, obj, caseExact)
		}
	}
	return m
}

// storeValues stores vals as the values of r in c, dropping nil and empty
// values, and keeps "primary" unique: a touched value with primary=true
// demotes the others (RFC 7643 §2.4). No operation may leave more values
// than the attribute's limit (schema.Attribute.ValueLimit): adds to values
// already there would otherwise grow the attribute without bound, and
// each operation of a long request would cost more than the last.
func storeValues(c map[string]any, r schema.Resolved, vals []any, touched []bool) error {
	var keep []any
	primary := -1
	for i, v := range vals {
		if m, ok := v.(map[string]any); v == nil || ok && len(m) == 0 {
			continue
		}
		if touched[i] && isPrimary(v) {
			if primary >= 0 {
				return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "attribute %q has more than one primary value", attrName(r))
			}
			primary = len(keep)
		}
		keep = append(keep, v)
	}
	// Only growth past the limit is refused: an attribute stored with more
	// values before the limits existed can still shrink or change.
	old, _ := c[r.Attr.Name].([]any)
	if limit := r.Attr.ValueLimit(); len(keep) > limit && len(keep) > len(old) {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "attribute %q would have %d values; at most %d are allowed", attrName(r), len(keep), limit)
	}
	if primary >= 0 {
		for i, v := range keep {
			if i != primary && isPrimary(v) {
				v.(map[string]any)["primary"] = false
			}
		}
	}
	if len(keep) == 0 {
		delete(c, r.Attr.Name)
		return nil
	}
	c[r.Attr.Name] = keep
	return nil
}

func isPrimary(v any) bool {
	m, ok := v.(map[string]any)
	return ok && m["primary"] == true
}

// removeListed removes from the multi-valued attribute r the values that
// v lists. A listed object matches a value that has the same sub-attribute
// values (other sub-attributes of the value may differ): Entra ID removes
// a member with [{"value": "<id>"}].
func removeListed(c map[string]any, r schema.Resolved, v any) error {
	nv, err := schema.NormalizeValue(*r.Attr, r.String(), v)
	if err != nil {
		return err
	}
	listed, _ := nv.([]any)
	set := newListedSet(r.Attr, listed)
	vals := asArray(c[r.Attr.Name])
	for i, x := range vals {
		if set.has(x) {
			vals[i] = nil
		}
	}
	return storeValues(c, r, vals, make([]bool, len(vals)))
}

func isObject(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}
