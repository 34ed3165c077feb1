package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

const orgIDKey = "orgID"

func (s *Server) scimRoutes(r *gin.RouterGroup) {
	r.GET("/Users", s.listUsers)
	r.POST("/Users", s.createUser)
	r.POST("/Users/.search", s.search(s.queryUsers))
	r.GET("/Users/:id", s.getUser)
	r.PUT("/Users/:id", s.replaceUser)
	r.PATCH("/Users/:id", s.patchUser)
	r.DELETE("/Users/:id", s.deleteUser)

	s.groupRoutes(r)

	// RFC 7644 §3.11 and §3.7: /Me and bulk are not offered; say so with
	// 501 rather than a misleading 404.
	r.Any("/Me", s.notImplemented("/Me is not supported: scimflow has no notion of the authenticated subject"))
	r.Any("/Me/*rest", s.notImplemented("/Me is not supported: scimflow has no notion of the authenticated subject"))
	r.POST("/Bulk", s.notImplemented("bulk operations are not supported (see ServiceProviderConfig)"))

	r.GET("/ServiceProviderConfig", s.noDiscoveryFilter, s.serviceProviderConfig)
	r.GET("/ResourceTypes", s.noDiscoveryFilter, s.resourceTypes)
	r.GET("/ResourceTypes/:id", s.noDiscoveryFilter, s.resourceType)
	r.GET("/Schemas", s.noDiscoveryFilter, s.schemas)
	r.GET("/Schemas/:id", s.noDiscoveryFilter, s.schema)
}

// scimAuth authenticates a SCIM token and pins the request to its org.
func (s *Server) scimAuth(c *gin.Context) {
	tok, err := s.bearer(c)
	if err != nil {
		s.scimError(c, err)
		c.Abort()
		return
	}
	if tok.Scope != scimflow.ScopeSCIM {
		s.scimError(c, scimflow.Errorf(scimflow.EFORBIDDEN, "this token has scope %q; SCIM endpoints need a token with scope scim", tok.Scope))
		c.Abort()
		return
	}
	org, err := s.Orgs.FindOrg(c, tok.OrgID)
	if err != nil {
		s.scimError(c, err)
		c.Abort()
		return
	}
	if !org.Plan.SupportsSCIM() {
		s.scimError(c, scimflow.Errorf(scimflow.EFORBIDDEN, "the %s plan does not include SCIM provisioning; upgrade the org to business or enterprise", org.Plan))
		c.Abort()
		return
	}
	c.Set(orgIDKey, org.ID)
	c.Next()
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

// scimError is the one place SCIM errors are rendered (RFC 7644 §3.12).
func (s *Server) scimError(c *gin.Context, err error) {
	status, body := scim.NewErrorResponse(err)
	s.logError(c, status, err)
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="scimflow"`)
	}
	s.writeSCIM(c, status, body)
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

// readBody reads a JSON body of at most scim.MaxBodyBytes. SCIM clients
// send application/scim+json or application/json.
func readBody(c *gin.Context) ([]byte, error) {
	ct := c.GetHeader("Content-Type")
	if ct != "" && !strings.Contains(strings.ToLower(ct), "json") {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "Content-Type %q is not supported: send application/scim+json or application/json", ct)
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, scim.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, scimflow.Errorf(scimflow.ETOOLARGE, "request body is larger than %d bytes", scim.MaxBodyBytes)
	case err != nil:
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "cannot read request body")
	case len(bytes.TrimSpace(b)) == 0:
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "request body is empty: a JSON object is required")
	}
	if err := checkText(b); err != nil {
		return nil, err
	}
	return b, nil
}

// checkText refuses text no database column can hold: invalid UTF-8 and
// NUL characters, raw or escaped as \u0000.
func checkText(b []byte) error {
	if !utf8.Valid(b) {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "the request is not valid UTF-8")
	}
	if bytes.IndexByte(b, 0) >= 0 || bytes.Contains(b, []byte(`\u0000`)) {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "the request contains a NUL character, which no value may hold")
	}
	return nil
}

// readJSON reads a body that must be one JSON object.
func readJSON(c *gin.Context) (map[string]any, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	err = dec.Decode(&doc)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "request body is not valid JSON: trailing data after the object")
		}
	}
	switch {
	case err != nil:
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "request body is not valid JSON: %s", jsonProblem(err))
	case doc == nil:
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidSyntax, "request body must be a JSON object")
	}
	return doc, nil
}

// jsonProblem describes a JSON syntax error without Go internals.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return syn.Error() + " at offset " + strconv.FormatInt(syn.Offset, 10)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field != "" {
			return typ.Field + " must be a JSON " + jsonType(typ.Type.Kind().String()) + ", not " + typ.Value
		}
		return "expected a JSON object, not " + typ.Value
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

func (s *Server) notImplemented(msg string) gin.HandlerFunc {
	return func(c *gin.Context) { s.scimError(c, scimflow.Errorf(scimflow.ENOTIMPL, "%s", msg)) }
}

// noDiscoveryFilter refuses filter on the discovery endpoints: RFC 7644 §4
// says the provider SHOULD answer 403 so that a client does not take an
// unfiltered answer for a filtered one.
func (s *Server) noDiscoveryFilter(c *gin.Context) {
	if _, ok := c.GetQuery("filter"); ok {
		s.scimError(c, scimflow.Errorf(scimflow.EFORBIDDEN, "filtering is not supported on %s", c.Request.URL.Path))
		c.Abort()
		return
	}
	c.Next()
}

func (s *Server) serviceProviderConfig(c *gin.Context) {
	base := s.baseURL(c)
	s.writeSCIM(c, http.StatusOK, scim.ServiceProviderConfig(base+"/scim/v2", base+"/docs"))
}

func (s *Server) resourceTypes(c *gin.Context) {
	base := s.baseURL(c) + "/scim/v2"
	var out []map[string]any
	for _, rt := range schema.ResourceTypes() {
		out = append(out, rawObject(rt.Resource(base)))
	}
	s.writeSCIM(c, http.StatusOK, scim.NewListResponse(len(out), 1, out))
}

func (s *Server) resourceType(c *gin.Context) {
	rt, ok := schema.ResourceTypeByID(c.Param("id"))
	if !ok {
		s.scimError(c, scimflow.Errorf(scimflow.ENOTFOUND, "resource type %q not found", c.Param("id")))
		return
	}
	s.writeSCIM(c, http.StatusOK, rt.Resource(s.baseURL(c)+"/scim/v2"))
}

func (s *Server) schemas(c *gin.Context) {
	base := s.baseURL(c) + "/scim/v2"
	var out []map[string]any
	for _, sc := range schema.Schemas() {
		out = append(out, rawObject(sc.Resource(base)))
	}
	s.writeSCIM(c, http.StatusOK, scim.NewListResponse(len(out), 1, out))
}

func (s *Server) schema(c *gin.Context) {
	sc, ok := schema.SchemaByID(c.Param("id"))
	if !ok {
		s.scimError(c, scimflow.Errorf(scimflow.ENOTFOUND, "schema %q not found", c.Param("id")))
		return
	}
	s.writeSCIM(c, http.StatusOK, sc.Resource(s.baseURL(c)+"/scim/v2"))
}

func rawObject(raw json.RawMessage) map[string]any {
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
}
