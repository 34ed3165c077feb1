package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/patch"
	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

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
func (s *Server) writeUser(c *gin.Context, status int, u *scimflow.User, p scim.Projection) error {
	groups, err := s.groupsOf(c, p, u)
	if err != nil {
		return err
	}
	doc := scim.EncodeUser(u, s.baseURL(c)+"/scim/v2", groups[u.ID]...)
	c.Header("ETag", scim.ETag(u.Version))
	if status == http.StatusCreated {
		c.Header("Location", doc["meta"].(map[string]any)["location"].(string))
	}
	s.writeSCIM(c, status, p.Apply(doc))
	return nil
}

func (s *Server) createUser(c *gin.Context) error {
	p, err := projection(c)
	if err != nil {
		return err
	}
	u, err := decodeUser(c)
	if err != nil {
		return err
	}
	if u, err = s.Users.CreateUser(c, orgID(c), u); err != nil {
		return err
	}
	return s.writeUser(c, http.StatusCreated, u, p)
}

func (s *Server) getUser(c *gin.Context) error {
	p, err := projection(c)
	if err != nil {
		return err
	}
	u, err := s.Users.FindUser(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
	}
	if inm := c.GetHeader("If-None-Match"); inm != "" && scim.ETagMatches(inm, u.Version) {
		c.Header("ETag", scim.ETag(u.Version))
		c.Status(http.StatusNotModified)
		return nil
	}
	return s.writeUser(c, http.StatusOK, u, p)
}

func (s *Server) replaceUser(c *gin.Context) error {
	p, err := projection(c)
	if err != nil {
		return err
	}
	next, err := decodeUser(c)
	if err != nil {
		return err
	}
	check := ifMatch(c)
	u, err := s.Users.UpdateUser(c, orgID(c), c.Param("id"), func(u *scimflow.User) error {
		if err := check(u.Version); err != nil {
			return err
		}
		// PUT replaces every writable attribute (RFC 7644 §3.5.1); the
		// org role is scimflow's, not the IdP's, and survives.
		next.Role = u.Role
		*u = *next
		return nil
	})
	if err != nil {
		return err
	}
	return s.writeUser(c, http.StatusOK, u, p)
}

func (s *Server) patchUser(c *gin.Context) error {
	p, err := projection(c)
	if err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	ops, err := patch.Parse(body)
	if err != nil {
		return err
	}
	check := ifMatch(c)
	base := s.baseURL(c) + "/scim/v2"
	u, err := s.Users.UpdateUser(c, orgID(c), c.Param("id"), func(u *scimflow.User) error {
		if err := check(u.Version); err != nil {
			return err
		}
		doc, err := patch.Apply(scim.EncodeUser(u, base), ops, schema.UserResourceType)
		if err != nil {
			return err
		}
		norm, err := schema.NormalizePatched(doc, schema.UserResourceType)
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
		return err
	}
	return s.writeUser(c, http.StatusOK, u, p)
}

func (s *Server) deleteUser(c *gin.Context) error {
	if err := s.Users.DeleteUser(c, orgID(c), c.Param("id"), ifMatch(c)); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) listUsers(c *gin.Context) error {
	return s.queryUsers(c, listRequestFromQuery(c))
}

func (s *Server) queryUsers(c *gin.Context, r listRequest) error {
	q, p, err := r.parse(schema.UserResourceType.ID)
	if err != nil {
		return err
	}
	users, pg, err := s.Users.ListUsersPage(c, orgID(c), q)
	if err != nil {
		return err
	}
	groups, err := s.groupsOf(c, p, users...)
	if err != nil {
		return err
	}
	base := s.baseURL(c) + "/scim/v2"
	docs := make([]map[string]any, len(users))
	for i, u := range users {
		docs[i] = p.Apply(scim.EncodeUser(u, base, groups[u.ID]...))
	}
	s.writeSCIM(c, http.StatusOK, listResponse(schema.UserResourceType.ID, q, pg, docs))
	return nil
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
