// Package patch parses SCIM PATCH requests (RFC 7644 §3.5.2) and applies
// them to resource documents, with the leniency that real identity
// providers need: Microsoft Entra ID's capitalised operations, string
// booleans and attribute paths inside path-less values, Okta's echoed
// "id", and "replace" on a filtered value that does not exist yet.
package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// PatchOpURN is the schema of a PATCH request body (RFC 7644 §3.5.2).
const PatchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// Operation names, as Operation.Op holds them.
const (
	OpAdd     = "add"
	OpReplace = "replace"
	OpRemove  = "remove"
)

// MaxOperations is the most operations one PATCH request may hold.
const MaxOperations = 20000

// Operation is one element of "Operations" (RFC 7644 §3.5.2).
type Operation struct {
	Op      string       // OpAdd, OpReplace or OpRemove
	Path    *filter.Path // nil when the operation has no path
	RawPath string       // the path as the client wrote it
	Value   any          // decoded with UseNumber; nil when absent or null
	// HasValue tells an explicit "value": null from an absent value.
	HasValue bool
}

// Parse parses the body of a PATCH request (RFC 7644 §3.5.2).
//
// "schemas" must list PatchOpURN (other URNs are tolerated). Member names
// ("Operations", "op", "path", "value") and operation names are
// case-insensitive: Entra ID sends "Add", "Replace" and "Remove". "path"
// is optional for add and replace and required for remove (noTarget, RFC
// 7644 §3.5.2.2); an empty path counts as absent. add and replace need a
// "value", which may be null (the attribute becomes unassigned).
//
// A request holds at most MaxOperations operations, and no operation gives
// a multi-valued attribute more values than its limit
// (schema.Attribute.ValueLimit). Apply checks the limit again, against the
// resource and its values; checking here too refuses an oversized request
// before any resource is read and locked.
//
// Errors are *scimflow.Error with scimType invalidSyntax, invalidPath,
// invalidValue or noTarget.
func Parse(body []byte) ([]Operation, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var req map[string]any
	if err := dec.Decode(&req); err != nil || req == nil {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "the request body must be a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "the request body must hold exactly one JSON object")
	}
	schemas, _, err := member(req, "schemas")
	if err != nil {
		return nil, err
	}
	if !hasSchema(schemas) {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "\"schemas\" must contain %q", PatchOpURN)
	}
	v, _, err := member(req, "Operations")
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "\"Operations\" must be an array of one or more operations")
	}
	if len(list) > MaxOperations {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "\"Operations\" has %d operations; at most %d are allowed", len(list), MaxOperations)
	}
	ops := make([]Operation, 0, len(list))
	for i, v := range list {
		op, err := parseOperation(v)
		if err == nil {
			err = checkValueCounts(op)
		}
		if err != nil {
			return nil, withPrefix(i, err)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// checkValueCounts returns an invalidValue error when op gives a
// multi-valued attribute more values than its limit. Parse knows no
// resource type, so a path is resolved against each, and the largest limit
// applies. Attributes of extensions are left to Apply: no extension
// scimflow serves has a multi-valued attribute.
func checkValueCounts(op Operation) error {
	if op.Path != nil {
		return checkValueCount(*op.Path, op.Value)
	}
	m, _ := op.Value.(map[string]any)
	for _, k := range schema.SortedKeys(m) {
		if _, isArray := m[k].([]any); !isArray {
			continue
		}
		p, err := filter.ParsePath(k)
		if err != nil {
			continue // not an attribute: Apply ignores it
		}
		if err := checkValueCount(p, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// checkValueCount checks the values v given for the whole attribute p.
func checkValueCount(p filter.Path, v any) error {
	arr, ok := v.([]any)
	if !ok || p.Filter != nil || p.SubAttr != "" || p.Attr.SubAttr != "" {
		return nil // one value at most
	}
	var widest *schema.Resolved
	for _, rt := range schema.ResourceTypes() {
		r, ok := schema.Lookup(rt, p.Attr)
		if !ok || !r.Attr.MultiValued || r.Attr.Mutability == schema.MutabilityReadOnly {
			continue // read-only values (a User's groups) are ignored or refused, never stored
		}
		if widest == nil || r.Attr.ValueLimit() > widest.Attr.ValueLimit() {
			widest = &r
		}
	}
	if widest == nil {
		return nil
	}
	return schema.CheckValueCount(widest.Attr, widest.String(), len(arr))
}

func parseOperation(v any) (Operation, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Operation{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "an operation must be an object")
	}
	name, _, err := member(m, "op")
	if err != nil {
		return Operation{}, err
	}
	var op Operation
	s, _ := name.(string)
	switch strings.ToLower(s) {
	case OpAdd, OpReplace, OpRemove:
		op.Op = strings.ToLower(s)
	default:
		return Operation{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "\"op\" must be \"add\", \"replace\" or \"remove\"")
	}
	path, _, err := member(m, "path")
	if err != nil {
		return Operation{}, err
	}
	if path != nil {
		s, ok := path.(string)
		if !ok {
			return Operation{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidPath, "\"path\" must be a string")
		}
		op.RawPath = strings.TrimSpace(s)
	}
	if op.RawPath != "" {
		p, err := parsePath(op.RawPath)
		if err != nil {
			return Operation{}, err
		}
		op.Path = &p
	}
	value, hasValue, err := member(m, "value")
	if err != nil {
		return Operation{}, err
	}
	op.Value, op.HasValue = value, hasValue
	switch {
	case op.Op == OpRemove && op.Path == nil:
		return Operation{}, scimflow.SCIMErrorf(scimflow.SCIMNoTarget, "a remove operation needs a \"path\"")
	case op.Op != OpRemove && !hasValue:
		return Operation{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "an \"add\" or \"replace\" operation needs a \"value\"")
	}
	return op, nil
}

// parsePath parses a PATCH path. A bare schema URN, which names a whole
// extension ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
// is outside the attrPath grammar; it is kept as a Path with only Attr.URI
// set and resolved by Apply.
func parsePath(s string) (filter.Path, error) {
	p, err := filter.ParsePath(s)
	if err == nil {
		return p, nil
	}
	if len(s) > 4 && strings.EqualFold(s[:4], "urn:") && !strings.ContainsAny(s, " []\"") {
		return filter.Path{Attr: filter.AttrPath{URI: s}}, nil
	}
	return filter.Path{}, err
}

// member returns the member of m named name, compared case-insensitively:
// RFC 7643 §2.1 makes attribute names case-insensitive and clients write
// "operations" or "Op".
func member(m map[string]any, name string) (v any, ok bool, err error) {
	for k, x := range m {
		if !strings.EqualFold(k, name) {
			continue
		}
		if ok {
			return nil, false, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "%q is given more than once", name)
		}
		v, ok = x, true
	}
	return v, ok, nil
}

func hasSchema(v any) bool {
	list, _ := v.([]any)
	return slices.ContainsFunc(list, func(x any) bool {
		s, _ := x.(string)
		return strings.EqualFold(s, PatchOpURN)
	})
}

// withPrefix returns err with its message prefixed by the index of the
// operation it concerns, so that a client can find it in a long request.
func withPrefix(i int, err error) error {
	var e *scimflow.Error
	if !errors.As(err, &e) {
		return err
	}
	return &scimflow.Error{
		Code:     e.Code,
		SCIMType: e.SCIMType,
		Message:  "Operations[" + strconv.Itoa(i) + "]: " + e.Message,
		Err:      e.Err,
	}
}
