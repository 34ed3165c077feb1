package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// adminErrorBody is the error format of the admin API and of every
// non-SCIM endpoint: {"error":{"code":"...","message":"..."}}.
type adminErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// adminError is the one place admin JSON errors are rendered.
func (s *Server) adminError(c *gin.Context, err error) {
	code := scimflow.ErrorCode(err)
	status := scim.HTTPStatus(code)
	s.logError(c, status, err)
	var body adminErrorBody
	body.Error.Code, body.Error.Message = code, scimflow.ErrorMessage(err)
	var e *scimflow.Error
	if errors.As(err, &e) && e.Reason != "" {
		body.Error.Code = e.Reason
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="scimflow"`)
	}
	c.AbortWithStatusJSON(status, body)
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz reports whether every dependency answers within two seconds.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c, 2*time.Second)
	defer cancel()
	for _, p := range s.Ready {
		if err := p.Ping(ctx); err != nil {
			s.Logger.WarnContext(ctx, "not ready", "error", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable"})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
