package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scim/patch"
	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

func decodeJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %.200s: %v", s, err)
	}
	return m
}

// array returns a JSON array of n objects {"value": "<prefix><i>"}.
func array(prefix string, n int) string {
	els := make([]string, n)
	for i := range els {
		els[i] = fmt.Sprintf(`{"value":"%s%d"}`, prefix, i)
	}
	return "[" + strings.Join(els, ",") + "]"
}

func patchBody(ops ...string) string {
	return `{"schemas":["` + PatchOpURN + `"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// The surfaces below are what the API runs before it touches the store,
// except patchUser, whose Apply runs inside the store's transaction.

// decodeUserBody is POST and PUT /Users.
func decodeUserBody(t *testing.T, body string) error {
	norm, err := schema.Normalize(decodeJSON(t, body), schema.UserResourceType)
	if err != nil {
		return err
	}
	_, err = DecodeUser(norm)
	return err
}

// decodeGroupBody is POST and PUT /Groups.
func decodeGroupBody(t *testing.T, body string) error {
	raw := decodeJSON(t, body)
	norm, err := schema.Normalize(raw, schema.GroupResourceType)
	if err != nil {
		return err
	}
	_, _, _, err = DecodeGroup(norm, raw)
	return err
}

// patchUser is PATCH /Users/{id} on a user with n emails.
func patchUser(n int) func(t *testing.T, body string) error {
	return func(t *testing.T, body string) error {
		ops, err := patch.Parse([]byte(body))
		if err != nil {
			return err
		}
		u := &scimflow.User{ID: "u1", UserName: "bjensen"}
		for i := range n {
			u.Emails = append(u.Emails, scimflow.MultiValue{Value: fmt.Sprintf("e%d", i)})
		}
		doc, err := patch.Apply(EncodeUser(u, "https://example.com/scim/v2"), ops, schema.UserResourceType)
		if err != nil {
			return err
		}
		return decodeUserBody(t, mustJSON(t, doc))
	}
}

// patchGroup is PATCH /Groups/{id} up to the store.
func patchGroup(t *testing.T, body string) error {
	ops, err := patch.Parse([]byte(body))
	if err != nil {
		return err
	}
	_, err = SplitGroupPatch(ops)
	return err
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLimits(t *testing.T) {
	const (
		user  = `"schemas":["` + UserURN + `"],"userName":"bjensen"`
		group = `"schemas":["` + GroupURN + `"],"displayName":"Tour Guides"`
	)
	tests := []struct {
		name    string
		surface func(t *testing.T, body string) error
		body    string
		msg     string // "" when the request is accepted
	}{
		{"User POST, the most emails", decodeUserBody, `{` + user + `,"emails":` + array("e", MaxValuesPerAttribute) + `}`, ""},
		{"User POST, one email too many", decodeUserBody, `{` + user + `,"emails":` + array("e", MaxValuesPerAttribute+1) + `}`,
			`attribute "emails" has 101 values; at most 100 are allowed`},
		{"User PUT, one role too many", decodeUserBody, `{` + user + `,"id":"u1","roles":` + array("r", MaxValuesPerAttribute+1) + `}`,
			`attribute "roles" has 101 values; at most 100 are allowed`},
		{"User PATCH, one operation adding one email too many", patchUser(0),
			patchBody(`{"op":"add","path":"emails","value":` + array("n", MaxValuesPerAttribute+1) + `}`),
			`Operations[0]: attribute "emails" has 101 values; at most 100 are allowed`},
		{"User PATCH, an add making 101 emails", patchUser(MaxValuesPerAttribute),
			patchBody(`{"op":"add","path":"emails","value":[{"value":"new"}]}`),
			`Operations[0]: attribute "emails" would have 101 values; at most 100 are allowed`},
		{"User PATCH, an add of an email already there", patchUser(MaxValuesPerAttribute),
			patchBody(`{"op":"add","path":"emails","value":[{"value":"e7"}]}`), ""},
		{"User PATCH, a path-less replace of 101 phone numbers", patchUser(0),
			patchBody(`{"op":"replace","value":{"phoneNumbers":` + array("p", MaxValuesPerAttribute+1) + `}}`),
			`Operations[0]: attribute "phoneNumbers" has 101 values`},
		{"Group POST, the most members", decodeGroupBody, `{` + group + `,"members":` + array("m", MaxMembersPerOperation) + `}`, ""},
		{"Group POST, one member too many", decodeGroupBody, `{` + group + `,"members":` + array("m", MaxMembersPerOperation+1) + `}`,
			`attribute "members" has 10001 values; at most 10000 are allowed`},
		{"Group PUT, one member too many", decodeGroupBody, `{` + group + `,"id":"g1","meta":{"resourceType":"Group"},"members":` + array("m", MaxMembersPerOperation+1) + `}`,
			`attribute "members" has 10001 values; at most 10000 are allowed`},
		{"Group PATCH, the most members in each of two operations", patchGroup,
			patchBody(`{"op":"add","path":"members","value":`+array("a", MaxMembersPerOperation)+`}`,
				`{"op":"add","path":"members","value":`+array("b", MaxMembersPerOperation)+`}`), ""},
		{"Group PATCH, an add of one member too many", patchGroup,
			patchBody(`{"op":"add","path":"members","value":[]}`, `{"op":"add","path":"members","value":`+array("m", MaxMembersPerOperation+1)+`}`),
			`Operations[1]: attribute "members" has 10001 values; at most 10000 are allowed`},
		{"Group PATCH, a remove of one member too many", patchGroup,
			patchBody(`{"op":"Remove","path":"members","value":` + array("m", MaxMembersPerOperation+1) + `}`),
			`Operations[0]: attribute "members" has 10001 values`},
		{"Group PATCH, a path-less replace with one member too many", patchGroup,
			patchBody(`{"op":"replace","value":{"displayName":"x","members":` + array("m", MaxMembersPerOperation+1) + `}}`),
			`Operations[0]: attribute "members" has 10001 values`},
	}
	for _, tt := range tests {
		err := tt.surface(t, tt.body)
		if tt.msg == "" {
			if err != nil {
				t.Errorf("%s: error %v, want none", tt.name, err)
			}
			continue
		}
		var e *scimflow.Error
		if !errors.As(err, &e) || e.Code != scimflow.EINVALID || e.SCIMType != scimflow.SCIMInvalidValue || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s: error %v, want invalidValue %q", tt.name, err, tt.msg)
		}
	}
}

// TestSplitGroupPatchLimit checks SplitGroupPatch on its own: operations
// need not come from patch.Parse.
func TestSplitGroupPatchLimit(t *testing.T) {
	path := func(s string) *filter.Path {
		p, err := filter.ParsePath(s)
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	members := func(n int) []any {
		m := make([]any, n)
		for i := range m {
			m[i] = map[string]any{"value": fmt.Sprint("m", i)}
		}
		return m
	}
	tests := []struct {
		name string
		op   patch.Operation
		ok   bool
	}{
		{"add of the most", patch.Operation{Op: patch.OpAdd, Path: path("members"), Value: members(MaxMembersPerOperation), HasValue: true}, true},
		{"add", patch.Operation{Op: patch.OpAdd, Path: path("members"), Value: members(MaxMembersPerOperation + 1), HasValue: true}, false},
		{"replace", patch.Operation{Op: patch.OpReplace, Path: path("members"), Value: members(MaxMembersPerOperation + 1), HasValue: true}, false},
		{"remove", patch.Operation{Op: patch.OpRemove, Path: path("members"), Value: members(MaxMembersPerOperation + 1), HasValue: true}, false},
		{"path-less", patch.Operation{Op: patch.OpAdd, Value: map[string]any{"MEMBERS": members(MaxMembersPerOperation + 1)}, HasValue: true}, false},
	}
	for _, tt := range tests {
		gp, err := SplitGroupPatch([]patch.Operation{tt.op})
		if tt.ok {
			if err != nil || len(gp.Members) != 1 || len(gp.Members[0].UserIDs) != MaxMembersPerOperation {
				t.Errorf("%s: SplitGroupPatch = %+v, %v, want one operation of %d members", tt.name, gp.Members, err, MaxMembersPerOperation)
			}
			continue
		}
		var e *scimflow.Error
		want := `Operations[0]: attribute "members" has 10001 values; at most 10000 are allowed`
		if !errors.As(err, &e) || e.SCIMType != scimflow.SCIMInvalidValue || e.Message != want {
			t.Errorf("%s: SplitGroupPatch error = %v, want %q", tt.name, err, want)
		}
	}
}

func TestServiceProviderConfigLimits(t *testing.T) {
	spc := ServiceProviderConfig("https://example.com/scim/v2", "https://example.com/docs")
	if got := spc["maxRequestBodyBytes"]; got != MaxBodyBytes {
		t.Errorf(`ServiceProviderConfig()["maxRequestBodyBytes"] = %v, want %d`, got, MaxBodyBytes)
	}
	want := map[string]any{
		"maxRequestBodyBytes":    MaxBodyBytes,
		"maxResults":             MaxResults,
		"maxPatchOperations":     MaxOperations,
		"maxValuesPerAttribute":  100,
		"maxMembersPerOperation": 10000,
	}
	got, _ := spc["limits"].(map[string]any)
	for k, v := range want {
		if got[k] != v {
			t.Errorf(`ServiceProviderConfig()["limits"][%q] = %v, want %v`, k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf(`ServiceProviderConfig()["limits"] = %v, want %v`, got, want)
	}
}
