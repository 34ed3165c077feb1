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
