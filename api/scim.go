package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

func (s *Server) scimRoutes(r *gin.RouterGroup) {
	r.GET("/Users", handle(s.heavy(s.listUsers)))
	r.POST("/Users", handle(s.createUser))
	r.POST("/Users/.search", handle(s.heavy(search(s.queryUsers))))
	r.GET("/Users/:id", handle(s.getUser))
	r.PUT("/Users/:id", handle(s.replaceUser))
	r.PATCH("/Users/:id", handle(s.patchUser))
	r.DELETE("/Users/:id", handle(s.deleteUser))

	s.groupRoutes(r)

	// RFC 7644 §3.11 and §3.7: /Me and bulk are not offered; say so with
	// 501 rather than a misleading 404.
	r.Any("/Me", notImplemented("/Me is not supported: scimflow has no notion of the authenticated subject"))
	r.Any("/Me/*rest", notImplemented("/Me is not supported: scimflow has no notion of the authenticated subject"))
	r.POST("/Bulk", notImplemented("bulk operations are not supported (see ServiceProviderConfig)"))

	d := r.Group("", handle(noDiscoveryFilter))
	d.GET("/ServiceProviderConfig", s.serviceProviderConfig)
	d.GET("/ResourceTypes", s.resourceTypes)
	d.GET("/ResourceTypes/:id", handle(s.resourceType))
	d.GET("/Schemas", s.schemas)
	d.GET("/Schemas/:id", handle(s.schema))
}

// scimAuth authenticates a SCIM token and pins the request to its org.
func (s *Server) scimAuth(c *gin.Context) error {
	tok, err := s.bearer(c)
	if err != nil {
		return err
	}
	if tok.Scope != scimflow.ScopeSCIM {
		return scimflow.Errorf(scimflow.EFORBIDDEN, "this token has scope %q; SCIM endpoints need a token with scope scim", tok.Scope)
	}
	c.Set(scimTokenKey, tok) // counted from here on (recordSCIM)
	org, err := s.Orgs.FindOrg(c, tok.OrgID)
	if err != nil {
		return err
	}
	if !org.Plan.SupportsSCIM() {
		return scimflow.Errorf(scimflow.EFORBIDDEN, "the %s plan does not include SCIM provisioning; upgrade the org to business or enterprise", org.Plan)
	}
	c.Set(orgIDKey, org.ID)
	c.Set(tokenIDKey, tok.ID)
	name := tok.Name
	if name == "" {
		name = "SCIM token"
	}
	setActor(c, scimflow.Actor{Type: scimflow.ActorSCIMToken, ID: tok.ID, Name: name})
	return nil
}

// bearer authenticates the request's bearer token.
func (s *Server) bearer(c *gin.Context) (*scimflow.Token, error) {
	h := c.GetHeader("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return nil, scimflow.Errorf(scimflow.EUNAUTHORIZED, "missing bearer token: send Authorization: Bearer <token>")
	}
	return s.Auth.Authenticate(c, strings.TrimSpace(secret))
}

// writeSCIM writes v as application/scim+json.
func (s *Server) writeSCIM(c *gin.Context, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString(`{"schemas":["` + scim.ErrorURN + `"],"status":"500","detail":"internal error"}`)
	}
	c.Data(status, scim.MediaType, buf.Bytes())
}

func notImplemented(msg string) gin.HandlerFunc {
	return handle(func(c *gin.Context) error { return scimflow.Errorf(scimflow.ENOTIMPL, "%s", msg) })
}

// noDiscoveryFilter refuses filter on the discovery endpoints: RFC 7644 §4
// says the provider SHOULD answer 403 so that a client does not take an
// unfiltered answer for a filtered one.
func noDiscoveryFilter(c *gin.Context) error {
	if _, ok := c.GetQuery("filter"); ok {
		return scimflow.Errorf(scimflow.EFORBIDDEN, "filtering is not supported on %s", c.Request.URL.Path)
	}
	return nil
}

// documentationPath is the page ServiceProviderConfig's documentationUri
// names: the console's guide to connecting any SCIM 2.0 client, readable
// without signing in.
const documentationPath = "/admin/docs/generic"

func (s *Server) serviceProviderConfig(c *gin.Context) {
	base := s.baseURL(c)
	s.writeSCIM(c, http.StatusOK, scim.ServiceProviderConfig(base+"/scim/v2", base+documentationPath))
}

func (s *Server) resourceTypes(c *gin.Context) {
	base := s.baseURL(c) + "/scim/v2"
	var out []map[string]any
	for _, rt := range schema.ResourceTypes() {
		out = append(out, rawObject(rt.Resource(base)))
	}
	s.writeSCIM(c, http.StatusOK, scim.NewListResponse(len(out), 1, out))
}

func (s *Server) resourceType(c *gin.Context) error {
	rt, ok := schema.ResourceTypeByID(c.Param("id"))
	if !ok {
		return scimflow.Errorf(scimflow.ENOTFOUND, "resource type %q not found", c.Param("id"))
	}
	s.writeSCIM(c, http.StatusOK, rt.Resource(s.baseURL(c)+"/scim/v2"))
	return nil
}

func (s *Server) schemas(c *gin.Context) {
	base := s.baseURL(c) + "/scim/v2"
	var out []map[string]any
	for _, sc := range schema.Schemas() {
		out = append(out, rawObject(sc.Resource(base)))
	}
	s.writeSCIM(c, http.StatusOK, scim.NewListResponse(len(out), 1, out))
}

func (s *Server) schema(c *gin.Context) error {
	sc, ok := schema.SchemaByID(c.Param("id"))
	if !ok {
		return scimflow.Errorf(scimflow.ENOTFOUND, "schema %q not found", c.Param("id"))
	}
	s.writeSCIM(c, http.StatusOK, sc.Resource(s.baseURL(c)+"/scim/v2"))
	return nil
}

func rawObject(raw json.RawMessage) map[string]any {
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}
