package scimflow

import "time"

// EntryPoint is a resource inside an org that users get access to.
type EntryPoint struct {
	ID        string
	OrgID     string
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Mapping grants Role on an entry point to the members of a group.
type Mapping struct {
	GroupID        string
	EntryPointID   string
	EntryPointName string
	Role           string // viewer, contributor, reporter, approver or admin
}

// GroupSummary is a group as the admin list shows it.
type GroupSummary struct {
	Group
	MemberCount  int
	MappingCount int
}

// Grant says why a user has a role: a group they are an active member of,
// mapped to the entry point with Role.
type Grant struct {
	GroupID   string
	GroupName string
	Role      string
}

// Access is a user's effective role on one entry point and its grants.
type Access struct {
	EntryPoint EntryPoint
	Role       string
	Grants     []Grant
}

// EntryPointMember is a user who can reach an entry point.
type EntryPointMember struct {
	UserID      string
	UserName    string
	DisplayName string
	Role        string
}

// EntryPointUsage says who an entry point serves: how many users hold an
// effective role on it (and lose access when it is deleted), and which
// groups map it, with their roles.
type EntryPointUsage struct {
	Users  int
	Grants []Grant
}

// Impact is what a mapping change would do to the effective roles of a
// group's members (the preview of Update Group).
type Impact struct {
	Members       int64 // members of the group, active or not
	UsersAffected int64 // distinct users whose effective role changes on at least one entry point
	EntryPoints   []EntryPointImpact
	Sample        []ImpactSample
}

// EntryPointImpact counts the members whose effective role on one entry
// point appears (Gain), disappears (Lose), goes up (Raise) or down
// (Lower), for an entry point whose mapping in the group changes.
type EntryPointImpact struct {
	ID, Name                 string
	From, To                 string // the group's own role before and after; "" for none
	Gain, Lose, Raise, Lower int64
	// Held are the members whose effective role stays as it is because
	// another group grants them at least as much, by role and group.
	Held []Held
}

// Held counts members who keep Role on an entry point through Group.
type Held struct {
	Role      string
	GroupID   string
	GroupName string
	Users     int64
}

// ImpactSample is one member whose effective role on an entry point
// would change.
type ImpactSample struct {
	UserID, UserName             string
	EntryPointID, EntryPointName string
	From, To                     string // effective roles; "" for none
}
