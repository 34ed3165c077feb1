package patch

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// array returns a JSON array of n elements, element(i) for each i.
func array(n int, element func(i int) string) string {
	els := make([]string, n)
	for i := range els {
		els[i] = element(i)
	}
	return "[" + strings.Join(els, ",") + "]"
}

func emailJSON(i int) string  { return fmt.Sprintf(`{"value":"u%d@example.com"}`, i) }
func memberJSON(i int) string { return fmt.Sprintf(`{"value":"m%d"}`, i) }

// addsOneByOne returns a request with n operations, each adding one email.
func addsOneByOne(n int) string {
	ops := make([]string, n)
	for i := range ops {
		ops[i] = `{"op":"add","path":"emails","value":` + emailJSON(i) + `}`
	}
	return req(ops...)
}

func userWith(attr string, n int, element func(int) string) string {
	return `{` + coreURN + `,"id":"u1","userName":"bjensen","` + attr + `":` + array(n, element) + `}`
}

func groupWith(n int) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"G","members":` + array(n, memberJSON) + `}`
}

func TestParseValueLimits(t *testing.T) {
	const (
		maxV = schema.MaxValuesPerAttribute
		maxM = schema.MaxMembersPerOperation
	)
	tests := []struct {
		name string
		body string
		msg  string // "" when Parse succeeds
	}{
		{"add of the most emails", req(`{"op":"add","path":"emails","value":` + array(maxV, emailJSON) + `}`), ""},
		{"add of one email too many", req(`{"op":"add","path":"emails","value":` + array(maxV+1, emailJSON) + `}`),
			fmt.Sprintf(`Operations[0]: attribute "emails" has %d values; at most %d are allowed`, maxV+1, maxV)},
		{"second operation", req(`{"op":"add","path":"title","value":"x"},{"op":"Replace","path":"PhoneNumbers","value":` + array(maxV+1, emailJSON) + `}`),
			fmt.Sprintf(`Operations[1]: attribute "phoneNumbers" has %d values`, maxV+1)},
		{"path-less value", req(`{"op":"add","value":{"title":"x","roles":` + array(maxV+1, emailJSON) + `}}`),
			`attribute "roles" has 101 values`},
		{"path-less value with the core URN", req(`{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User:addresses":` + array(maxV+1, emailJSON) + `}}`),
			`attribute "addresses" has 101 values`},
		{"remove of listed values", req(`{"op":"remove","path":"entitlements","value":` + array(maxV+1, emailJSON) + `}`),
			`attribute "entitlements" has 101 values`},
		{"a filtered path takes one value", req(`{"op":"add","path":"emails[type eq \"work\"]","value":` + array(maxV+1, emailJSON) + `}`), ""},
		{"an echoed read-only attribute is ignored", req(`{"op":"replace","value":{"userName":"u","groups":` + array(maxV+1, memberJSON) + `}}`), ""},
		{"unknown attributes are Apply's", req(`{"op":"add","path":"favourites","value":` + array(maxV+1, emailJSON) + `}`), ""},
		{"add of the most members", req(`{"op":"add","path":"members","value":` + array(maxM, memberJSON) + `}`), ""},
		{"add of one member too many", req(`{"op":"add","path":"members","value":` + array(maxM+1, memberJSON) + `}`),
			fmt.Sprintf(`Operations[0]: attribute "members" has %d values; at most %d are allowed`, maxM+1, maxM)},
		{"remove of one member too many", req(`{"op":"remove","path":"members","value":` + array(maxM+1, memberJSON) + `}`),
			`attribute "members" has 10001 values`},
		{"path-less replace of members", req(`{"op":"replace","value":{"displayName":"G","members":` + array(maxM+1, memberJSON) + `}}`),
			`attribute "members" has 10001 values`},
		{"the most members in each of two operations", req(
			`{"op":"add","path":"members","value":`+array(maxM, memberJSON)+`}`,
			`{"op":"remove","path":"members","value":`+array(maxM, memberJSON)+`}`), ""},
		{"too many operations", `{"schemas":["` + PatchOpURN + `"],"Operations":` +
			array(MaxOperations+1, func(int) string { return `{"op":"add","path":"title","value":"x"}` }) + `}`,
			fmt.Sprintf(`"Operations" has %d operations; at most %d are allowed`, MaxOperations+1, MaxOperations)},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.body))
		if tt.msg == "" {
			if err != nil {
				t.Errorf("%s: Parse error: %v", tt.name, err)
			}
			continue
		}
		var e *scimflow.Error
		if !errors.As(err, &e) || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s: Parse = %v, want an error containing %q", tt.name, err, tt.msg)
		}
	}
}

// TestApplyValueLimits checks the values an operation leaves, which
// Parse cannot know.
func TestApplyValueLimits(t *testing.T) {
	const maxV = schema.MaxValuesPerAttribute
	full := userWith("emails", maxV, emailJSON)
	tests := []struct {
		name  string
		rt    schema.ResourceType
		doc   string
		body  string
		count int    // values of attr after Apply, when it succeeds
		msg   string // "" when Apply succeeds
	}{
		{name: "add of one more", doc: full, body: req(`{"op":"add","path":"emails","value":{"value":"new@example.com"}}`),
			msg: `Operations[0]: attribute "emails" would have 101 values; at most 100 are allowed`},
		{name: "path-less add of one more", doc: full, body: req(`{"op":"add","value":{"emails":[{"value":"new@example.com"}]}}`),
			msg: `attribute "emails" would have 101 values`},
		{name: "add of a value there already", doc: full, body: req(`{"op":"add","path":"emails","value":` + emailJSON(7) + `}`), count: maxV},
		{name: "filtered add creating a value", doc: full, body: req(`{"op":"add","path":"emails[type eq \"work\"].value","value":"w@example.com"}`),
			msg: `attribute "emails" would have 101 values`},
		{name: "adds one by one", doc: bare, body: addsOneByOne(maxV + 1),
			msg: `Operations[100]: attribute "emails" would have 101 values`},
		{name: "replace by the most", doc: full, body: req(`{"op":"replace","path":"emails","value":` + array(maxV, func(i int) string { return emailJSON(i + 1000) }) + `}`), count: maxV},
		{name: "remove and add in one request", doc: full,
			body:  req(`{"op":"remove","path":"emails[value eq \"u0@example.com\"]"}`, `{"op":"add","path":"emails","value":{"value":"new@example.com"}}`),
			count: maxV},
		{name: "an echoed read-only attribute is ignored", doc: full,
			body: req(`{"op":"replace","value":{"userName":"bjensen","groups":` + array(maxV+1, memberJSON) + `}}`), count: maxV},
		{name: "group: one more member than one operation may add", rt: schema.GroupResourceType, doc: groupWith(schema.MaxMembersPerOperation),
			body: req(`{"op":"add","path":"members","value":{"value":"new"}}`), msg: `attribute "members" would have 10001 values`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := tt.rt
			if rt.ID == "" {
				rt = schema.UserResourceType
			}
			ops, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			got, err := Apply(decode(t, tt.doc), ops, rt)
			if tt.msg != "" {
				var e *scimflow.Error
				if !errors.As(err, &e) || e.SCIMType != scimflow.SCIMInvalidValue || !strings.Contains(e.Message, tt.msg) {
					t.Fatalf("Apply = %v, want an invalidValue error containing %q", err, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply error: %v", err)
			}
			attr := "emails"
			if rt.ID == "Group" {
				attr = "members"
			}
			if n := len(got[attr].([]any)); n != tt.count {
				t.Errorf("Apply left %d %s, want %d", n, attr, tt.count)
			}
		})
	}
}

// TestApplyMergesByKey adds 100 new values, and values already there, to
// 100 values: the merge keys values instead of comparing each with each,
// and must still find exactly the values sameValue names the same.
func TestApplyMergesByKey(t *testing.T) {
	const n = 100
	add := array(n, func(i int) string { return memberJSON(n + i) })
	add = strings.TrimSuffix(add, "]") + `,` +
		memberJSON(3) + `,` + // identical
		`{"value":"M4","display":"other"}` + `,` + // members are identified by value, without case
		memberJSON(n+5) + `]` // added by this very operation
	ops, err := Parse([]byte(req(`{"op":"add","path":"members","value":` + add + `}`)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Apply(decode(t, groupWith(n)), ops, schema.GroupResourceType)
	if err != nil {
		t.Fatalf("Apply error: %v", err)
	}
	want := decode(t, groupWith(2*n))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Apply mismatch (-want +got):\n%s", diff)
	}

	// Emails are the same only when equal: another case is another value.
	ops, err = Parse([]byte(req(`{"op":"add","path":"emails","value":[` +
		emailJSON(1) + `,{"value":"U2@example.com"},{"value":"u3@example.com","type":"work"}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	got, err = Apply(decode(t, userWith("emails", 4, emailJSON)), ops, schema.UserResourceType)
	if err != nil {
		t.Fatalf("Apply error: %v", err)
	}
	wantEmails := decode(t, `{"emails":[`+emailJSON(0)+`,`+emailJSON(1)+`,`+emailJSON(2)+`,`+emailJSON(3)+
		`,{"value":"U2@example.com"},{"value":"u3@example.com","type":"work"}]}`)["emails"]
	if diff := cmp.Diff(wantEmails, got["emails"]); diff != "" {
		t.Errorf("Apply emails mismatch (-want +got):\n%s", diff)
	}
}

// Pairwise definitions of "the same value" and "a listed value", as Apply
// once computed them; the keyed sets must agree with them.

func sameValuePairwise(a *schema.Attribute, x, y any) bool {
	if reflect.DeepEqual(x, y) {
		return true
	}
	sub := a.SubAttribute("value")
	if sub == nil || sub.Mutability != schema.MutabilityImmutable {
		return false
	}
	xm, _ := x.(map[string]any)
	ym, _ := y.(map[string]any)
	xv, ok := xm["value"]
	return ok && equalValuePairwise(sub, xv, ym["value"])
}

func containsPairwise(a *schema.Attribute, x, want any) bool {
	w, ok := want.(map[string]any)
	if !ok {
		return equalValuePairwise(a, x, want)
	}
	m, ok := x.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range w {
		sub := a.SubAttribute(k)
		if sub == nil || !equalValuePairwise(sub, m[k], wv) {
			return false
		}
	}
	return true
}

func equalValuePairwise(a *schema.Attribute, x, y any) bool {
	xs, ok1 := x.(string)
	ys, ok2 := y.(string)
	if ok1 && ok2 && !a.CaseExact {
		return strings.EqualFold(xs, ys)
	}
	return reflect.DeepEqual(x, y)
}

func TestKeyedSetsAgreeWithPairwise(t *testing.T) {
	values := []any{
		nil, true, false, "", "a", "A", "ß", "SS", "K", "\u212a", "\xff", "\ufffd",
		json.Number("1"), json.Number("1.0"), "1", 1.0, math.Copysign(0, -1), 0.0,
		map[string]any(nil), map[string]any{}, []any(nil), []any{},
		[]any{"a"}, []any{"a", "b"}, []any{"ab"},
		map[string]any{"value": nil},
		map[string]any{"value": "u1"},
		map[string]any{"value": "U1"},
		map[string]any{"value": "u1", "display": "x"},
		map[string]any{"value": "u1", "display": "X"},
		map[string]any{"Value": "u1"},
		map[string]any{"display": "x"},
		map[string]any{"value": json.Number("1")},
		map[string]any{"value": "1"},
		map[string]any{"value": "u1", "primary": true},
		map[string]any{"value": "u1", "primary": "true"},
		map[string]any{"value": "u1", "nonsense": "x"},
		map[string]any{"value": []any{"u1"}},
		map[string]any{"value": map[string]any{"value": "u1"}},
		map[string]any{"a:": "b"},
		map[string]any{"a": ":b"},
	}
	for _, name := range []string{"emails", "members"} {
		var a *schema.Attribute
		for _, s := range []*schema.Schema{&schema.User, &schema.Group} {
			if at := s.Attribute(name); at != nil {
				a = at
			}
		}
		simple := *a
		simple.Type, simple.SubAttributes = schema.TypeString, nil
		for _, a := range []*schema.Attribute{a, &simple} {
			for _, x := range values {
				set := newValueSet(a, []any{x})
				for _, y := range values {
					if got, want := set.has(y), sameValuePairwise(a, x, y); got != want {
						t.Errorf("%s: valueSet{%#v}.has(%#v) = %v, want %v", a.Name, x, y, got, want)
					}
					listed := newListedSet(a, []any{y})
					if got, want := listed.has(x), containsPairwise(a, x, y); got != want {
						t.Errorf("%s: listedSet{%#v}.has(%#v) = %v, want %v", a.Name, y, x, got, want)
					}
				}
			}
		}
	}
}
