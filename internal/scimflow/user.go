package scimflow

import "time"

// OrgRole is a user's role in their org.
type OrgRole string

// Org roles.
const (
	RoleMember   OrgRole = "member"
	RoleOrgAdmin OrgRole = "org_admin"
)

// User is an org member. SCIM-provisioned users carry the attributes of the
// RFC 7643 core User schema and the enterprise extension; passwords are
// never stored.
type User struct {
	ID         string
	OrgID      string
	Local      bool // created locally (bootstrap), not by SCIM; invisible to SCIM
	Role       OrgRole
	UserName   string
	ExternalID string // "" when the IdP sent none
	Active     bool

	DisplayName       string
	NickName          string
	ProfileURL        string
	Title             string
	UserType          string
	PreferredLanguage string
	Locale            string
	Timezone          string
	Name              Name

	Emails           []MultiValue
	PhoneNumbers     []MultiValue
	IMs              []MultiValue
	Photos           []MultiValue
	Entitlements     []MultiValue
	Roles            []MultiValue
	X509Certificates []MultiValue
	Addresses        []Address

	Enterprise *EnterpriseUser // nil when the extension is absent

	Version   int64 // bumped on every change; the SCIM ETag
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Name is the components of a user's name (RFC 7643 §4.1.1).
type Name struct {
	Formatted       string
	FamilyName      string
	GivenName       string
	MiddleName      string
	HonorificPrefix string
	HonorificSuffix string
}

// IsZero reports whether no component is set.
func (n Name) IsZero() bool { return n == Name{} }

// MultiValue is one element of a multi-valued attribute such as emails.
type MultiValue struct {
	Value   string
	Display string
	Type    string
	Primary bool
}

// Address is one element of a user's addresses (RFC 7643 §4.1.2).
type Address struct {
	Formatted     string
	StreetAddress string
	Locality      string
	Region        string
	PostalCode    string
	Country       string
	Type          string
	Primary       bool
}

// EnterpriseUser is the enterprise extension (RFC 7643 §4.3).
type EnterpriseUser struct {
	EmployeeNumber string
	CostCenter     string
	Organization   string
	Division       string
	Department     string
	Manager        *Manager
}

// Manager references a user's manager.
type Manager struct {
	Value       string
	Ref         string
	DisplayName string
}

// UserSummary is a user as lists of people show them.
type UserSummary struct {
	ID          string
	UserName    string
	DisplayName string
	Email       string // the first email, "" when none
	Active      bool
}

// PageQuery asks for one page of a list sorted by userName, by keyset:
// the users after After, or (when Before is set) the users before Before,
// both lower-cased userNames of a previous page's edge.
type PageQuery struct {
	Search string
	After  string
	Before string
	Limit  int
}

// UserPage is one page of users sorted by userName. HasPrev and HasNext
// say whether pages come before and after it; Total counts every match.
type UserPage struct {
	Users       []UserSummary
	Total       int
	HasPrev     bool
	HasNext     bool
	First, Last string // the keys of the page's edges, for PageQuery
}
