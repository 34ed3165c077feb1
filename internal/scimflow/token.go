package scimflow

import "time"

// Scope says what a token may be used for.
type Scope string

// Token scopes.
const (
	ScopeSCIM  Scope = "scim"  // SCIM provisioning (/scim/v2)
	ScopeAdmin Scope = "admin" // admin JSON API (/api/v1), on behalf of its owner
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s == ScopeSCIM || s == ScopeAdmin }

// Token is an API token. Its secret is shown once, at creation, and only a
// hash of it is stored.
type Token struct {
	ID         string
	OrgID      string
	UserID     string // owner; required for admin tokens, "" for SCIM tokens
	Scope      Scope
	Name       string
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
}

// Usable reports whether the token may authenticate a request at now.
func (t *Token) Usable(now time.Time) bool {
	if t.RevokedAt != nil {
		return false
	}
	return t.ExpiresAt == nil || now.Before(*t.ExpiresAt)
}
