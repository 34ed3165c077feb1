package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// ReadyCheck is one condition /readyz checks: a dependency that answers,
// a schema that is migrated.
type ReadyCheck struct {
	Name  string // what failed, in the answer: "database", "schema", "temporal"
	Check func(ctx context.Context) error
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz reports whether every check passes within two seconds, and names
// the first that does not, so that an operator reading a failed probe
// knows what to fix.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c, 2*time.Second)
	defer cancel()
	for _, rc := range s.Ready {
		if err := rc.Check(ctx); err != nil {
			s.Logger.WarnContext(ctx, "not ready", "check", rc.Name, "error", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "check": rc.Name, "reason": err.Error()})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// opsRoutes registers the operational endpoints on r.
func (s *Server) opsRoutes(r gin.IRouter) {
	ops := r.Group("", s.errorsAs(surfaceOps))
	ops.GET("/healthz", s.healthz)
	ops.GET("/readyz", s.readyz)
	if s.Metrics != nil {
		ops.GET("/metrics", gin.WrapH(s.Metrics.Handler()))
	}
}

// OpsHandler serves only /healthz, /readyz and /metrics: the port of a
// process that has no API, the worker.
func (s *Server) OpsHandler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.Use(s.requestID, s.accessLog)
	s.opsRoutes(r)
	r.NoRoute(func(c *gin.Context) {
		c.Set(surfaceKey, surfaceOps.name)
		surfaceOps.render(s, c, scimflow.Errorf(scimflow.ENOTFOUND, "no such endpoint: %s %s", c.Request.Method, c.Request.URL.Path))
	})
	return r
}
