package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// The admin API's governance: the impact preview of Update Group, mapping
// history with restore, and the audit trail (DESIGN.md §3).

// roleJSON is a role for JSON: null for no access.
func roleJSON(r string) any {
	if r == "" {
		return nil
	}
	return r
}

func impactJSON(im *scimflow.Impact) gin.H {
	eps := make([]gin.H, len(im.EntryPoints))
	for i, e := range im.EntryPoints {
		held := make([]gin.H, len(e.Held))
		for j, h := range e.Held {
			held[j] = gin.H{"role": h.Role, "groupId": h.GroupID, "groupName": h.GroupName, "users": h.Users}
		}
		eps[i] = gin.H{"id": e.ID, "name": e.Name, "from": roleJSON(e.From), "to": roleJSON(e.To),
			"gain": e.Gain, "lose": e.Lose, "raise": e.Raise, "lower": e.Lower, "unchangedThrough": held}
	}
	sample := make([]gin.H, len(im.Sample))
	for i, s := range im.Sample {
		sample[i] = gin.H{"userId": s.UserID, "userName": s.UserName, "entryPointId": s.EntryPointID,
			"entryPointName": s.EntryPointName, "from": roleJSON(s.From), "to": roleJSON(s.To)}
	}
	return gin.H{"members": im.Members, "usersAffected": im.UsersAffected, "entryPoints": eps, "sample": sample}
}

// previewGroup answers what the Update Group in the body would do,
// changing nothing.
func (s *Server) previewGroup(c *gin.Context) error {
	_, ms, err := readMappings(c)
	if err != nil {
		return err
	}
	im, err := s.Governance.PreviewGroupMappings(c, orgID(c), c.Param("id"), ms)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, impactJSON(im))
	return nil
}

func actorJSON(a scimflow.Actor) gin.H {
	return gin.H{"type": a.Type, "id": a.ID, "name": a.Name}
}

func mappingVersionJSON(v scimflow.MappingVersion) gin.H {
	eps := make([]gin.H, len(v.EntryPoints))
	for i, m := range v.EntryPoints {
		eps[i] = gin.H{"id": m.EntryPointID, "name": m.EntryPointName, "role": m.Role}
	}
	return gin.H{"version": v.Version, "createdAt": timeJSON(&v.CreatedAt), "actor": actorJSON(v.Actor), "entryPoints": eps}
}

func (s *Server) mappingVersions(c *gin.Context) error {
	vs, err := s.Governance.MappingVersions(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
	}
	items := make([]gin.H, len(vs))
	for i, v := range vs {
		items[i] = mappingVersionJSON(v)
	}
	c.JSON(http.StatusOK, gin.H{"groupId": c.Param("id"), "versions": items})
	return nil
}

// restoreBody is the optional body of a restore: the mapping version the
// admin saw, as for Update Group.
type restoreBody struct {
	IfVersion *int64 `json:"ifVersion"`
}

func (s *Server) restoreMappingVersion(c *gin.Context) error {
	v, err := strconv.ParseInt(c.Param("version"), 10, 64)
	if err != nil || v < 0 {
		return scimflow.Errorf(scimflow.ENOTFOUND, "the group has no mapping version %q", c.Param("version"))
	}
	var b restoreBody
	if c.Request.ContentLength != 0 {
		if err := readAdminJSON(c, &b); err != nil {
			return err
		}
	}
	rec, skipped, err := s.Governance.RestoreGroupMappings(c, orgID(c), c.Param("id"), v, b.IfVersion)
	if err != nil {
		return err
	}
	items := make([]gin.H, len(skipped))
	for i, m := range skipped {
		items[i] = gin.H{"id": m.EntryPointID, "name": m.EntryPointName, "role": m.Role}
	}
	c.Header("Location", "/api/v1/recalculations/"+rec.ID)
	c.JSON(http.StatusAccepted, gin.H{"recalculation": recalculationJSON(rec), "restoredFrom": v, "skipped": items})
	return nil
}

func auditEventJSON(e scimflow.AuditEvent) gin.H {
	return gin.H{"id": e.ID, "time": timeJSON(&e.Time), "type": e.Type, "actor": actorJSON(e.Actor),
		"target": gin.H{"type": e.Target.Type, "id": e.Target.ID, "name": e.Target.Name}, "details": e.Details}
}

// auditFilter reads the filters of GET /api/v1/audit-events (and of the
// Audit page) from the query string.
func auditFilter(c *gin.Context) (scimflow.AuditFilter, error) {
	f := scimflow.AuditFilter{Type: strings.TrimSpace(c.Query("type")), ActorID: strings.TrimSpace(c.Query("actorId")),
		GroupID: strings.TrimSpace(c.Query("groupId")), UserID: strings.TrimSpace(c.Query("userId")), Cursor: c.Query("cursor")}
	if f.Type != "" && !knownEventType(f.Type) {
		return f, scimflow.Errorf(scimflow.EINVALID, "unknown event type %q; known types: %s", f.Type, strings.Join(scimflow.EventTypes(), ", "))
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := strings.TrimSpace(c.Query(p.name))
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if d, derr := time.Parse("2006-01-02", v); derr == nil {
				t, err = d, nil
			}
		}
		if err != nil {
			return f, scimflow.Errorf(scimflow.EINVALID, "%s must be a time like 2026-12-01T09:00:00Z or a date like 2026-12-01", p.name)
		}
		*p.dst = t
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return f, scimflow.Errorf(scimflow.EINVALID, "limit must be a number from 1 to 500")
		}
		f.Limit = n
	}
	return f, nil
}

func knownEventType(t string) bool {
	for _, k := range scimflow.EventTypes() {
		if k == t {
			return true
		}
	}
	return false
}

func (s *Server) auditEvents(c *gin.Context) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	evs, next, err := s.Governance.AuditEvents(c, orgID(c), f)
	if err != nil {
		return err
	}
	items := make([]gin.H, len(evs))
	for i, e := range evs {
		items[i] = auditEventJSON(e)
	}
	out := gin.H{"events": items, "nextCursor": nil}
	if next != "" {
		out["nextCursor"] = next
	}
	c.JSON(http.StatusOK, out)
	return nil
}
