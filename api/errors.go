package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// Handlers and middleware return their error instead of writing it: the
// route group they are registered on renders it in its surface's format
// (SCIM, admin JSON or HTML), in exactly one place per surface. This is
// the error middleware of ardanlabs/service, on gin.

// handlerFunc is a gin handler that returns its error.
type handlerFunc func(c *gin.Context) error

// handle adapts h to gin: an error is recorded on the context and the
// chain stops; the group's surface middleware renders it.
func handle(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			c.Error(err)
			c.Abort()
		}
	}
}

// renderer writes err as a response of one surface.
type renderer func(s *Server, c *gin.Context, err error)

// surface is a family of routes with one error format.
type surface struct {
	name   string // metrics label
	prefix string // where its routes live; for requests no route matches
	render renderer
}

const surfaceKey = "surface"

// Surfaces, innermost prefix first (noRoute takes the first match).
var (
	surfaceSCIM  = surface{name: "scim", prefix: "/scim/", render: (*Server).scimError}
	surfaceAdmin = surface{name: "admin", prefix: "/api/", render: (*Server).adminError}
	// The UI's own JSON endpoints (the progress bar polls them) answer
	// like the admin API, behind the session.
	surfaceUIJSON = surface{name: "ui", prefix: "/admin/api/", render: (*Server).adminError}
	surfaceUI     = surface{name: "ui", prefix: "/admin", render: (*Server).uiError}
	surfaceOps    = surface{name: "ops", render: (*Server).adminError}

	surfaces = []surface{surfaceSCIM, surfaceAdmin, surfaceUIJSON, surfaceUI}
)

// errorsAs is the middleware of a route group: it names the surface for
// metrics, and after the handlers ran (or panicked) renders their error
// with the surface's renderer, unless a response was written already.
func (s *Server) errorsAs(sf surface) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(surfaceKey, sf.name)
		defer func() {
			r := recover()
			if r == http.ErrAbortHandler {
				panic(r)
			}
			if r != nil {
				c.Error(&scimflow.Error{Code: scimflow.EINTERNAL, Message: "internal error", Err: fmt.Errorf("panic: %v", r)})
				c.Abort()
			}
			err := c.Errors.Last()
			switch {
			case err == nil || c.Writer.Written():
			case clientGone(c, err.Err):
				// Nobody reads the answer; 499 (as nginx logs it) keeps
				// a hang-up out of the server errors.
				c.Status(statusClientClosed)
				c.Writer.WriteHeaderNow()
			default:
				sf.render(s, c, err.Err)
			}
		}()
		c.Next()
	}
}

// noRoute and noMethod answer requests that match no route, so no group's
// middleware ran: the surface is the one whose prefix the path is under.
func (s *Server) noRoute(c *gin.Context) {
	s.unrouted(c, scimflow.Errorf(scimflow.ENOTFOUND, "no such endpoint: %s %s", c.Request.Method, c.Request.URL.Path))
}

func (s *Server) noMethod(c *gin.Context) {
	s.unrouted(c, scimflow.Errorf(scimflow.ENOTALLOWED, "method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
}

func (s *Server) unrouted(c *gin.Context, err error) {
	sf := surfaceOps
	for _, cand := range surfaces {
		if strings.HasPrefix(c.Request.URL.Path, cand.prefix) || c.Request.URL.Path == strings.TrimSuffix(cand.prefix, "/") {
			sf = cand
			break
		}
	}
	c.Set(surfaceKey, sf.name)
	sf.render(s, c, err)
}

// statusClientClosed is what logs and metrics record for a request whose
// client hung up before the answer.
const statusClientClosed = 499

// clientGone reports whether err only says that the request's client went
// away (its context was canceled), rather than that something failed.
func clientGone(c *gin.Context, err error) bool {
	if c.Request.Context().Err() == nil {
		return false
	}
	code := scimflow.ErrorCode(err)
	return errors.Is(err, context.Canceled) || code == scimflow.EINTERNAL || code == scimflow.EUNAVAILABLE
}

// retryAfter sets Retry-After for errors a client should retry later.
func retryAfter(c *gin.Context, err error) {
	if d, ok := scimflow.RetryAfter(err); ok {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
}

// httpStatus maps a domain error code to its HTTP status: the one table
// for every surface.
func httpStatus(code string) int {
	switch code {
	case scimflow.EINVALID:
		return http.StatusBadRequest
	case scimflow.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case scimflow.EFORBIDDEN:
		return http.StatusForbidden
	case scimflow.ENOTFOUND:
		return http.StatusNotFound
	case scimflow.ENOTALLOWED:
		return http.StatusMethodNotAllowed
	case scimflow.ECONFLICT:
		return http.StatusConflict
	case scimflow.EPRECONDITION:
		return http.StatusPreconditionFailed
	case scimflow.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case scimflow.ERATELIMITED:
		return http.StatusTooManyRequests
	case scimflow.ENOTIMPL:
		return http.StatusNotImplemented
	case scimflow.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// scimError renders err for a SCIM client (RFC 7644 §3.12).
func (s *Server) scimError(c *gin.Context, err error) {
	status := httpStatus(scimflow.ErrorCode(err))
	s.logError(c, status, err)
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="scimflow"`)
	}
	retryAfter(c, err)
	body := scim.NewErrorResponse(status, err)
	c.Set(scimFailureKey, body) // for the token's provisioning health
	s.writeSCIM(c, status, body)
}

// adminErrorBody is the error format of the admin API and of every
// non-SCIM, non-HTML endpoint: {"error":{"code":"...","message":"..."}}.
type adminErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// adminError renders err as admin JSON. A Reason (plan_not_supported,
// mapping_changed, ...) is the code when there is one.
func (s *Server) adminError(c *gin.Context, err error) {
	code := scimflow.ErrorCode(err)
	status := httpStatus(code)
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
	retryAfter(c, err)
	c.JSON(status, body)
}

// logError logs internal errors once, with the request ID.
func (s *Server) logError(c *gin.Context, status int, err error) {
	if status < 500 {
		return
	}
	s.Logger.ErrorContext(c.Request.Context(), "request failed",
		"error", err, "request_id", c.GetString(requestIDKey), "method", c.Request.Method, "path", c.Request.URL.Path)
}
