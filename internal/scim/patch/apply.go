package patch

import (
	"reflect"
	"slices"
	"strings"

	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// Apply applies ops, in order, to a copy of doc, a resource of type rt in
// the canonical form schema.Normalize produces, and returns the copy. It
// is all-or-nothing: on error it returns nil and doc is untouched (doc is
// never modified).
//
// The semantics are those of RFC 7644 §3.5.2.1–3.5.2.3:
//
//   - add without path merges the value object into the resource; with a
//     path it appends to a multi-valued attribute (skipping values already
//     present) and sets a singular one. add and replace on a singular
//     complex attribute merge sub-attributes.
//   - replace without path sets each member of the value object; member
//     names may be attribute paths ("name.givenName",
//     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
//     `emails[type eq "work"].value`) as Entra ID sends them, and an
//     extension URN member merges into the extension. With a path it
//     replaces the value; a multi-valued attribute is replaced wholesale.
//   - remove unassigns the target; with a filter it removes the matching
//     values, with a filter and a sub-attribute it unsets that
//     sub-attribute; on a multi-valued attribute with a value array it
//     removes only the listed values (Entra ID's member removal). Removing
//     what is not there succeeds.
//
// Beyond the RFC:
//
//   - add on a filtered path that matches nothing creates the value from
//     the filter when the filter is an "and" of `sub eq literal`
//     comparisons; otherwise it is a noTarget error. replace on a filtered
//     path that matches nothing is a noTarget error (RFC 7644 §3.5.2.3),
//     except on the value paths Microsoft Entra ID sends for values a
//     user does not have yet (`emails[type eq "work"].value` and the
//     others of entraCreates), where it creates the value as add does;
//   - values are coerced as schema.NormalizeValue does, and null means
//     unassigned;
//   - members of a path-less value object that name no attribute are
//     ignored (as schema.Normalize ignores them), as are "schemas" and an
//     "id" equal to the resource's own (Okta echoes it);
//   - "password" is accepted and discarded: scimflow never stores it;
//   - a value added or replaced with primary=true demotes the other values
//     of its attribute (RFC 7643 §2.4);
//   - when an attribute's "value" sub-attribute is immutable (Group
//     "members"), that value identifies an element: adding an existing
//     member again is a no-op.
//
// Apply runs while the resource is locked, so an operation costs time
// linear in the values of the attribute it changes, which the limits
// bound: values are merged and removed through maps (see key.go), never
// compared pairwise.
//
// Errors are *scimflow.Error: invalidPath for a path naming no attribute
// of rt, mutability for readOnly targets (id, meta, groups), changed
// immutable values and removed required attributes (RFC 7644 §3.5.2.2),
// invalidValue for values of the wrong type and for more values than a
// multi-valued attribute's limit (schema.Attribute.ValueLimit: an
// operation may neither give nor leave more), invalidFilter and noTarget.
// Messages name the failing operation by its index in ops.
func Apply(doc map[string]any, ops []Operation, rt schema.ResourceType) (map[string]any, error) {
	if _, ok := schema.SchemaByID(rt.Schema); !ok {
		return nil, scimflow.Errorf(scimflow.EINTERNAL, "resource type %q has no known schema", rt.ID)
	}
	out, _ := schema.Clone(doc).(map[string]any)
	if out == nil {
		out = make(map[string]any)
	}
	a := &applier{rt: rt, doc: out, orig: doc}
	for i, op := range ops {
		if err := a.apply(op); err != nil {
			return nil, withPrefix(i, err)
		}
		if err := a.checkRequired(); err != nil {
			return nil, withPrefix(i, err)
		}
	}
	a.tidyExtensions()
	return a.doc, nil
}

type applier struct {
	rt   schema.ResourceType
	doc  map[string]any // the copy being modified
	orig map[string]any // the input, read only
}

// target is a resolved PATCH path.
type target struct {
	res    schema.Resolved // Attr, and Sub when the path has a sub-attribute
	filter filter.Expr     // the value selection filter, or nil
	all    bool            // a sub-attribute of a multi-valued attribute without filter: every value
}

func (t target) selects() bool { return t.filter != nil || t.all }

func (a *applier) apply(op Operation) error {
	switch op.Op {
	case OpAdd, OpReplace:
		if op.Path == nil {
			return a.pathless(op.Op, op.Value)
		}
	case OpRemove:
		if op.Path == nil {
			return scimflow.SCIMErrorf(scimflow.SCIMNoTarget, "a remove operation needs a \"path\"")
		}
	default:
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "\"op\" must be \"add\", \"replace\" or \"remove\"")
	}
	if urn, ok := a.extensionPath(*op.Path); ok {
		if op.Op == OpRemove {
			return a.removeExtension(urn)
		}
		return a.extension(op.Op, urn, op.Value)
	}
	t, unknown, err := a.resolve(*op.Path)
	if unknown || err != nil {
		return err
	}
	if op.Op == OpRemove {
		return a.remove(t, op.Value)
	}
	return a.set(op.Op, t, op.Value)
}

// extensionPath reports whether p names a whole schema extension of a.rt,
// and returns its URN.
func (a *applier) extensionPath(p filter.Path) (string, bool) {
	if p.Filter != nil || p.SubAttr != "" || p.Attr.SubAttr != "" {
		return "", false
	}
	s := p.Attr.URI
	if p.Attr.Name != "" {
		s += ":" + p.Attr.Name
	}
	return a.rt.Extension(s)
}

// resolve resolves p against a.rt. unknown is true when p names no
// attribute (err is then the invalidPath error to report, if any).
func (a *applier) resolve(p filter.Path) (t target, unknown bool, err error) {
	ap := p.Attr
	sub := ap.SubAttr
	if p.Filter != nil {
		sub = p.SubAttr
	}
	ap.SubAttr = ""
	r, ok := schema.Lookup(a.rt, ap)
	if !ok || ap.Name == "" {
		return t, true, scimflow.SCIMErrorf(scimflow.SCIMInvalidPath, "path %q: no attribute %q in resource type %s", p.String(), pathName(ap), a.rt.Name)
	}
	if sub != "" {
		if r.Attr.Type != schema.TypeComplex {
			return t, true, scimflow.SCIMErrorf(scimflow.SCIMInvalidPath, "path %q: attribute %q has no sub-attributes", p.String(), r.String())
		}
		if r.Sub = r.Attr.SubAttribute(sub); r.Sub == nil {
			return t, true, scimflow.SCIMErrorf(scimflow.SCIMInvalidPath, "path %q: attribute %q has no sub-attribute %q", p.String(), r.String(), sub)
		}
	}
	t = target{res: r, filter: p.Filter, all: p.Filter == nil && r.Sub != nil && r.Attr.MultiValued}
	if p.Filter == nil {
		return t, false, nil
	}
	if !r.Attr.MultiValued {
		return t, false, scimflow.SCIMErrorf(scimflow.SCIMInvalidPath, "path %q: attribute %q is not multi-valued, so it takes no filter", p.String(), attrName(r))
	}
	return t, false, checkFilter(r, p.Filter)
}

// attrName returns the canonical name of r's attribute, without
// sub-attribute.
func attrName(r schema.Resolved) string {
	r.Sub = nil
	return r.String()
}

func pathName(p filter.AttrPath) string {
	if p.URI == "" {
		return p.Name
	}
	return p.URI + ":" + p.Name
}

// checkFilter verifies that the value selection filter e of r compares
// sub-attributes of r (RFC 7644 §3.5.2: valuePath filters are relative to
// the values of a multi-valued attribute).
func checkFilter(r schema.Resolved, e filter.Expr) error {
	switch e := e.(type) {
	case *filter.Compare:
		if e.Attr.URI == "" && e.Attr.SubAttr == "" && subOf(r.Attr, e.Attr.Name) != nil {
			return nil
		}
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidFilter, "filter on %q: %q is not a sub-attribute of %q", attrName(r), e.Attr.String(), attrName(r))
	case *filter.Logical:
		if err := checkFilter(r, e.Left); err != nil {
			return err
		}
		return checkFilter(r, e.Right)
	case *filter.Not:
		return checkFilter(r, e.X)
	}
	return scimflow.SCIMErrorf(scimflow.SCIMInvalidFilter, "filter on %q: filters cannot be nested", attrName(r))
}

// subOf returns the sub-attribute name of a. The values of a simple
// multi-valued attribute are addressed as "value" (RFC 7644 §3.4.2.2).
func subOf(a *schema.Attribute, name string) *schema.Attribute {
	if a.Type == schema.TypeComplex {
		return a.SubAttribute(name)
	}
	if strings.EqualFold(name, "value") {
		v := *a
		v.Name, v.MultiValued = "value", false
		return &v
	}
	return nil
}

// pathless applies an add or replace without path: each member of the
// value object is an attribute (or attribute path) to add or replace
// (RFC 7644 §3.5.2.1, §3.5.2.3).
func (a *applier) pathless(op string, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "without a \"path\", \"value\" must be an object of attributes, not %s", schema.Kind(v))
	}
	for _, k := range schema.SortedKeys(m) {
		if err := a.pathlessMember(op, k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) pathlessMember(op, k string, v any) error {
	if strings.EqualFold(k, "schemas") {
		return nil
	}
	if urn, ok := a.rt.Extension(k); ok {
		return a.extension(op, urn, v)
	}
	p, err := filter.ParsePath(k)
	if err != nil {
		return nil // not an attribute path, so not an attribute of rt
	}
	t, unknown, err := a.resolve(p)
	if unknown {
		return nil
	}
	if err != nil {
		return err
	}
	if t.res.Schema == "" && t.res.Attr.Name == "id" && !t.selects() && t.res.Sub == nil && a.isOwnID(v) {
		return nil
	}
	// A whole resource sent as a path-less value echoes what the server
	// owns (meta, groups): not an attempt to change it. An explicit path to
	// them, or a different id, is still a mutability error.
	if t.res.Attr.Name != "id" && t.res.Attr.Mutability == schema.MutabilityReadOnly {
		return nil
	}
	return a.set(op, t, v)
}

// isOwnID reports whether v is the id of the resource. Okta sends it in
// path-less replace values.
func (a *applier) isOwnID(v any) bool {
	id, ok := a.orig["id"].(string)
	s, _ := v.(string)
	return ok && s == id
}

// extension adds or replaces the members of v, an object of attributes of
// the extension urn. null unassigns the whole extension.
func (a *applier) extension(op, urn string, v any) error {
	if v == nil {
		return a.removeExtension(urn)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "%q must be an object, not %s", urn, schema.Kind(v))
	}
	for _, k := range schema.SortedKeys(m) {
		name, sub, _ := strings.Cut(k, ".")
		r, ok := schema.Lookup(a.rt, filter.AttrPath{URI: urn, Name: name, SubAttr: sub})
		if !ok {
			continue // unknown, ignored as in a path-less value
		}
		t := target{res: r, all: r.Sub != nil && r.Attr.MultiValued}
		if err := a.set(op, t, m[k]); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) removeExtension(urn string) error {
	for _, e := range a.rt.Extensions {
		if e.Schema == urn && e.Required {
			return scimflow.SCIMErrorf(scimflow.SCIMMutability, "the schema extension %q is required and cannot be removed", urn)
		}
	}
	delete(a.doc, urn)
	return nil
}

// checkMutable returns the mutability error for writing r, if any
// (RFC 7643 §7, RFC 7644 §3.5.2).
func checkMutable(r schema.Resolved) error {
	for _, at := range []*schema.Attribute{r.Attr, r.Sub} {
		if at != nil && at.Mutability == schema.MutabilityReadOnly {
			return scimflow.SCIMErrorf(scimflow.SCIMMutability, "attribute %q is read-only", r.String())
		}
	}
	return nil
}

// discarded reports whether writes to r are accepted and thrown away:
// scimflow stores no writeOnly attribute (password).
func discarded(r schema.Resolved) bool {
	return r.Attr.Mutability == schema.MutabilityWriteOnly ||
		(r.Sub != nil && r.Sub.Mutability == schema.MutabilityWriteOnly)
}

// container returns the map that holds r's attribute: the document, or
// the object of r's extension (created when missing).
func (a *applier) container(r schema.Resolved) map[string]any {
	if !r.Extension {
		return a.doc
	}
	return schema.ChildMap(a.doc, r.Schema)
}

// set applies an add or replace of v at t.
func (a *applier) set(op string, t target, v any) error {
	r := t.res
	if err := checkMutable(r); err != nil {
		return err
	}
	if discarded(r) {
		return nil
	}
	c := a.container(r)
	switch {
	case t.selects():
		return setValues(op, c, t, v)
	case r.Sub != nil:
		return setSub(childMapIf(c, r.Attr.Name, v != nil), c, r, v)
	case r.Attr.MultiValued:
		return setMulti(op, c, r, v)
	case r.Attr.Type == schema.TypeComplex:
		return mergeComplex(c, r, v)
	}
	nv, err := schema.NormalizeValue(*r.Attr, r.String(), v)
	if err != nil {
		return err
	}
	old, had := c[r.Attr.Name]
	if r.Attr.Mutability == schema.MutabilityImmutable && had && !reflect.DeepEqual(old, nv) {
		return immutableError(r)
	}
	setOrDelete(c, r.Attr.Name, nv)
	return nil
}

// mergeComplex sets the sub-attributes given in v on the singular complex
// attribute r, leaving the others unchanged (RFC 7644 §3.5.2.1, §3.5.2.3).
// null unassigns the attribute.
func mergeComplex(c map[string]any, r schema.Resolved, v any) error {
	if v == nil {
		delete(c, r.Attr.Name)
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		// Coerces Entra ID's plain-string manager to {"value": s}.
		nv, err := schema.NormalizeValue(*r.Attr, r.String(), v)
		if err != nil {
			return err
		}
		m, _ = nv.(map[string]any)
	}
	for _, k := range schema.SortedKeys(m) {
		sub := r.Attr.SubAttribute(k)
		if sub == nil || sub.Mutability == schema.MutabilityReadOnly || sub.Mutability == schema.MutabilityWriteOnly {
			continue // dropped as schema.Normalize drops them
		}
		rs := r
		rs.Sub = sub
		if err := setSub(childMapIf(c, r.Attr.Name, m[k] != nil), c, rs, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// setSub sets (or, for null, unsets) the sub-attribute r.Sub of parent, the
// value of r.Attr held by c[r.Attr.Name] (nil when there is none). A
// parent left empty is removed from c.
func setSub(parent, c map[string]any, r schema.Resolved, v any) error {
	nv, err := schema.NormalizeValue(*r.Sub, r.String(), v)
	if err != nil {
		return err
	}
	if parent == nil {
		return nil // unsetting a sub-attribute of an absent value
	}
	old, had := parent[r.Sub.Name]
	if r.Sub.Mutability == schema.MutabilityImmutable && had && !reflect.DeepEqual(old, nv) {
		return immutableError(r)
	}
	setOrDelete(parent, r.Sub.Name, nv)
	if len(parent) == 0 && c != nil {
		delete(c, r.Attr.Name)
	}
	return nil
}

func immutableError(r schema.Resolved) error {
	return scimflow.SCIMErrorf(scimflow.SCIMMutability, "attribute %q is immutable and already has a value", r.String())
}

// remove applies a remove operation at t (RFC 7644 §3.5.2.2). v, when
// given for a multi-valued attribute, lists the values to remove.
func (a *applier) remove(t target, v any) error {
	r := t.res
	if err := checkMutable(r); err != nil {
		return err
	}
	if discarded(r) {
		return nil
	}
	c := a.container(r)
	switch {
	case t.selects():
		vals := asArray(c[r.Attr.Name])
		match := matches(vals, t)
		for i, m := range match {
			if !m {
				continue
			}
			if r.Sub == nil {
				vals[i] = nil
				continue
			}
			if err := checkRemovable(r, vals[i]); err != nil {
				return err
			}
			if e, ok := vals[i].(map[string]any); ok {
				delete(e, r.Sub.Name)
			}
		}
		return storeValues(c, r, vals, make([]bool, len(vals)))
	case r.Sub != nil:
		parent, _ := c[r.Attr.Name].(map[string]any)
		return setSub(parent, c, r, nil)
	case r.Attr.MultiValued && v != nil:
		return removeListed(c, r, v)
	}
	if _, had := c[r.Attr.Name]; had && r.Attr.Mutability == schema.MutabilityImmutable {
		return immutableError(r)
	}
	delete(c, r.Attr.Name)
	return nil
}

// checkRequired returns a mutability error when an operation unassigned a
// required attribute the resource had (RFC 7644 §3.5.2.2).
func (a *applier) checkRequired() error {
	s, _ := schema.SchemaByID(a.rt.Schema)
	for _, at := range s.Attributes {
		if !at.Required {
			continue
		}
		if _, had := a.orig[at.Name]; had {
			if _, has := a.doc[at.Name]; !has {
				return scimflow.SCIMErrorf(scimflow.SCIMMutability, "attribute %q is required and cannot be removed", at.Name)
			}
		}
	}
	return nil
}

// tidyExtensions removes emptied extension objects and lists the
// extensions the resource has in "schemas" (RFC 7643 §3).
func (a *applier) tidyExtensions() {
	for _, e := range a.rt.Extensions {
		m, ok := a.doc[e.Schema].(map[string]any)
		if !ok {
			continue
		}
		if len(m) == 0 {
			delete(a.doc, e.Schema)
			continue
		}
		schemas, ok := a.doc["schemas"].([]any)
		if !ok && a.doc["schemas"] != nil {
			continue // not ours to repair
		}
		if !ok {
			schemas = []any{a.rt.Schema}
		}
		if !slices.ContainsFunc(schemas, func(x any) bool { s, _ := x.(string); return strings.EqualFold(s, e.Schema) }) {
			a.doc["schemas"] = append(schemas, e.Schema)
		}
	}
}
