package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/access"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// AdminStore is what the admin API reads and writes.
type AdminStore interface {
	OrgUser(ctx context.Context, orgID, id string) (*scimflow.User, error)
	HasActiveSCIMToken(ctx context.Context, orgID string) (bool, error)

	CreateEntryPoint(ctx context.Context, orgID, name string) (*scimflow.EntryPoint, error)
	FindEntryPoint(ctx context.Context, orgID, id string) (*scimflow.EntryPoint, error)
	ListEntryPoints(ctx context.Context, orgID, search string, offset, limit int) ([]*scimflow.EntryPoint, int, error)
	RenameEntryPoint(ctx context.Context, orgID, id, name string) (*scimflow.EntryPoint, error)
	DeleteEntryPoint(ctx context.Context, orgID, id string) error
	EntryPointMembers(ctx context.Context, orgID, entryPointID string, offset, limit int) ([]scimflow.EntryPointMember, int, error)

	ListGroupSummaries(ctx context.Context, orgID, search string, offset, limit int) ([]scimflow.GroupSummary, int, error)
	GroupSummary(ctx context.Context, orgID, id string) (*scimflow.GroupSummary, error)
	GroupMappings(ctx context.Context, orgID, groupID string) ([]scimflow.Mapping, error)
	SetGroupMappings(ctx context.Context, orgID, groupID string, mappings []scimflow.Mapping) (*scimflow.Recalculation, error)
	SetGroupMappingsIf(ctx context.Context, orgID, groupID string, mappings []scimflow.Mapping, expected int64) (*scimflow.Recalculation, error)
	FindRecalculation(ctx context.Context, orgID, id string) (*scimflow.Recalculation, error)
	LatestRecalculation(ctx context.Context, orgID, groupID string) (*scimflow.Recalculation, error)
	UserAccess(ctx context.Context, orgID, userID string) ([]scimflow.Access, error)
}

// Recalculator hands recalculations to the engine (Temporal) and reads
// their live progress.
type Recalculator interface {
	// RecalculateGroup starts the group's recalculation workflow, or
	// signals the running one that a newer mapping version exists.
	RecalculateGroup(ctx context.Context, rec *scimflow.Recalculation) error
	// MembersChanged wakes the org's membership recalculation after a
	// committed change that filled the outbox.
	MembersChanged(ctx context.Context, orgID string) error
	// Progress returns rec with the live numbers of its running workflow.
	Progress(ctx context.Context, rec *scimflow.Recalculation) (*scimflow.Recalculation, error)
}

// membersChanged tells the engine that a SCIM write queued permission
// changes. The change is already committed with its outbox rows, so a
// failure here only delays it until the sweeper's next pass.
func (s *Server) membersChanged(c *gin.Context) {
	if s.Recalc == nil {
		return
	}
	if err := s.Recalc.MembersChanged(c, orgID(c)); err != nil {
		s.Logger.WarnContext(c, "membership recalculation not signalled; the sweeper will retry", "org", orgID(c), "error", err)
	}
}

const (
	adminUserKey = "adminUser"
	orgKey       = "org"
)

func (s *Server) adminRoutes(r *gin.RouterGroup) {
	a := r.Group("", s.requireOrgAdmin)
	a.GET("/roles", s.listRoles)
	a.GET("/entry-points", s.listEntryPoints)
	a.POST("/entry-points", s.createEntryPoint)
	a.GET("/entry-points/:id", s.getEntryPoint)
	a.PATCH("/entry-points/:id", s.renameEntryPoint)
	a.DELETE("/entry-points/:id", s.deleteEntryPoint)
	a.GET("/entry-points/:id/members", s.entryPointMembers)
	a.GET("/users/:id/entry-points", s.userEntryPoints)

	sc := r.Group("/scim", s.scimPrerequisites)
	sc.GET("/groups", s.adminListGroups)
	sc.GET("/groups/:id", s.adminGetGroup)
	for _, m := range []string{"PUT", "PATCH", "POST", "DELETE"} {
		sc.Handle(m, "/groups/:id", s.groupReadOnly)
	}
	sc.GET("/groups/:id/entry-points", s.groupEntryPoints)
	sc.PUT("/groups/:id/entry-points", s.updateGroup)
	r.GET("/recalculations/:id", s.scimPrerequisites, s.getRecalculation)
}

// adminAuth authenticates an admin token whose owner is an Org Admin of
// the token's org. SCIM tokens and tokens of demoted users are refused.
func (s *Server) adminAuth(c *gin.Context) {
	tok, err := s.bearer(c)
	if err != nil {
		s.adminError(c, err)
		return
	}
	if tok.Scope != scimflow.ScopeAdmin {
		s.adminError(c, scimflow.Forbidden(scimflow.ReasonNotOrgAdmin, "this token has scope %q; the admin API needs an admin token of an Org Admin", tok.Scope))
		return
	}
	org, err := s.Orgs.FindOrg(c, tok.OrgID)
	if err != nil {
		s.adminError(c, err)
		return
	}
	c.Set(orgIDKey, org.ID)
	c.Set(orgKey, org)
	user, err := s.Admin.OrgUser(c, org.ID, tok.UserID)
	if err != nil && scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		s.adminError(c, err)
		return
	}
	c.Set(adminUserKey, user)
	c.Next()
}

// requireOrgAdmin refuses callers that are not (or no longer) active Org
// Admins. The SCIM dashboard's routes use scimPrerequisites instead, which
// checks it in its place in the order of the prerequisites.
func (s *Server) requireOrgAdmin(c *gin.Context) {
	if err := orgAdminCheck(c); err != nil {
		s.adminError(c, err)
		return
	}
	c.Next()
}

func orgAdminCheck(c *gin.Context) error {
	u, _ := c.Get(adminUserKey)
	user, _ := u.(*scimflow.User)
	if user == nil || user.Role != scimflow.RoleOrgAdmin || !user.Active {
		return scimflow.Forbidden(scimflow.ReasonNotOrgAdmin, "only Org Admins can manage SCIM groups and entry points; ask an Org Admin of your org to do it or to make you one")
	}
	return nil
}

// scimPrerequisites checks, in order, what the SCIM dashboard needs: a plan
// with SCIM, an Org Admin caller, the SCIM Groups feature, and an active
// SCIM provisioning integration. Each failure has its own code.
func (s *Server) scimPrerequisites(c *gin.Context) {
	org := c.MustGet(orgKey).(*scimflow.Org)
	if !org.Plan.SupportsSCIM() {
		s.adminError(c, scimflow.Forbidden(scimflow.ReasonPlanNotSupported,
			"the %s plan does not include SCIM provisioning; upgrade the org to the business or enterprise plan", org.Plan))
		return
	}
	if err := orgAdminCheck(c); err != nil {
		s.adminError(c, err)
		return
	}
	if !org.SCIMGroups {
		s.adminError(c, scimflow.Forbidden(scimflow.ReasonSCIMGroupsDisabled,
			"the SCIM Groups feature is not activated for this org; an operator activates it with `scimflow org update --org %s --scim-groups=true`", org.ID))
		return
	}
	ok, err := s.Admin.HasActiveSCIMToken(c, org.ID)
	if err != nil {
		s.adminError(c, err)
		return
	}
	if !ok {
		s.adminError(c, scimflow.Forbidden(scimflow.ReasonSCIMIntegrationInactive,
			"this org has no active SCIM provisioning integration: create a SCIM token (`scimflow token create --org %s --scope scim`) and configure it in your identity provider", org.ID))
		return
	}
	c.Next()
}

// page reads ?page= (1-based) and ?perPage= (default 50, at most 500).
func page(c *gin.Context) (offset, limit, pageNo int, err error) {
	pageNo, limit = 1, 50
	if v := c.Query("page"); v != "" {
		if pageNo, err = strconv.Atoi(v); err != nil || pageNo < 1 {
			return 0, 0, 0, scimflow.Errorf(scimflow.EINVALID, "page must be a positive integer")
		}
	}
	if v := c.Query("perPage"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			return 0, 0, 0, scimflow.Errorf(scimflow.EINVALID, "perPage must be an integer from 1 to 500")
		}
	}
	return (pageNo - 1) * limit, limit, pageNo, nil
}

// readAdminJSON decodes a JSON body of at most 1 MiB into v, refusing
// unknown fields and trailing data.
func readAdminJSON(c *gin.Context, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return scimflow.Errorf(scimflow.ETOOLARGE, "request body is larger than 1 MiB")
	}
	if err != nil {
		return scimflow.Errorf(scimflow.EINVALID, "cannot read the request body")
	}
	if err := checkText(b); err != nil {
		return scimflow.Errorf(scimflow.EINVALID, "%s", scimflow.ErrorMessage(err))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return scimflow.Errorf(scimflow.EINVALID, "request body is not valid: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return scimflow.Errorf(scimflow.EINVALID, "request body is not valid: trailing data after the JSON object")
	}
	return nil
}

func timeJSON(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (s *Server) listRoles(c *gin.Context) {
	var out []gin.H
	for _, r := range access.Roles() {
		out = append(out, gin.H{"name": r.String(), "title": r.Title(), "rank": int(r), "allows": r.Allows()})
	}
	c.JSON(http.StatusOK, gin.H{"roles": out})
}

func entryPointJSON(e *scimflow.EntryPoint) gin.H {
	return gin.H{"id": e.ID, "name": e.Name, "createdAt": timeJSON(&e.CreatedAt), "updatedAt": timeJSON(&e.UpdatedAt)}
}

func (s *Server) listEntryPoints(c *gin.Context) {
	offset, limit, pageNo, err := page(c)
	if err != nil {
		s.adminError(c, err)
		return
	}
	eps, total, err := s.Admin.ListEntryPoints(c, orgID(c), c.Query("search"), offset, limit)
	if err != nil {
		s.adminError(c, err)
		return
	}
	items := make([]gin.H, len(eps))
	for i, e := range eps {
		items[i] = entryPointJSON(e)
	}
	c.JSON(http.StatusOK, gin.H{"entryPoints": items, "total": total, "page": pageNo, "perPage": limit})
}

type entryPointBody struct {
	Name string `json:"name"`
}

func (s *Server) createEntryPoint(c *gin.Context) {
	var b entryPointBody
	if err := readAdminJSON(c, &b); err != nil {
		s.adminError(c, err)
		return
	}
	e, err := s.Admin.CreateEntryPoint(c, orgID(c), b.Name)
	if err != nil {
		s.adminError(c, err)
		return
	}
	c.Header("Location", "/api/v1/entry-points/"+e.ID)
	c.JSON(http.StatusCreated, entryPointJSON(e))
}

func (s *Server) getEntryPoint(c *gin.Context) {
	e, err := s.Admin.FindEntryPoint(c, orgID(c), c.Param("id"))
	if err != nil {
		s.adminError(c, err)
		return
	}
	c.JSON(http.StatusOK, entryPointJSON(e))
}

func (s *Server) renameEntryPoint(c *gin.Context) {
	var b entryPointBody
	if err := readAdminJSON(c, &b); err != nil {
		s.adminError(c, err)
		return
	}
	e, err := s.Admin.RenameEntryPoint(c, orgID(c), c.Param("id"), b.Name)
	if err != nil {
		s.adminError(c, err)
		return
	}
	c.JSON(http.StatusOK, entryPointJSON(e))
}

func (s *Server) deleteEntryPoint(c *gin.Context) {
	if err := s.Admin.DeleteEntryPoint(c, orgID(c), c.Param("id")); err != nil {
		s.adminError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) entryPointMembers(c *gin.Context) {
	offset, limit, pageNo, err := page(c)
	if err != nil {
		s.adminError(c, err)
		return
	}
	ms, total, err := s.Admin.EntryPointMembers(c, orgID(c), c.Param("id"), offset, limit)
	if err != nil {
		s.adminError(c, err)
		return
	}
	items := make([]gin.H, len(ms))
	for i, m := range ms {
		items[i] = gin.H{"userId": m.UserID, "userName": m.UserName, "displayName": m.DisplayName, "role": m.Role}
	}
	c.JSON(http.StatusOK, gin.H{"members": items, "total": total, "page": pageNo, "perPage": limit})
}

func (s *Server) userEntryPoints(c *gin.Context) {
	acc, err := s.Admin.UserAccess(c, orgID(c), c.Param("id"))
	if err != nil {
		s.adminError(c, err)
		return
	}
	items := make([]gin.H, len(acc))
	for i, a := range acc {
		grants := make([]gin.H, len(a.Grants))
		for j, g := range a.Grants {
			grants[j] = gin.H{"groupId": g.GroupID, "groupName": g.GroupName, "role": g.Role}
		}
		items[i] = gin.H{"entryPoint": gin.H{"id": a.EntryPoint.ID, "name": a.EntryPoint.Name}, "role": a.Role, "grantedBy": grants}
	}
	c.JSON(http.StatusOK, gin.H{"userId": c.Param("id"), "entryPoints": items})
}

func groupSummaryJSON(g *scimflow.GroupSummary) gin.H {
	return gin.H{"id": g.ID, "displayName": g.DisplayName, "externalId": g.ExternalID,
		"memberCount": g.MemberCount, "mappingCount": g.MappingCount,
		"createdAt": timeJSON(&g.CreatedAt), "updatedAt": timeJSON(&g.UpdatedAt)}
}

func (s *Server) adminListGroups(c *gin.Context) {
	offset, limit, pageNo, err := page(c)
	if err != nil {
		s.adminError(c, err)
		return
	}
	gs, total, err := s.Admin.ListGroupSummaries(c, orgID(c), c.Query("search"), offset, limit)
	if err != nil {
		s.adminError(c, err)
		return
	}
	items := make([]gin.H, len(gs))
	for i := range gs {
		items[i] = groupSummaryJSON(&gs[i])
	}
	c.JSON(http.StatusOK, gin.H{"groups": items, "total": total, "page": pageNo, "perPage": limit})
}

func (s *Server) adminGetGroup(c *gin.Context) {
	g, err := s.Admin.GroupSummary(c, orgID(c), c.Param("id"))
	if err != nil {
		s.adminError(c, err)
		return
	}
	out := groupSummaryJSON(g)
	out["scimId"] = g.ID
	out["readOnly"] = []string{"displayName", "scimId", "externalId", "members"}
	rec, err := s.Admin.LatestRecalculation(c, orgID(c), g.ID)
	if err != nil {
		s.adminError(c, err)
		return
	}
	if rec != nil {
		rec = s.liveProgress(c, rec)
		out["recalculation"] = recalculationJSON(rec)
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) groupReadOnly(c *gin.Context) {
	s.adminError(c, scimflow.Errorf(scimflow.ENOTALLOWED,
		"a SCIM group's name, SCIM ID and members come from your identity provider and cannot be changed here; change them in the identity provider, or change the group's entry point mappings with PUT /api/v1/scim/groups/%s/entry-points", c.Param("id")))
}

func (s *Server) groupEntryPoints(c *gin.Context) {
	gid := c.Param("id")
	ms, err := s.Admin.GroupMappings(c, orgID(c), gid)
	if err != nil {
		s.adminError(c, err)
		return
	}
	role := map[string]string{}
	for _, m := range ms {
		role[m.EntryPointID] = m.Role
	}
	// Every entry point of the org, selected or not: the dashboard shows a
	// checkbox for each. Orgs have hundreds of entry points, not millions.
	var items []gin.H
	for offset := 0; ; offset += 500 {
		eps, total, err := s.Admin.ListEntryPoints(c, orgID(c), "", offset, 500)
		if err != nil {
			s.adminError(c, err)
			return
		}
		for _, e := range eps {
			item := gin.H{"id": e.ID, "name": e.Name, "selected": false, "role": nil}
			if r, ok := role[e.ID]; ok {
				item["selected"], item["role"] = true, r
			}
			items = append(items, item)
		}
		if offset+500 >= total {
			break
		}
	}
	if items == nil {
		items = []gin.H{}
	}
	c.JSON(http.StatusOK, gin.H{"groupId": gid, "entryPoints": items})
}

type updateGroupBody struct {
	EntryPoints []struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	} `json:"entryPoints"`
}

// updateGroup is "Update Group": it replaces the group's mappings, records
// a recalculation in the same transaction, and hands it to the engine.
func (s *Server) updateGroup(c *gin.Context) {
	var b updateGroupBody
	if err := readAdminJSON(c, &b); err != nil {
		s.adminError(c, err)
		return
	}
	if b.EntryPoints == nil {
		s.adminError(c, scimflow.Errorf(scimflow.EINVALID, `entryPoints is required (send "entryPoints": [] to remove every mapping)`))
		return
	}
	ms := make([]scimflow.Mapping, len(b.EntryPoints))
	for i, e := range b.EntryPoints {
		if e.ID == "" {
			s.adminError(c, scimflow.Errorf(scimflow.EINVALID, "entryPoints[%d].id is required", i))
			return
		}
		ms[i] = scimflow.Mapping{GroupID: c.Param("id"), EntryPointID: e.ID, Role: strings.ToLower(strings.TrimSpace(e.Role))}
	}
	rec, err := s.Admin.SetGroupMappings(c, orgID(c), c.Param("id"), ms)
	if err != nil {
		s.adminError(c, err)
		return
	}
	if s.Recalc != nil {
		// The mapping and the recalculation record are committed; if the
		// engine cannot be reached now, the reconciler starts it later.
		if err := s.Recalc.RecalculateGroup(c, rec); err != nil {
			s.Logger.WarnContext(c, "recalculation not started; the reconciler will retry", "recalculation", rec.ID, "error", err)
		}
	}
	c.Header("Location", "/api/v1/recalculations/"+rec.ID)
	c.JSON(http.StatusAccepted, gin.H{"recalculation": recalculationJSON(rec)})
}

func (s *Server) getRecalculation(c *gin.Context) {
	rec, err := s.Admin.FindRecalculation(c, orgID(c), c.Param("id"))
	if err != nil {
		s.adminError(c, err)
		return
	}
	c.JSON(http.StatusOK, recalculationJSON(s.liveProgress(c, rec)))
}

// liveProgress merges the running workflow's numbers into rec; when the
// engine does not answer, the stored numbers are shown.
func (s *Server) liveProgress(c *gin.Context, rec *scimflow.Recalculation) *scimflow.Recalculation {
	if s.Recalc == nil || rec.Status == scimflow.RecalcCompleted || rec.Status == scimflow.RecalcFailed {
		return rec
	}
	live, err := s.Recalc.Progress(c, rec)
	if err != nil {
		s.Logger.DebugContext(c, "no live progress", "recalculation", rec.ID, "error", err)
		return rec
	}
	return live
}

func recalculationJSON(r *scimflow.Recalculation) gin.H {
	out := gin.H{"id": r.ID, "groupId": r.GroupID, "kind": r.Kind, "status": r.Status, "total": r.Total, "processed": r.Processed,
		"changed": r.Changed, "mappingVersion": r.MappingVersion, "createdAt": timeJSON(&r.CreatedAt),
		"startedAt": timeJSON(r.StartedAt), "finishedAt": timeJSON(r.FinishedAt), "error": r.Error}
	if r.Status == scimflow.RecalcRunning && r.StartedAt != nil && r.Processed > 0 && r.Total > r.Processed {
		elapsed := time.Since(*r.StartedAt)
		out["etaSeconds"] = int(elapsed.Seconds() * float64(r.Total-r.Processed) / float64(r.Processed))
	}
	return out
}
