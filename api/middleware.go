package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

const requestIDKey = "requestID"

// maxRequestIDLen bounds an incoming X-Request-Id: a longer one is
// replaced, not truncated, so a log line never carries a client's blob.
const maxRequestIDLen = 128

// requestIDContextKey keys the request ID in a request's context.
type requestIDContextKey struct{}

// RequestID returns the ID of the HTTP request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDContextKey{}).(string)
	return id
}

// requestID tags every request with an ID, echoed in X-Request-Id, put in
// the request's context and logged with its access line and errors, so a
// client report can be matched to a log line. A proxy's or client's own
// X-Request-Id is kept when it is a sane token.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !saneRequestID(id) {
		b := make([]byte, 8)
		rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(requestIDKey, id)
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDContextKey{}, id))
	c.Header("X-Request-Id", id)
	c.Next()
}

// saneRequestID accepts 1 to maxRequestIDLen printable ASCII characters
// without spaces: nothing that could split or forge a log line.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// accessLog counts every request and logs one INFO line for it: method,
// path, route, status, duration and request ID — never a header or a
// body, so no bearer token or personal data reaches the log. A 5xx has a
// second line, "request failed" at ERROR, with the error (logError).
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	status, route, took := c.Writer.Status(), c.FullPath(), time.Since(start)
	if s.Metrics != nil {
		surface := c.GetString(surfaceKey)
		s.Metrics.ObserveRequest(surface, c.Request.Method, route, status, took)
		if surface == surfaceSCIM.name {
			if resource, op := scimOperation(c.Request.Method, route); resource != "" {
				s.Metrics.ObserveSCIM(resource, op, status)
			}
		}
	}
	level := slog.LevelInfo
	if c.GetString(surfaceKey) == surfaceOps.name && status < 400 {
		// Probes and scrapes arrive every few seconds; at INFO they
		// would drown the requests that matter.
		level = slog.LevelDebug
	}
	s.Logger.LogAttrs(c.Request.Context(), level, "http",
		slog.String("method", c.Request.Method), slog.String("path", c.Request.URL.Path), slog.String("route", route),
		slog.Int("status", status), slog.Duration("duration", took), slog.String("request_id", c.GetString(requestIDKey)))
}

// scimOperation names the SCIM operation of a route: its resource type and
// what it does to it. Routes that are not operations (/Me, /Bulk,
// unrouted) have no resource.
func scimOperation(method, route string) (resource, op string) {
	rest, ok := strings.CutPrefix(route, "/scim/v2/")
	if !ok {
		return "", ""
	}
	resource, sub, _ := strings.Cut(rest, "/")
	switch resource {
	case "Users", "Groups":
	case "ServiceProviderConfig", "ResourceTypes", "Schemas":
		return resource, "get"
	default:
		return "", ""
	}
	switch {
	case sub == ".search":
		return resource, "search"
	case sub == "" && method == http.MethodGet:
		return resource, "list"
	case sub == "" && method == http.MethodPost:
		return resource, "create"
	}
	switch method {
	case http.MethodGet:
		return resource, "get"
	case http.MethodPut:
		return resource, "replace"
	case http.MethodPatch:
		return resource, "patch"
	case http.MethodDelete:
		return resource, "delete"
	}
	return "", ""
}

// checkRequestText refuses paths and query strings that hold NUL
// characters or invalid UTF-8: ids and filters end up in SQL, where
// Postgres would reject them with a server error.
func checkRequestText(c *gin.Context) error {
	if err := checkText([]byte(c.Request.URL.Path)); err != nil { // decoded
		return err
	}
	for k, vs := range c.Request.URL.Query() {
		for _, v := range append(vs, k) {
			if err := checkText([]byte(v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// baseURL returns the public base URL of the server (no trailing slash).
func (s *Server) baseURL(c *gin.Context) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "http"
	if c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	host := c.Request.Host
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

// validHost reports whether h is a plain host[:port]: a Host header that
// carries a path, credentials or markup never reaches a Location header or
// a meta.location. Without SCIMFLOW_PUBLIC_URL the links still follow the
// Host the client used; serve warns about that at start.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(".-:[]", r):
		default:
			return false
		}
	}
	return true
}
