package scimflow

import "time"

// Plan is an org's pricing plan.
type Plan string

// Pricing plans. SCIM provisioning needs business or enterprise.
const (
	PlanFree       Plan = "free"
	PlanBusiness   Plan = "business"
	PlanEnterprise Plan = "enterprise"
)

// Valid reports whether p is a known plan.
func (p Plan) Valid() bool {
	switch p {
	case PlanFree, PlanBusiness, PlanEnterprise:
		return true
	}
	return false
}

// SupportsSCIM reports whether the plan includes SCIM provisioning.
func (p Plan) SupportsSCIM() bool { return p == PlanBusiness || p == PlanEnterprise }

// Org is a tenant.
type Org struct {
	ID         string
	Name       string
	Plan       Plan
	SCIMGroups bool // the "SCIM Groups" feature flag
	CreatedAt  time.Time
	UpdatedAt  time.Time
}
