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
	ops := make([]Operation, 0, len(list))
	for i, v := range list {
		op, err := parseOperation(v)
		if err != nil {
			return nil, withPrefix(i, err)
		}
		ops = append(ops, op)
	}
	return ops, nil
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
