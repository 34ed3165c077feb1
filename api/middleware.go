package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scimflow"
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
	if s.Metrics != nil {
		surface := "ops"
		switch p := c.Request.URL.Path; {
		case strings.HasPrefix(p, "/scim/"):
			surface = "scim"
		case strings.HasPrefix(p, "/api/"):
			surface = "admin"
		case strings.HasPrefix(p, "/admin"):
			surface = "ui"
		}
		s.Metrics.ObserveRequest(surface, c.Writer.Status())
	}
	level := slog.LevelDebug
	if c.Writer.Status() >= 500 {
		level = slog.LevelError
	}
	s.Logger.LogAttrs(c.Request.Context(), level, "http",
		slog.String("method", c.Request.Method), slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()), slog.Duration("duration", time.Since(start)),
		slog.String("request_id", c.GetString(requestIDKey)))
}

// checkRequestText refuses paths and query strings that hold NUL
// characters or invalid UTF-8: ids and filters end up in SQL, where
// Postgres would reject them with a server error.
func (s *Server) checkRequestText(c *gin.Context) {
	texts := []string{c.Request.URL.Path} // decoded
	for k, vs := range c.Request.URL.Query() {
		texts = append(append(texts, k), vs...)
	}
	for _, v := range texts {
		if err := checkText([]byte(v)); err != nil {
			s.fail(c, err)
			c.Abort()
			return
		}
	}
	c.Next()
}

// recover turns a panic into a 500 in the surface's own error format.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.fail(c, &scimflow.Error{Code: scimflow.EINTERNAL, Message: "internal error", Err: fmt.Errorf("panic: %v", r)})
		}
	}()
	c.Next()
}

// fail renders err in the format of the surface the request is on.
func (s *Server) fail(c *gin.Context, err error) {
	if strings.HasPrefix(c.Request.URL.Path, "/scim/") {
		s.scimError(c, err)
		return
	}
	s.adminError(c, err)
}

func (s *Server) noRoute(c *gin.Context) {
	s.fail(c, scimflow.Errorf(scimflow.ENOTFOUND, "no such endpoint: %s %s", c.Request.Method, c.Request.URL.Path))
}

func (s *Server) noMethod(c *gin.Context) {
	s.fail(c, &scimflow.Error{Code: scimflow.ENOTALLOWED, Message: fmt.Sprintf("method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path)})
}

// logError logs internal errors once, with the request ID.
func (s *Server) logError(c *gin.Context, status int, err error) {
	if status < 500 {
		return
	}
	s.Logger.ErrorContext(c.Request.Context(), "request failed",
		"error", err, "request_id", c.GetString(requestIDKey), "method", c.Request.Method, "path", c.Request.URL.Path)
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
	return scheme + "://" + c.Request.Host
}
