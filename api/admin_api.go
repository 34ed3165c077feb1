package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/access"
	"github.com/scimflow/scimflow/internal/scimflow"
)

func (s *Server) adminRoutes(r *gin.RouterGroup) {
	a := r.Group("", s.require(orgAdminPrereqs))
	a.GET("/roles", listRoles)
	a.GET("/entry-points", handle(s.listEntryPoints))
	a.POST("/entry-points", handle(s.createEntryPoint))
	a.GET("/entry-points/:id", handle(s.getEntryPoint))
	a.PATCH("/entry-points/:id", handle(s.renameEntryPoint))
	a.DELETE("/entry-points/:id", handle(s.deleteEntryPoint))
	a.GET("/entry-points/:id/members", handle(s.heavy(s.entryPointMembers)))
	a.GET("/users/:id/entry-points", handle(s.userEntryPoints))
	a.GET("/audit-events", handle(s.auditEvents))

	tk := r.Group("/scim/tokens", s.require(tokenPrereqs))
	tk.GET("", handle(s.listSCIMTokens))
	tk.GET("/:id/errors", handle(s.scimTokenErrors))

	sc := r.Group("", s.require(dashboardPrereqs))
	sc.GET("/scim/groups", handle(s.heavy(s.adminListGroups)))
	sc.GET("/scim/groups/:id", handle(s.adminGetGroup))
	for _, m := range []string{"PUT", "PATCH", "POST", "DELETE"} {
		sc.Handle(m, "/scim/groups/:id", handle(groupReadOnly))
	}
	sc.GET("/scim/groups/:id/entry-points", handle(s.groupEntryPoints))
	sc.PUT("/scim/groups/:id/entry-points", handle(s.updateGroup))
	sc.POST("/scim/groups/:id/entry-points/preview", handle(s.heavy(s.previewGroup)))
	sc.GET("/scim/groups/:id/mapping-versions", handle(s.mappingVersions))
	sc.POST("/scim/groups/:id/mapping-versions/:version/restore", handle(s.restoreMappingVersion))
	sc.GET("/recalculations/:id", handle(s.getRecalculation))
}

// adminAuth authenticates an admin token and records its org and owner.
// SCIM tokens are refused; whether the owner is (still) an Org Admin is a
// prerequisite of each route group.
func (s *Server) adminAuth(c *gin.Context) error {
	tok, err := s.bearer(c)
	if err != nil {
		return err
	}
	if tok.Scope != scimflow.ScopeAdmin {
		return scimflow.Forbidden(scimflow.ReasonNotOrgAdmin, "this token has scope %q; the admin API needs an admin token of an Org Admin", tok.Scope)
	}
	return s.signIn(c, tok)
}

// signIn records the org and the owner of an admin token (bearer or
// session) on the request. An owner who no longer exists is nil: the
// Org Admin prerequisite refuses them.
func (s *Server) signIn(c *gin.Context, tok *scimflow.Token) error {
	org, err := s.Orgs.FindOrg(c, tok.OrgID)
	if err != nil {
		return err
	}
	user, err := s.Orgs.OrgUser(c, org.ID, tok.UserID)
	if err != nil && scimflow.ErrorCode(err) != scimflow.ENOTFOUND {
		return err
	}
	c.Set(orgIDKey, org.ID)
	c.Set(orgKey, org)
	c.Set(adminUserKey, user)
	c.Set(tokenIDKey, tok.ID)
	actor := scimflow.Actor{Type: scimflow.ActorAdmin, ID: tok.UserID, Name: tok.Name}
	if user != nil {
		actor.Name = user.UserName
	}
	setActor(c, actor)
	return nil
}

func listRoles(c *gin.Context) {
	var out []gin.H
	for _, r := range access.Roles() {
		out = append(out, gin.H{"name": r.String(), "title": r.Title(), "rank": int(r), "allows": r.Allows()})
	}
	c.JSON(http.StatusOK, gin.H{"roles": out})
}

func entryPointJSON(e *scimflow.EntryPoint) gin.H {
	return gin.H{"id": e.ID, "name": e.Name, "createdAt": timeJSON(&e.CreatedAt), "updatedAt": timeJSON(&e.UpdatedAt)}
}

func (s *Server) listEntryPoints(c *gin.Context) error {
	offset, limit, pageNo, err := page(c)
	if err != nil {
		return err
	}
	eps, total, err := s.EntryPoints.ListEntryPoints(c, orgID(c), c.Query("search"), offset, limit)
	if err != nil {
		return err
	}
	items := make([]gin.H, len(eps))
	for i, e := range eps {
		items[i] = entryPointJSON(e)
	}
	c.JSON(http.StatusOK, gin.H{"entryPoints": items, "total": total, "page": pageNo, "perPage": limit})
	return nil
}

type entryPointBody struct {
	Name string `json:"name"`
}

func (s *Server) createEntryPoint(c *gin.Context) error {
	var b entryPointBody
	if err := readAdminJSON(c, &b); err != nil {
		return err
	}
	e, err := s.EntryPoints.CreateEntryPoint(c, orgID(c), b.Name)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/entry-points/"+e.ID)
	c.JSON(http.StatusCreated, entryPointJSON(e))
	return nil
}

func (s *Server) getEntryPoint(c *gin.Context) error {
	e, err := s.EntryPoints.FindEntryPoint(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, entryPointJSON(e))
	return nil
}

func (s *Server) renameEntryPoint(c *gin.Context) error {
	var b entryPointBody
	if err := readAdminJSON(c, &b); err != nil {
		return err
	}
	e, err := s.EntryPoints.RenameEntryPoint(c, orgID(c), c.Param("id"), b.Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, entryPointJSON(e))
	return nil
}

func (s *Server) deleteEntryPoint(c *gin.Context) error {
	if err := s.EntryPoints.DeleteEntryPoint(c, orgID(c), c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) entryPointMembers(c *gin.Context) error {
	offset, limit, pageNo, err := page(c)
	if err != nil {
		return err
	}
	ms, total, err := s.EntryPoints.EntryPointMembers(c, orgID(c), c.Param("id"), offset, limit)
	if err != nil {
		return err
	}
	items := make([]gin.H, len(ms))
	for i, m := range ms {
		items[i] = gin.H{"userId": m.UserID, "userName": m.UserName, "displayName": m.DisplayName, "role": m.Role}
	}
	c.JSON(http.StatusOK, gin.H{"members": items, "total": total, "page": pageNo, "perPage": limit})
	return nil
}

func (s *Server) userEntryPoints(c *gin.Context) error {
	acc, err := s.Access.UserAccess(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
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
	return nil
}

func groupSummaryJSON(g *scimflow.GroupSummary) gin.H {
	return gin.H{"id": g.ID, "displayName": g.DisplayName, "externalId": g.ExternalID,
		"memberCount": g.MemberCount, "mappingCount": g.MappingCount,
		"createdAt": timeJSON(&g.CreatedAt), "updatedAt": timeJSON(&g.UpdatedAt)}
}

func (s *Server) adminListGroups(c *gin.Context) error {
	offset, limit, pageNo, err := page(c)
	if err != nil {
		return err
	}
	gs, total, err := s.Access.ListGroupSummaries(c, orgID(c), c.Query("search"), offset, limit)
	if err != nil {
		return err
	}
	items := make([]gin.H, len(gs))
	for i := range gs {
		items[i] = groupSummaryJSON(&gs[i])
	}
	c.JSON(http.StatusOK, gin.H{"groups": items, "total": total, "page": pageNo, "perPage": limit})
	return nil
}

func (s *Server) adminGetGroup(c *gin.Context) error {
	g, err := s.Access.GroupSummary(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
	}
	out := groupSummaryJSON(g)
	out["scimId"] = g.ID
	out["readOnly"] = []string{"displayName", "scimId", "externalId", "members"}
	rec, err := s.Access.LatestRecalculation(c, orgID(c), g.ID)
	if err != nil {
		return err
	}
	if rec != nil {
		rec = s.liveProgress(c, rec)
		out["recalculation"] = recalculationJSON(rec)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func groupReadOnly(c *gin.Context) error {
	return scimflow.Errorf(scimflow.ENOTALLOWED,
		"a SCIM group's name, SCIM ID and members come from your identity provider and cannot be changed here; change them in the identity provider, or change the group's entry point mappings with PUT /api/v1/scim/groups/%s/entry-points", c.Param("id"))
}

func (s *Server) groupEntryPoints(c *gin.Context) error {
	gid := c.Param("id")
	ms, err := s.Access.GroupMappings(c, orgID(c), gid)
	if err != nil {
		return err
	}
	role := map[string]string{}
	for _, m := range ms {
		role[m.EntryPointID] = m.Role
	}
	eps, err := s.entryPoints(c)
	if err != nil {
		return err
	}
	items := make([]gin.H, len(eps))
	for i, e := range eps {
		items[i] = gin.H{"id": e.ID, "name": e.Name, "selected": false, "role": nil}
		if r, ok := role[e.ID]; ok {
			items[i]["selected"], items[i]["role"] = true, r
		}
	}
	c.JSON(http.StatusOK, gin.H{"groupId": gid, "entryPoints": items})
	return nil
}

type updateGroupBody struct {
	EntryPoints []struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	} `json:"entryPoints"`
	// IfVersion, when set, applies the change only if the group's mapping
	// version is still this one (409 mapping_changed otherwise).
	IfVersion *int64 `json:"ifVersion"`
}

// readMappings reads the body of Update Group and of its preview.
func readMappings(c *gin.Context) (*updateGroupBody, []scimflow.Mapping, error) {
	var b updateGroupBody
	if err := readAdminJSON(c, &b); err != nil {
		return nil, nil, err
	}
	if b.EntryPoints == nil {
		return nil, nil, scimflow.Errorf(scimflow.EINVALID, `entryPoints is required (send "entryPoints": [] to remove every mapping)`)
	}
	ms := make([]scimflow.Mapping, len(b.EntryPoints))
	for i, e := range b.EntryPoints {
		if e.ID == "" {
			return nil, nil, scimflow.Errorf(scimflow.EINVALID, "entryPoints[%d].id is required", i)
		}
		ms[i] = scimflow.Mapping{GroupID: c.Param("id"), EntryPointID: e.ID, Role: strings.ToLower(strings.TrimSpace(e.Role))}
	}
	return &b, ms, nil
}

// updateGroup is "Update Group": it replaces the group's mappings and
// records a recalculation in one transaction; the store's write path hands
// the recalculation to the engine once committed.
func (s *Server) updateGroup(c *gin.Context) error {
	b, ms, err := readMappings(c)
	if err != nil {
		return err
	}
	rec, err := s.Access.SetGroupMappings(c, orgID(c), c.Param("id"), ms, b.IfVersion)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/recalculations/"+rec.ID)
	c.JSON(http.StatusAccepted, gin.H{"recalculation": recalculationJSON(rec)})
	return nil
}

func (s *Server) getRecalculation(c *gin.Context) error {
	rec, err := s.Access.FindRecalculation(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, recalculationJSON(s.liveProgress(c, rec)))
	return nil
}

// liveProgress merges the running workflow's numbers into rec; when the
// engine does not answer, the stored numbers are shown.
func (s *Server) liveProgress(c *gin.Context, rec *scimflow.Recalculation) *scimflow.Recalculation {
	if s.Live == nil || rec.Status == scimflow.RecalcCompleted || rec.Status == scimflow.RecalcFailed {
		return rec
	}
	live, err := s.Live.Progress(c, rec)
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
	if eta, ok := r.ETA(time.Now()); ok {
		out["etaSeconds"] = int(eta.Seconds())
	}
	return out
}
