package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/patch"
	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

func orgID(c *gin.Context) string { return c.GetString(orgIDKey) }

// decodeUser reads a full User from a POST or PUT body.
func decodeUser(c *gin.Context) (*scimflow.User, error) {
	doc, err := readJSON(c)
	if err != nil {
		return nil, err
	}
	norm, err := schema.Normalize(doc, schema.UserResourceType)
	if err != nil {
		return nil, err
	}
	return scim.DecodeUser(norm)
}

// writeUser answers with u, its ETag and, for 201, its Location. The
// projection p was parsed before any write, so a bad attributes= never
// follows a committed change.
func (s *Server) writeUser(c *gin.Context, status int, u *scimflow.User, p scim.Projection) {
	groups, err := s.groupsOf(c, p, u)
	if err != nil {
		s.scimError(c, err)
		return
	}
	doc := scim.EncodeUser(u, s.baseURL(c)+"/scim/v2", groups[u.ID]...)
	c.Header("ETag", scim.ETag(u.Version))
	if status == http.StatusCreated {
		c.Header("Location", doc["meta"].(map[string]any)["location"].(string))
	}
	s.writeSCIM(c, status, p.Apply(doc))
}

func (s *Server) createUser(c *gin.Context) {
	p, err := projection(c)
	if err != nil {
		s.scimError(c, err)
		return
	}
	u, err := decodeUser(c)
	if err != nil {
		s.scimError(c, err)
		return
	}
	u, err = s.Users.CreateUser(c, orgID(c), u)
	if err != nil {
		s.scimError(c, err)
		return
	}
	s.writeUser(c, http.StatusCreated, u, p)
}

func (s *Server) getUser(c *gin.Context) {
	p, err := projection(c)
	if err != nil {
		s.scimError(c, err)
		return
	}
	u, err := s.Users.FindUser(c, orgID(c), c.Param("id"))
	if err != nil {
		s.scimError(c, err)
		return
	}
	if inm := c.GetHeader("If-None-Match"); inm != "" && scim.ETagMatches(inm, u.Version) {
		c.Header("ETag", scim.ETag(u.Version))
		c.Status(http.StatusNotModified)
		return
	}
	s.writeUser(c, http.StatusOK, u, p)
}

// ifMatch returns an update precondition for the If-Match header
// (RFC 7644 §3.14): 412 when the resource has changed since the client read it.
func ifMatch(c *gin.Context) func(version int64) error {
	h := c.GetHeader("If-Match")
	return func(version int64) error {
		if h == "" || scim.ETagMatches(h, version) {
			return nil
		}
		return scimflow.Errorf(scimflow.EPRECONDITION, "the resource has changed: its version is %s, If-Match was %s", scim.ETag(version), h)
	}
}

func (s *Server) replaceUser(c *gin.Context) {
	p, err := projection(c)
	if err != nil {
		s.scimError(c, err)
		return
	}
	next, err := decodeUser(c)
	if err != nil {
		s.scimError(c, err)
		return
	}
	check := ifMatch(c)
	var wasActive bool
	u, err := s.Users.UpdateUser(c, orgID(c), c.Param("id"), func(u *scimflow.User) error {
		if err := check(u.Version); err != nil {
			return err
		}
		wasActive = u.Active
		// PUT replaces every writable attribute (RFC 7644 §3.5.1); the
		// org role is scimflow's, not the IdP's, and survives.
		next.Role = u.Role
		*u = *next
		return nil
	})
	if err != nil {
		s.scimError(c, err)
		return
	}
	if u.Active != wasActive {
		s.membersChanged(c) // (de)activation queued a recalculation
	}
	s.writeUser(c, http.StatusOK, u, p)
}

func (s *Server) patchUser(c *gin.Context) {
	p, err := projection(c)
	if err != nil {
		s.scimError(c, err)
		return
	}
	body, err := readBody(c)
	if err != nil {
		s.scimError(c, err)
		return
	}
	ops, err := patch.Parse(body)
	if err != nil {
		s.scimError(c, err)
		return
	}
	check := ifMatch(c)
	base := s.baseURL(c) + "/scim/v2"
	var wasActive bool
	u, err := s.Users.UpdateUser(c, orgID(c), c.Param("id"), func(u *scimflow.User) error {
		if err := check(u.Version); err != nil {
			return err
		}
		wasActive = u.Active
		doc, err := patch.Apply(scim.EncodeUser(u, base), ops, schema.UserResourceType)
		if err != nil {
			return err
		}
		norm, err := schema.Normalize(doc, schema.UserResourceType)
		if err != nil {
			return err
		}
		next, err := scim.DecodeUser(norm)
		if err != nil {
			return err
		}
		next.Role = u.Role
		*u = *next
		return nil
	})
	if err != nil {
		s.scimError(c, err)
		return
	}
	if u.Active != wasActive {
		s.membersChanged(c) // (de)activation queued a recalculation
	}
	s.writeUser(c, http.StatusOK, u, p)
}

func (s *Server) deleteUser(c *gin.Context) {
	if err := s.Users.DeleteUser(c, orgID(c), c.Param("id"), ifMatch(c)); err != nil {
		s.scimError(c, err)
		return
	}
	s.membersChanged(c)
	c.Status(http.StatusNoContent)
}

func (s *Server) listUsers(c *gin.Context) {
	s.queryUsers(c, listRequestFromQuery(c))
}

func (s *Server) queryUsers(c *gin.Context, r listRequest) {
	q, p, err := r.parse()
	if err != nil {
		s.scimError(c, err)
		return
	}
	users, total, err := s.Users.ListUsers(c, orgID(c), q)
	if err != nil {
		s.scimError(c, err)
		return
	}
	groups, err := s.groupsOf(c, p, users...)
	if err != nil {
		s.scimError(c, err)
		return
	}
	base := s.baseURL(c) + "/scim/v2"
	docs := make([]map[string]any, len(users))
	for i, u := range users {
		docs[i] = p.Apply(scim.EncodeUser(u, base, groups[u.ID]...))
	}
	s.writeSCIM(c, http.StatusOK, scim.NewListResponse(total, q.StartIndex, docs))
}

// groupsOf loads the read-only groups attribute of users, unless the
// projection leaves it out (one query per page either way).
func (s *Server) groupsOf(c *gin.Context, p scim.Projection, users ...*scimflow.User) (map[string][]scimflow.Group, error) {
	if !p.Requests("groups") || len(users) == 0 {
		return nil, nil
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return s.Users.GroupsOf(c, orgID(c), ids)
}
