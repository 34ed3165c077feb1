package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// TestErrorsAsSurface: a handler's error and a handler's panic are each
// rendered by the renderer of the route group they happened in, whatever
// the URL, and a handler that wrote its answer is left alone.
func TestErrorsAsSurface(t *testing.T) {
	s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	notFound := func(*gin.Context) error { return scimflow.Errorf(scimflow.ENOTFOUND, "no such thing") }
	boom := func(*gin.Context) error { panic("boom") }
	written := func(c *gin.Context) error {
		c.String(http.StatusTeapot, "mine")
		return errors.New("late")
	}
	for prefix, sf := range map[string]surface{"/a": surfaceSCIM, "/b": surfaceAdmin, "/c": surfaceUI} {
		g := r.Group(prefix, s.errorsAs(sf))
		g.GET("/missing", handle(notFound))
		g.GET("/panic", handle(boom))
		g.GET("/written", handle(written))
	}
	tests := []struct {
		path        string
		status      int
		contentType string
		body        string
	}{
		{"/a/missing", 404, "application/scim+json", `"status":"404"`},
		{"/b/missing", 404, "application/json", `"code":"not_found"`},
		{"/c/missing", 404, "text/html", "Not found"},
		{"/a/panic", 500, "application/scim+json", `"detail":"internal error"`},
		{"/b/panic", 500, "application/json", `"code":"internal"`},
		{"/c/panic", 500, "text/html", "Something went wrong"},
		{"/a/written", 418, "text/plain", "mine"},
		{"/c/written", 418, "text/plain", "mine"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
		if rec.Code != tt.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.contentType) || !strings.Contains(rec.Body.String(), tt.body) {
			t.Errorf("GET %s = %d %s %q, want %d %s containing %q", tt.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), tt.status, tt.contentType, tt.body)
		}
	}
}
