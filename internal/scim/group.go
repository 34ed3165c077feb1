package scim

import (
	"errors"
	"strings"

	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scim/patch"
	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// EncodeGroup renders g without its members (RFC 7643 §4.2); the caller
// adds them, page by page, when they are asked for.
func EncodeGroup(g *scimflow.Group, baseURL string) map[string]any {
	doc := map[string]any{
		"schemas":     []any{GroupURN},
		"id":          g.ID,
		"displayName": g.DisplayName,
		"meta":        meta("Group", baseURL+"/Groups/"+g.ID, g.Version, g.CreatedAt, g.UpdatedAt),
	}
	put(doc, "externalId", g.ExternalID)
	return doc
}

// EncodeMember renders one element of Group.members.
func EncodeMember(m scimflow.Member, baseURL string) map[string]any {
	el := map[string]any{"value": m.UserID, "$ref": baseURL + "/Users/" + m.UserID, "type": "User"}
	put(el, "display", m.Display)
	return el
}

// DecodeGroup reads a Group from a document canonicalised by
// schema.Normalize. members reports whether the document asserts the
// member list at all: a PUT without "members" leaves them as they are
// (RFC 7644 §3.5.1 lets the provider treat omitted attributes as not
// asserted), while "members": [] empties the group.
func DecodeGroup(doc map[string]any, raw map[string]any) (g *scimflow.Group, memberIDs []string, members bool, err error) {
	d := decoder{}
	g = &scimflow.Group{DisplayName: strings.TrimSpace(d.str(doc, "displayName")), ExternalID: d.str(doc, "externalId")}
	if d.err != nil {
		return nil, nil, false, d.err
	}
	if g.DisplayName == "" {
		return nil, nil, false, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "displayName is required")
	}
	for k := range raw {
		if strings.EqualFold(k, "members") {
			members = true
		}
	}
	memberIDs, err = MemberIDs(doc["members"])
	return g, memberIDs, members, err
}

// MemberIDs reads the user ids of a members value: an array of
// {"value": id} objects (or one such object), at most
// MaxMembersPerOperation. Members of type Group are refused: scimflow
// does not support nested groups.
func MemberIDs(v any) ([]string, error) {
	var els []any
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		els = v
	case map[string]any:
		els = []any{v}
	default:
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "members must be an array of objects with a value")
	}
	if err := checkMemberCount(len(els)); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(els))
	for _, el := range els {
		m, ok := el.(map[string]any)
		if !ok {
			return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "members must be an array of objects with a value")
		}
		var id, typ string
		for k, val := range m {
			switch strings.ToLower(k) {
			case "value":
				id, _ = val.(string)
			case "type":
				typ, _ = val.(string)
			}
		}
		if strings.TrimSpace(id) == "" {
			return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "every member needs a value (the id of a User)")
		}
		if strings.EqualFold(typ, "Group") {
			return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue,
				"nested groups are not supported: member %s is a group; flatten nested groups in the identity provider", id)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// GroupPatch is a PATCH on a Group split into attribute operations (applied
// to the group's document) and membership operations (applied as
// per-member deltas in SQL, in order).
type GroupPatch struct {
	Attrs   []patch.Operation
	Index   []int // Index[i] is the position of Attrs[i] in the request, for error messages
	Members []scimflow.MemberOp
}

// SplitGroupPatch separates membership from the other attributes in ops.
// It understands every form IdPs send:
//
//	add     members                      [{"value": id}, ...]        (Entra, Okta)
//	remove  members                      [{"value": id}, ...]        (Entra: only those)
//	remove  members                      (no value: every member)
//	remove  members[value eq "id"]                                   (Entra flag, Okta)
//	replace members                      [...]                       (Okta: full replacement)
//	replace/add (no path) {"members": [...], "displayName": ...}      (whole-group replace)
func SplitGroupPatch(ops []patch.Operation) (GroupPatch, error) {
	var gp GroupPatch
	for i, op := range ops {
		if op.Path == nil {
			rest, memberOp, err := splitValue(op)
			if err != nil {
				return gp, opError(i, err)
			}
			if memberOp != nil {
				gp.Members = append(gp.Members, *memberOp)
			}
			if rest != nil {
				gp.Attrs, gp.Index = append(gp.Attrs, *rest), append(gp.Index, i)
			}
			continue
		}
		if !strings.EqualFold(op.Path.Attr.Name, "members") || (op.Path.Attr.URI != "" && !strings.EqualFold(op.Path.Attr.URI, GroupURN)) {
			gp.Attrs, gp.Index = append(gp.Attrs, op), append(gp.Index, i)
			continue
		}
		m, err := memberOp(op)
		if err != nil {
			return gp, opError(i, err)
		}
		gp.Members = append(gp.Members, m)
	}
	return gp, nil
}

// ApplyAttrs applies the attribute operations to doc one by one, so that
// an error names the operation's position in the request.
func (gp GroupPatch) ApplyAttrs(doc map[string]any, rt schema.ResourceType) (map[string]any, error) {
	for j, op := range gp.Attrs {
		next, err := patch.Apply(doc, []patch.Operation{op}, rt)
		if err != nil {
			var e *scimflow.Error
			if errors.As(err, &e) {
				c := *e
				c.Message = strings.Replace(e.Message, "Operations[0]: ", "Operations["+itoa(gp.Index[j])+"]: ", 1)
				return nil, &c
			}
			return nil, err
		}
		doc = next
	}
	return doc, nil
}

func opError(i int, err error) error {
	if e, ok := err.(*scimflow.Error); ok {
		c := *e
		c.Message = "Operations[" + itoa(i) + "]: " + e.Message
		return &c
	}
	return err
}

// splitValue takes "members" out of a path-less add or replace.
func splitValue(op patch.Operation) (*patch.Operation, *scimflow.MemberOp, error) {
	obj, ok := op.Value.(map[string]any)
	if !ok {
		return &op, nil, nil // patch.Apply reports the error
	}
	var key string
	for k := range obj {
		if strings.EqualFold(k, "members") {
			key = k
		}
	}
	if key == "" {
		return &op, nil, nil
	}
	ids, err := MemberIDs(obj[key])
	if err != nil {
		return nil, nil, err
	}
	kind := scimflow.MembersAdd
	if op.Op == patch.OpReplace {
		kind = scimflow.MembersSet
	}
	rest := make(map[string]any, len(obj)-1)
	for k, v := range obj {
		if k != key {
			rest[k] = v
		}
	}
	m := &scimflow.MemberOp{Kind: kind, UserIDs: ids}
	if len(rest) == 0 {
		return nil, m, nil
	}
	op.Value = rest
	return &op, m, nil
}

// memberOp turns an operation whose path is members[...] into a delta.
func memberOp(op patch.Operation) (scimflow.MemberOp, error) {
	p := op.Path
	if p.Attr.SubAttr != "" || p.SubAttr != "" {
		return scimflow.MemberOp{}, scimflow.SCIMErrorf(scimflow.SCIMMutability, "sub-attributes of members cannot be changed; add or remove the member instead")
	}
	if p.Filter != nil {
		if op.Op != patch.OpRemove {
			return scimflow.MemberOp{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidPath, "a filtered members path can only be removed; use add or replace on \"members\"")
		}
		ids, err := memberFilterIDs(p.Filter)
		if err == nil {
			err = checkMemberCount(len(ids))
		}
		if err != nil {
			return scimflow.MemberOp{}, err
		}
		return scimflow.MemberOp{Kind: scimflow.MembersRemove, UserIDs: ids}, nil
	}
	ids, err := MemberIDs(op.Value)
	if err != nil {
		return scimflow.MemberOp{}, err
	}
	switch op.Op {
	case patch.OpAdd:
		return scimflow.MemberOp{Kind: scimflow.MembersAdd, UserIDs: ids}, nil
	case patch.OpReplace:
		return scimflow.MemberOp{Kind: scimflow.MembersSet, UserIDs: ids}, nil
	}
	// remove: with a value list, only those members (Entra); without a
	// value, all (RFC 7644 §3.5.2.2). An explicit null is ambiguous and
	// must never empty a group: it is refused.
	if !op.HasValue {
		return scimflow.MemberOp{Kind: scimflow.MembersRemoveAll}, nil
	}
	if op.Value == nil {
		return scimflow.MemberOp{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue,
			`"value": null is ambiguous for a remove of members: list the members to remove, or leave "value" out to remove every member`)
	}
	return scimflow.MemberOp{Kind: scimflow.MembersRemove, UserIDs: ids}, nil
}

// checkMemberCount refuses n members in one request or operation when n
// is over MaxMembersPerOperation. The members of a group are applied as
// per-member deltas in SQL: their number is the work the request asks of
// the database.
func checkMemberCount(n int) error {
	members := schema.Group.Attribute("members")
	return schema.CheckValueCount(members, members.Name, n)
}

// memberFilterIDs reads the ids of `value eq "id"` terms joined by or.
func memberFilterIDs(e filter.Expr) ([]string, error) {
	switch e := e.(type) {
	case *filter.Compare:
		s, ok := e.Value.(string)
		if e.Op == filter.OpEq && ok && strings.EqualFold(e.Attr.Name, "value") && e.Attr.SubAttr == "" && e.Attr.URI == "" {
			return []string{s}, nil
		}
	case *filter.Logical:
		if strings.EqualFold(e.Op, "or") {
			l, err := memberFilterIDs(e.Left)
			if err != nil {
				return nil, err
			}
			r, err := memberFilterIDs(e.Right)
			return append(l, r...), err
		}
	}
	return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidFilter, `members can be selected by value only: members[value eq "<user id>"]`)
}
