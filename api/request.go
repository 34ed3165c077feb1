package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// What authentication (scimAuth, adminAuth, uiSession) leaves on the
// context for the handlers of every surface.
const (
	orgIDKey     = "orgID"
	orgKey       = "org"
	adminUserKey = "adminUser"
)

// orgID is the org of the request: the token's or the session's.
func orgID(c *gin.Context) string { return c.GetString(orgIDKey) }

// requestOrg is the org of an admin API or UI request.
func requestOrg(c *gin.Context) *scimflow.Org { return c.MustGet(orgKey).(*scimflow.Org) }

// adminUser is the owner of the admin token or session; nil when that
// user no longer exists.
func adminUser(c *gin.Context) *scimflow.User {
	u, _ := c.Get(adminUserKey)
	user, _ := u.(*scimflow.User)
	return user
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

// readJSON reads a SCIM body that must be one JSON object.
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

// readAdminJSON decodes an admin API body of at most 1 MiB into v,
// refusing unknown fields and trailing data.
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

// maxPage bounds page numbers, so that an offset never overflows.
const maxPage = 1_000_000

// page reads ?page= (1-based, at most maxPage) and ?perPage= (default 50,
// at most 500).
func page(c *gin.Context) (offset, limit, pageNo int, err error) {
	pageNo, limit = 1, 50
	if v := c.Query("page"); v != "" {
		if pageNo, err = strconv.Atoi(v); err != nil || pageNo < 1 || pageNo > maxPage {
			return 0, 0, 0, scimflow.Errorf(scimflow.EINVALID, "page must be an integer from 1 to %d", maxPage)
		}
	}
	if v := c.Query("perPage"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			return 0, 0, 0, scimflow.Errorf(scimflow.EINVALID, "perPage must be an integer from 1 to 500")
		}
	}
	return (pageNo - 1) * limit, limit, pageNo, nil
}

func timeJSON(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// setActor makes a the actor of every change the request makes: the store
// writes it into their audit events.
func setActor(c *gin.Context, a scimflow.Actor) {
	c.Request = c.Request.WithContext(scimflow.WithActor(c.Request.Context(), a))
}
