package patch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// Literal request bodies of identity providers.
const (
	// Microsoft Entra ID, default (non-compliant) dialect.
	entraDefault = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` +
		`{"op":"Replace","path":"active","value":"False"},` +
		`{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@b.com"},` +
		`{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"26118915-6090-4610-87e4-49d8ca9f808d"}]}`

	// Microsoft Entra ID with the aadOptscim062020 feature flag: lower-case
	// operations, real booleans, attribute paths as value keys.
	entraFlag = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` +
		`{"op":"replace","value":{"name.givenName":"Barbie","name.familyName":"Jensen-Smith",` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"7",` +
		`"emails[type eq \"work\"].value":"barbie@example.com","active":false,"displayName":"Barbie Jensen-Smith"}}]}`

	// Okta deactivation.
	oktaDeactivate = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
)

func mustPath(t testing.TB, s string) *filter.Path {
	t.Helper()
	p, err := filter.ParsePath(s)
	if err != nil {
		t.Fatalf("ParsePath(%q): %v", s, err)
	}
	return &p
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Operation
	}{
		{
			name: "Entra ID default",
			body: entraDefault,
			want: []Operation{
				{Op: OpReplace, Path: mustPath(t, "active"), RawPath: "active", Value: "False"},
				{Op: OpAdd, Path: mustPath(t, `emails[type eq "work"].value`), RawPath: `emails[type eq "work"].value`, Value: "a@b.com"},
				{Op: OpReplace, Path: mustPath(t, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
					RawPath: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", Value: "26118915-6090-4610-87e4-49d8ca9f808d"},
			},
		},
		{
			name: "Okta",
			body: oktaDeactivate,
			want: []Operation{{Op: OpReplace, Value: map[string]any{"active": false}}},
		},
		{
			name: "member names and operations in any case, extra schemas",
			body: `{"SCHEMAS":["urn:example:other","URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],"operations":[` +
				`{"OP":"REMOVE","Path":"members","Value":[{"value":"u1"}]},{"Op":"ADD","PATH":"","VALUE":{"n":1.5}}]}`,
			want: []Operation{
				{Op: OpRemove, Path: mustPath(t, "members"), RawPath: "members", Value: []any{map[string]any{"value": "u1"}}},
				{Op: OpAdd, Value: map[string]any{"n": json.Number("1.5")}},
			},
		},
		{
			name: "null value",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":null}]}`,
			want: []Operation{{Op: OpReplace, Path: mustPath(t, "title"), RawPath: "title"}},
		},
		{
			name: "whole extension",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]}`,
			want: []Operation{{Op: OpRemove, Path: mustPath(t, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"), RawPath: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", tt.body, err)
			}
			// HasValue is covered by TestParseHasValue.
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Operation{}, "HasValue")); diff != "" {
				t.Errorf("Parse(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

// TestParseHasValue checks that an explicit null is told from an absent
// value: removing members with "value": null must not mean "all members".
func TestParseHasValue(t *testing.T) {
	for _, tt := range []struct {
		op   string
		want bool
	}{
		{`{"op":"remove","path":"members"}`, false},
		{`{"op":"remove","path":"members","value":null}`, true},
		{`{"op":"remove","path":"members","value":[{"value":"u1"}]}`, true},
	} {
		ops, err := Parse([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + tt.op + `]}`))
		if err != nil {
			t.Fatal(err)
		}
		if ops[0].HasValue != tt.want {
			t.Errorf("Parse(%s).HasValue = %v, want %v", tt.op, ops[0].HasValue, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const schemas = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`
	tests := []struct {
		body     string
		scimType string
		msg      string
	}{
		{``, scimflow.SCIMInvalidSyntax, "must be a JSON object"},
		{`{"schemas":`, scimflow.SCIMInvalidSyntax, "must be a JSON object"},
		{`[]`, scimflow.SCIMInvalidSyntax, "must be a JSON object"},
		{`null`, scimflow.SCIMInvalidSyntax, "must be a JSON object"},
		{`{` + schemas + `,"Operations":[{"op":"add","path":"title","value":"x"}]} {}`, scimflow.SCIMInvalidSyntax, "exactly one JSON object"},
		{`{"Operations":[{"op":"add","path":"title","value":"x"}]}`, scimflow.SCIMInvalidSyntax, `"schemas" must contain`},
		{`{"schemas":"urn:ietf:params:scim:api:messages:2.0:PatchOp","Operations":[{"op":"add","path":"title","value":"x"}]}`, scimflow.SCIMInvalidSyntax, `"schemas" must contain`},
		{`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"add","path":"title","value":"x"}]}`, scimflow.SCIMInvalidSyntax, `"schemas" must contain`},
		{`{` + schemas + `}`, scimflow.SCIMInvalidSyntax, `"Operations" must be an array`},
		{`{` + schemas + `,"Operations":[]}`, scimflow.SCIMInvalidSyntax, `one or more operations`},
		{`{` + schemas + `,"Operations":{"op":"add"}}`, scimflow.SCIMInvalidSyntax, `"Operations" must be an array`},
		{`{` + schemas + `,"Operations":[],"operations":[]}`, scimflow.SCIMInvalidSyntax, `given more than once`},
		{`{` + schemas + `,"Operations":["add"]}`, scimflow.SCIMInvalidSyntax, `Operations[0]: an operation must be an object`},
		{`{` + schemas + `,"Operations":[{"op":"add","path":"title","value":"x"},{"op":"move","path":"title"}]}`, scimflow.SCIMInvalidSyntax, `Operations[1]: "op" must be`},
		{`{` + schemas + `,"Operations":[{"path":"title","value":"x"}]}`, scimflow.SCIMInvalidSyntax, `"op" must be`},
		{`{` + schemas + `,"Operations":[{"op":"add","Op":"remove","path":"title","value":"x"}]}`, scimflow.SCIMInvalidSyntax, `given more than once`},
		{`{` + schemas + `,"Operations":[{"op":"add","path":7,"value":"x"}]}`, scimflow.SCIMInvalidPath, `"path" must be a string`},
		{`{` + schemas + `,"Operations":[{"op":"add","path":"emails[type eq","value":"x"}]}`, scimflow.SCIMInvalidPath, `Operations[0]: invalid path`},
		{`{` + schemas + `,"Operations":[{"op":"remove"}]}`, scimflow.SCIMNoTarget, `needs a "path"`},
		{`{` + schemas + `,"Operations":[{"op":"Remove","path":" "}]}`, scimflow.SCIMNoTarget, `needs a "path"`},
		{`{` + schemas + `,"Operations":[{"op":"add","path":"title"}]}`, scimflow.SCIMInvalidValue, `an "add" or "replace" operation needs a "value"`},
		{`{` + schemas + `,"Operations":[{"op":"Replace"}]}`, scimflow.SCIMInvalidValue, `a "value"`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.body))
		var e *scimflow.Error
		if !errors.As(err, &e) || e.SCIMType != tt.scimType || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("Parse(%s) = %v, want %s error containing %q", tt.body, err, tt.scimType, tt.msg)
		}
	}
}
