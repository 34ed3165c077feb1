package schema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// FuzzNormalize normalizes random client documents. Properties: nothing
// panics; the input is never modified; errors are invalidValue
// *scimflow.Error values; a result is its own normal form.
func FuzzNormalize(f *testing.F) {
	for _, tt := range normalizeTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		dec := json.NewDecoder(strings.NewReader(in))
		dec.UseNumber()
		var doc map[string]any
		if dec.Decode(&doc) != nil {
			return
		}
		for _, rt := range ResourceTypes() {
			got, err := Normalize(doc, rt)
			if diff := cmp.Diff(decode(t, in), doc); diff != "" {
				t.Fatalf("Normalize modified its input (-before +after):\n%s", diff)
			}
			if err != nil {
				var e *scimflow.Error
				if !errors.As(err, &e) || e.SCIMType != scimflow.SCIMInvalidValue {
					t.Fatalf("Normalize(%s) error %#v is not an invalidValue *scimflow.Error", in, err)
				}
				continue
			}
			again, err := Normalize(got, rt)
			if err != nil {
				t.Fatalf("Normalize(Normalize(%s)) error: %v", in, err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Fatalf("Normalize is not idempotent on %s (-once +twice):\n%s", in, diff)
			}
		}
	})
}
