package api

import (
	"errors"
	"fmt"
	"html/template"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// The SCIM dashboard's prerequisites, in the order they are checked: a
// plan with SCIM, an Org Admin caller, the SCIM Groups feature, and an
// active SCIM provisioning integration. The admin API answers the first
// unmet one with 403 and its code; the UI shows the whole checklist.
const (
	prereqPlan = iota
	prereqOrgAdmin
	prereqFeature
	prereqIntegration
)

// dashboardPrereqs are what the SCIM dashboard needs; orgAdminPrereqs what
// every other admin page needs.
var (
	dashboardPrereqs = []int{prereqPlan, prereqOrgAdmin, prereqFeature, prereqIntegration}
	orgAdminPrereqs  = []int{prereqOrgAdmin}
	tokenPrereqs     = []int{prereqPlan, prereqOrgAdmin}
)

// prerequisite is one line of the checklist.
type prerequisite struct {
	Reason  string // the admin API's code
	Title   string
	Met     bool
	Message string        // the admin API's message, when not met
	Why     string        // what is wrong, when not met
	Fix     template.HTML // what to do, when not met
	Link    string        // a page of the UI that fixes it
	Label   string
}

// prerequisites evaluates every prerequisite for the request's org and
// admin: the one check behind the admin API's 403s and the UI's checklist.
func (s *Server) prerequisites(c *gin.Context) ([]prerequisite, error) {
	org, user := requestOrg(c), adminUser(c)
	active, err := s.Tokens.HasActiveSCIMToken(c, org.ID)
	if err != nil {
		return nil, err
	}
	esc := template.HTMLEscapeString
	who := "you are"
	if user != nil {
		who = esc(user.UserName) + " is"
	}
	return []prerequisite{
		prereqPlan: {Reason: scimflow.ReasonPlanNotSupported, Title: "A plan with SCIM provisioning", Met: org.Plan.SupportsSCIM(),
			Message: fmt.Sprintf("the %s plan does not include SCIM provisioning; upgrade the org to the business or enterprise plan", org.Plan),
			Why:     fmt.Sprintf("The org is on the %s plan, which does not include SCIM provisioning.", org.Plan),
			Fix:     template.HTML("Upgrade the org to the Business or Enterprise plan. An operator runs <code>scimflow org update --org " + esc(org.ID) + " --plan business</code>.")},
		prereqOrgAdmin: {Reason: scimflow.ReasonNotOrgAdmin, Title: "Signed in as an Org Admin",
			Met:     user != nil && user.Role == scimflow.RoleOrgAdmin && user.Active,
			Message: "only Org Admins can manage SCIM groups and entry points; ask an Org Admin of your org to do it or to make you one",
			Why:     "The owner of the token you signed in with is not (or no longer) an active Org Admin.",
			Fix:     template.HTML("Ask an Org Admin of your org to make the change, or to make " + who + " an Org Admin; then sign in again with an admin token of an Org Admin.")},
		prereqFeature: {Reason: scimflow.ReasonSCIMGroupsDisabled, Title: "The SCIM Groups feature is activated", Met: org.SCIMGroups,
			Message: fmt.Sprintf("the SCIM Groups feature is not activated for this org; an operator activates it with `scimflow org update --org %s --scim-groups=true`", org.ID),
			Why:     "The SCIM Groups feature is not activated for this org.",
			Fix:     template.HTML("An operator activates it with <code>scimflow org update --org " + esc(org.ID) + " --scim-groups=true</code>.")},
		prereqIntegration: {Reason: scimflow.ReasonSCIMIntegrationInactive, Title: "An active SCIM provisioning integration", Met: active,
			Message: fmt.Sprintf("this org has no active SCIM provisioning integration: create a SCIM token (`scimflow token create --org %s --scope scim`) and configure it in your identity provider", org.ID),
			Why:     "The org has no unexpired, unrevoked SCIM token, so no identity provider can provision it.",
			Fix:     template.HTML("Create a SCIM token and configure it, with the SCIM base URL, in your identity provider (see the guides below)."),
			Link:    "/admin/tokens", Label: "Create a SCIM token"},
	}, nil
}

// unmetError is the first unmet prerequisite of a request, with the whole
// checklist for the UI to show. It unwraps to the 403 the admin API
// renders.
type unmetError struct {
	err    *scimflow.Error
	checks []prerequisite
	failed prerequisite
}

func (e *unmetError) Error() string { return e.err.Error() }
func (e *unmetError) Unwrap() error { return e.err }

// require is the middleware that refuses a request unless the listed
// prerequisites are met, in their order. It serves the admin API and the
// UI alike; their renderers word the refusal.
func (s *Server) require(which []int) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		checks, err := s.prerequisites(c)
		if err != nil {
			return err
		}
		for _, i := range which {
			if !checks[i].Met {
				return &unmetError{err: scimflow.Forbidden(checks[i].Reason, "%s", checks[i].Message), checks: checks, failed: checks[i]}
			}
		}
		return nil
	})
}

func asUnmet(err error) (*unmetError, bool) {
	var u *unmetError
	return u, errors.As(err, &u)
}
