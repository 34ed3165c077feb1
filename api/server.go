// Package api serves scimflow over HTTP with gin: the SCIM 2.0 endpoints
// (/scim/v2), the admin JSON API (/api/v1) and operational endpoints. It
// declares the small interfaces it needs and is handed their
// implementations by cmd; it never touches GORM or the Temporal server.
package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// Authenticator resolves a bearer secret to a usable token.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*scimflow.Token, error)
}

// OrgStore reads orgs.
type OrgStore interface {
	FindOrg(ctx context.Context, orgID string) (*scimflow.Org, error)
}

// UserStore persists SCIM users.
type UserStore interface {
	CreateUser(ctx context.Context, orgID string, u *scimflow.User) (*scimflow.User, error)
	FindUser(ctx context.Context, orgID, id string) (*scimflow.User, error)
	UpdateUser(ctx context.Context, orgID, id string, fn func(*scimflow.User) error) (*scimflow.User, error)
	DeleteUser(ctx context.Context, orgID, id string, check func(version int64) error) error
	ListUsers(ctx context.Context, orgID string, q scim.ListQuery) ([]*scimflow.User, int, error)
	// GroupsOf returns the groups of each user, for the read-only User.groups.
	GroupsOf(ctx context.Context, orgID string, userIDs []string) (map[string][]scimflow.Group, error)
}

// GroupStore persists SCIM groups and their memberships.
type GroupStore interface {
	CreateGroup(ctx context.Context, orgID string, g *scimflow.Group, memberIDs []string) (*scimflow.Group, error)
	FindGroup(ctx context.Context, orgID, id string) (*scimflow.Group, error)
	UpdateGroup(ctx context.Context, orgID, id string, ch scimflow.GroupChange) (*scimflow.Group, error)
	DeleteGroup(ctx context.Context, orgID, id string, check func(version int64) error) error
	ListGroups(ctx context.Context, orgID string, q scim.ListQuery) ([]*scimflow.Group, int, error)
	Members(ctx context.Context, orgID, groupID, after string, limit int) ([]scimflow.Member, error)
}

// Pinger checks a dependency for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Metrics counts requests and serves /metrics.
type Metrics interface {
	ObserveRequest(surface string, status int)
	Handler() http.Handler
}

// Server holds the dependencies of the HTTP handlers.
type Server struct {
	Auth    Authenticator
	Orgs    OrgStore
	Users   UserStore
	Groups  GroupStore
	Admin   AdminStore
	Recalc  Recalculator // nil: recalculations stay pending for the reconciler
	UI      UIStore      // nil: no admin UI
	Ready   []Pinger
	Metrics Metrics // nil: no /metrics
	Logger  *slog.Logger

	// PublicURL is the externally visible base URL (https://scim.example.com).
	// When empty, it is derived from each request's scheme and Host.
	PublicURL string
}

// Handler returns the HTTP handler of s.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(s.requestID, s.accessLog, s.recover, s.checkRequestText)

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	if s.Metrics != nil {
		r.GET("/metrics", gin.WrapH(s.Metrics.Handler()))
	}

	v2 := r.Group("/scim/v2", s.scimAuth)
	s.scimRoutes(v2)

	v1 := r.Group("/api/v1", s.adminAuth)
	s.adminRoutes(v1)

	s.uiRoutes(r)

	r.NoRoute(s.noRoute)
	r.NoMethod(s.noMethod)
	return r
}
