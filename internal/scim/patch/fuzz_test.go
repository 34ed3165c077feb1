package patch

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// FuzzApply parses random PATCH bodies and applies them to stored
// documents. Properties: nothing panics; the input document is never
// modified; errors are client-safe *scimflow.Error values with a scimType;
// a result keeps the server-managed attributes and is in normal form.
//
// The seed corpus (the bodies of TestApply and a few oddities) runs in
// every `go test`; `go test -fuzz FuzzApply` explores further.
func FuzzApply(f *testing.F) {
	for _, tt := range applyTests {
		f.Add(tt.body)
	}
	for _, body := range []string{
		req(`{"op":"add","path":"emails[type eq \"work\" and primary eq true].value","value":"x"}`),
		req(`{"op":"replace","path":"members[value eq \"u1\"]","value":{"value":"u1","display":"B"}}`),
		req(`{"op":"remove","path":"members[not (value eq \"u1\")]"}`),
		req(`{"op":"add","path":"members","value":{"value":"u7"}}`),
		req(`{"op":"replace","path":"x509Certificates[value eq \"AAAA\"].value","value":"BBBB"}`),
		req(`{"op":"replace","path":"addresses[type eq \"work\"]","value":null}`),
		req(`{"op":"add","value":{"` + ent + `":{"manager":{"value":"m","displayName":"x"}},"emails":{"value":"s"}}}`),
		req(`{"op":"replace","path":"` + ent + `","value":null}`),
		req(`{"op":"replace","value":{"meta":{"version":"W/\"1\""}}}`),
		req(`{"op":"add","path":"members[value eq 1].display","value":"x"}`),
		req(`{"op":"add","path":"emails[primary eq \"true\"].value","value":"x"}`),
	} {
		f.Add(body)
	}
	docs := []struct {
		rt  schema.ResourceType
		doc string
	}{
		{schema.UserResourceType, bjensen},
		{schema.UserResourceType, `{` + bothURN + `,"id":"u1","userName":"bjensen","externalId":"e1",` +
			`"addresses":[{"type":"work","locality":"Hollywood","primary":true}],"x509Certificates":[{"value":"AAAA"}],` +
			`"` + ent + `":{"employeeNumber":"1","manager":{"value":"m1"}}}`},
		{schema.GroupResourceType, group},
	}
	f.Fuzz(func(t *testing.T, body string) {
		ops, err := Parse([]byte(body))
		if err != nil {
			checkError(t, err)
			return
		}
		for _, d := range docs {
			doc := decode(t, d.doc)
			got, err := Apply(doc, ops, d.rt)
			if diff := cmp.Diff(decode(t, d.doc), doc); diff != "" {
				t.Fatalf("Apply(%s) modified its input (-before +after):\n%s", body, diff)
			}
			if err != nil {
				checkError(t, err)
				if got != nil {
					t.Fatalf("Apply(%s) = %v, %v, want nil result with the error", body, got, err)
				}
				continue
			}
			for _, k := range []string{"id", "meta"} {
				if diff := cmp.Diff(doc[k], got[k]); diff != "" {
					t.Fatalf("Apply(%s) changed %q (-before +after):\n%s", body, k, diff)
				}
			}
			checkNormal(t, got, d.rt)
		}
	})
}

func checkError(t *testing.T, err error) {
	t.Helper()
	var e *scimflow.Error
	if !errors.As(err, &e) || e.SCIMType == "" || e.Code != scimflow.EINVALID {
		t.Fatalf("error %#v is not an invalid-request *scimflow.Error with a scimType", err)
	}
}
