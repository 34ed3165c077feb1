package api

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

const requestIDKey = "requestID"

// requestID tags every request with an ID, echoed in X-Request-Id and
// logged with every error, so a client report can be matched to a log line.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if id == "" || len(id) > 64 {
		b := make([]byte, 8)
		rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

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
	switch {
	case status >= 500:
		level = slog.LevelError
	case c.GetString(surfaceKey) == surfaceOps.name && status < 400:
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
