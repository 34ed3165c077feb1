// Package access holds the pure rules of entry point access: the ordered
// roles and how a user's effective role is derived from their group
// memberships and the groups' mappings. The SQL that materialises
// effective roles (internal/store) mirrors Effective exactly; a property
// test compares the two.
package access

import (
	"fmt"
	"strings"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// Role is an entry point role. Roles are ordered: each includes every
// permission of the roles below it. The zero Role is "no access".
type Role int

// The roles, lowest first.
const (
	None Role = iota
	Viewer
	Contributor
	Reporter
	Approver
	Admin
)

var names = [...]string{"", "viewer", "contributor", "reporter", "approver", "admin"}

// Roles lists the roles, lowest first.
func Roles() []Role { return []Role{Viewer, Contributor, Reporter, Approver, Admin} }

// String returns the role's API name ("approver"); "" for None.
func (r Role) String() string {
	if r < None || r > Admin {
		return fmt.Sprintf("Role(%d)", int(r))
	}
	return names[r]
}

// Title returns the role's display name ("Approver").
func (r Role) Title() string {
	s := r.String()
	if s == "" {
		return "No access"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Allows describes what the role adds to the roles below it.
func (r Role) Allows() string {
	switch r {
	case Viewer:
		return "View and navigate the entry point's flows."
	case Contributor:
		return "Everything a Viewer can do, plus create change requests."
	case Reporter:
		return "Everything a Contributor can do, plus view reports."
	case Approver:
		return "Everything a Reporter can do, plus approve change requests."
	case Admin:
		return "Full control of the entry point, including its members."
	}
	return ""
}

// ParseRole parses an API role name, case-insensitively.
func ParseRole(s string) (Role, bool) {
	for i, n := range names[1:] {
		if strings.EqualFold(s, n) {
			return Role(i + 1), true
		}
	}
	return None, false
}

// Effective returns a user's effective role per entry point: for each
// entry point, the highest role over the mappings of every group the user
// is a member of. An inactive (deactivated) user has no access at all; an
// entry point no group maps has no entry in the result, and a mapping
// with an unknown role grants nothing.
func Effective(active bool, groupIDs []string, mappings []scimflow.Mapping) map[string]Role {
	out := map[string]Role{}
	if !active {
		return out
	}
	member := make(map[string]bool, len(groupIDs))
	for _, g := range groupIDs {
		member[g] = true
	}
	for _, m := range mappings {
		r, _ := ParseRole(m.Role)
		if member[m.GroupID] && r > out[m.EntryPointID] {
			out[m.EntryPointID] = r
		}
	}
	return out
}
