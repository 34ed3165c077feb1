package schema

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/internal/scimflow"
)

func TestValueLimits(t *testing.T) {
	for _, rt := range ResourceTypes() {
		core, exts := rt.schemas()
		for _, s := range append(exts, core) {
			for _, a := range s.Attributes {
				if !a.MultiValued {
					continue
				}
				want := MaxValuesPerAttribute
				if rt.ID == "Group" && a.Name == "members" {
					want = MaxMembersPerOperation
				}
				if got := a.ValueLimit(); got != want {
					t.Errorf("%s.%s: ValueLimit() = %d, want %d", rt.ID, a.Name, got, want)
				}
			}
		}
	}
}

// TestNormalizeValueLimits checks that POST and PUT bodies (Normalize)
// and PATCH values (NormalizeValue) are refused with more values than an
// attribute's limit.
func TestNormalizeValueLimits(t *testing.T) {
	objects := func(n int) string {
		els := make([]string, n)
		for i := range els {
			els[i] = fmt.Sprintf(`{"value":"v%d"}`, i)
		}
		return "[" + strings.Join(els, ",") + "]"
	}
	tests := []struct {
		rt   ResourceType
		attr string
		n    int
		msg  string // "" when Normalize succeeds
	}{
		{UserResourceType, "emails", MaxValuesPerAttribute, ""},
		{UserResourceType, "emails", MaxValuesPerAttribute + 1, `attribute "emails" has 101 values; at most 100 are allowed`},
		{UserResourceType, "PHONENUMBERS", MaxValuesPerAttribute + 1, `attribute "phoneNumbers" has 101 values`},
		{UserResourceType, "ims", MaxValuesPerAttribute + 1, `attribute "ims" has 101 values`},
		{UserResourceType, "photos", MaxValuesPerAttribute + 1, `attribute "photos" has 101 values`},
		{UserResourceType, "addresses", MaxValuesPerAttribute + 1, `attribute "addresses" has 101 values`},
		{UserResourceType, "entitlements", MaxValuesPerAttribute + 1, `attribute "entitlements" has 101 values`},
		{UserResourceType, "roles", MaxValuesPerAttribute + 1, `attribute "roles" has 101 values`},
		{UserResourceType, "urn:ietf:params:scim:schemas:core:2.0:User:x509Certificates", MaxValuesPerAttribute + 1, `attribute "x509Certificates" has 101 values`},
		{UserResourceType, "groups", MaxMembersPerOperation + 1, ""}, // read-only: dropped unread
		{GroupResourceType, "members", MaxMembersPerOperation, ""},
		{GroupResourceType, "members", MaxMembersPerOperation + 1, `attribute "members" has 10001 values; at most 10000 are allowed`},
	}
	for _, tt := range tests {
		in := `{"userName":"u","displayName":"g","` + tt.attr + `":` + objects(tt.n) + `}`
		got, err := Normalize(decode(t, in), tt.rt)
		if tt.msg == "" {
			if err != nil {
				t.Errorf("Normalize(%s with %d %s) error: %v", tt.rt.ID, tt.n, tt.attr, err)
			}
			continue
		}
		var e *scimflow.Error
		if !errors.As(err, &e) || e.SCIMType != scimflow.SCIMInvalidValue || !strings.Contains(e.Message, tt.msg) || got != nil {
			t.Errorf("Normalize(%s with %d %s) = %v, want invalidValue %q", tt.rt.ID, tt.n, tt.attr, err, tt.msg)
		}
	}

	emails := User.Attribute("emails")
	v := decode(t, `{"emails":`+objects(MaxValuesPerAttribute+1)+`}`)["emails"]
	if _, err := NormalizeValue(*emails, "emails", v); err == nil {
		t.Errorf("NormalizeValue(emails, %d values) succeeded, want an error", MaxValuesPerAttribute+1)
	}
}
