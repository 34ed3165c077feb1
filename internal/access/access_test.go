package access

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scimflow"
)

func TestEffective(t *testing.T) {
	maps := []scimflow.Mapping{
		{GroupID: "eng", EntryPointID: "flows", Role: "contributor"},
		{GroupID: "eng", EntryPointID: "reports", Role: "viewer"},
		{GroupID: "leads", EntryPointID: "flows", Role: "approver"},
		{GroupID: "leads", EntryPointID: "admin-console", Role: "admin"},
		{GroupID: "auditors", EntryPointID: "reports", Role: "reporter"},
		{GroupID: "twins", EntryPointID: "flows", Role: "Approver"}, // ties with leads; names are case-insensitive
		{GroupID: "eng", EntryPointID: "flows", Role: "owner"},      // unknown: grants nothing
	}
	tests := []struct {
		name   string
		active bool
		groups []string
		want   map[string]Role
	}{
		{"no groups", true, nil, map[string]Role{}},
		{"one group", true, []string{"eng"}, map[string]Role{"flows": Contributor, "reports": Viewer}},
		{"highest wins", true, []string{"eng", "leads"}, map[string]Role{"flows": Approver, "reports": Viewer, "admin-console": Admin}},
		{"order does not matter", true, []string{"leads", "eng"}, map[string]Role{"flows": Approver, "reports": Viewer, "admin-console": Admin}},
		{"tie", true, []string{"leads", "twins"}, map[string]Role{"flows": Approver, "admin-console": Admin}},
		{"per entry point", true, []string{"eng", "auditors"}, map[string]Role{"flows": Contributor, "reports": Reporter}},
		{"unmapped group", true, []string{"nobody-maps-me"}, map[string]Role{}},
		{"deactivated", false, []string{"eng", "leads"}, map[string]Role{}},
		{"duplicate membership", true, []string{"eng", "eng"}, map[string]Role{"flows": Contributor, "reports": Viewer}},
	}
	for _, tt := range tests {
		got := Effective(tt.active, tt.groups, maps)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Effective(%s) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestRoles(t *testing.T) {
	for i, r := range Roles() {
		p, ok := ParseRole(r.String())
		if !ok || p != r {
			t.Errorf("ParseRole(%q) = %v, %v; want %v", r.String(), p, ok, r)
		}
		if i > 0 && !(r > Roles()[i-1]) {
			t.Errorf("roles not ordered at %v", r)
		}
	}
	if _, ok := ParseRole("owner"); ok {
		t.Errorf("ParseRole(owner) succeeded")
	}
	if r, ok := ParseRole("APPROVER"); !ok || r != Approver {
		t.Errorf("ParseRole(APPROVER) = %v, %v", r, ok)
	}
}
