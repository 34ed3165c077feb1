// Package api serves scimflow over HTTP with gin: the SCIM 2.0 endpoints
// (/scim/v2), the admin JSON API (/api/v1), the admin UI (/admin) and
// operational endpoints. It declares the small interfaces it needs and is
// handed their implementations by cmd; it never touches GORM or Temporal.
//
// Handlers return errors; each route group renders them in its own format
// (errors.go). Writes that queue recalculations notify the engine inside
// the store's write path, never from a handler.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// Authenticator resolves a bearer secret to a usable token.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*scimflow.Token, error)
}

// OrgStore reads orgs and the people who administer them.
type OrgStore interface {
	FindOrg(ctx context.Context, orgID string) (*scimflow.Org, error)
	// OrgUser returns any user of the org, SCIM-provisioned or local.
	OrgUser(ctx context.Context, orgID, id string) (*scimflow.User, error)
}

// UserStore persists SCIM users.
type UserStore interface {
	CreateUser(ctx context.Context, orgID string, u *scimflow.User) (*scimflow.User, error)
	FindUser(ctx context.Context, orgID, id string) (*scimflow.User, error)
	UpdateUser(ctx context.Context, orgID, id string, fn func(*scimflow.User) error) (*scimflow.User, error)
	DeleteUser(ctx context.Context, orgID, id string, check func(version int64) error) error
	// ListUsersPage lists users by index or by cursor (RFC 9865).
	ListUsersPage(ctx context.Context, orgID string, q scim.ListQuery) ([]*scimflow.User, scim.Page, error)
	// GroupsOf returns the groups of each user, for the read-only User.groups.
	GroupsOf(ctx context.Context, orgID string, userIDs []string) (map[string][]scimflow.Group, error)
}

// GroupStore persists SCIM groups and their memberships.
type GroupStore interface {
	CreateGroup(ctx context.Context, orgID string, g *scimflow.Group, memberIDs []string) (*scimflow.Group, error)
	FindGroup(ctx context.Context, orgID, id string) (*scimflow.Group, error)
	UpdateGroup(ctx context.Context, orgID, id string, ch scimflow.GroupChange) (*scimflow.Group, error)
	DeleteGroup(ctx context.Context, orgID, id string, check func(version int64) error) error
	ListGroupsPage(ctx context.Context, orgID string, q scim.ListQuery) ([]*scimflow.Group, scim.Page, error)
	Members(ctx context.Context, orgID, groupID, after string, limit int) ([]scimflow.Member, error)
}

// EntryPointStore manages an org's entry points.
type EntryPointStore interface {
	CreateEntryPoint(ctx context.Context, orgID, name string) (*scimflow.EntryPoint, error)
	FindEntryPoint(ctx context.Context, orgID, id string) (*scimflow.EntryPoint, error)
	ListEntryPoints(ctx context.Context, orgID, search string, offset, limit int) ([]*scimflow.EntryPoint, int, error)
	RenameEntryPoint(ctx context.Context, orgID, id, name string) (*scimflow.EntryPoint, error)
	DeleteEntryPoint(ctx context.Context, orgID, id string) error
	// EntryPointUsage says, per entry point, how many users hold a role on
	// it and which groups map it.
	EntryPointUsage(ctx context.Context, orgID string, ids []string) (map[string]*scimflow.EntryPointUsage, error)
	EntryPointMembers(ctx context.Context, orgID, entryPointID string, offset, limit int) ([]scimflow.EntryPointMember, int, error)
}

// AccessStore is the SCIM dashboard's model: groups with their entry point
// mappings, the recalculations that apply them, and what users can reach.
type AccessStore interface {
	ListGroupSummaries(ctx context.Context, orgID, search string, offset, limit int) ([]scimflow.GroupSummary, int, error)
	GroupSummary(ctx context.Context, orgID, id string) (*scimflow.GroupSummary, error)
	GroupMappings(ctx context.Context, orgID, groupID string) ([]scimflow.Mapping, error)
	// SetGroupMappings is "Update Group"; ifVersion, when not nil, makes it
	// conditional on the mapping version the admin saw.
	SetGroupMappings(ctx context.Context, orgID, groupID string, mappings []scimflow.Mapping, ifVersion *int64) (*scimflow.Recalculation, error)
	FindRecalculation(ctx context.Context, orgID, id string) (*scimflow.Recalculation, error)
	LatestRecalculation(ctx context.Context, orgID, groupID string) (*scimflow.Recalculation, error)
	// RecentRecalculations lists the org's pending and running
	// recalculations, then its latest finished ones.
	RecentRecalculations(ctx context.Context, orgID string, limit int) ([]*scimflow.Recalculation, error)
	UserAccess(ctx context.Context, orgID, userID string) ([]scimflow.Access, error)
	// SearchUsers pages through the org's SCIM users by userName, keeping
	// those whose userName, name or email holds q.Search.
	SearchUsers(ctx context.Context, orgID string, q scimflow.PageQuery) (scimflow.UserPage, error)
	// GroupMembersByName pages through a group's members by userName; size
	// is the group's member count.
	GroupMembersByName(ctx context.Context, orgID, groupID string, size int, q scimflow.PageQuery) (scimflow.UserPage, error)
}

// GovernanceStore tells what a mapping change would do before it is
// made, keeps the numbered versions of each group's mapping, and the
// audit trail of who changed access or trust.
type GovernanceStore interface {
	PreviewGroupMappings(ctx context.Context, orgID, groupID string, mappings []scimflow.Mapping) (*scimflow.Impact, error)
	MappingVersions(ctx context.Context, orgID, groupID string) ([]scimflow.MappingVersion, error)
	// RestoreGroupMappings is an Update Group with a stored version's
	// mapping; it returns the mappings skipped (entry points deleted since).
	RestoreGroupMappings(ctx context.Context, orgID, groupID string, version int64, ifVersion *int64) (*scimflow.Recalculation, []scimflow.Mapping, error)
	AuditEvents(ctx context.Context, orgID string, f scimflow.AuditFilter) ([]scimflow.AuditEvent, string, error)
}

// TokenStore manages an org's SCIM tokens from the admin UI.
type TokenStore interface {
	HasActiveSCIMToken(ctx context.Context, orgID string) (bool, error)
	ListTokens(ctx context.Context, orgID string, scope scimflow.Scope) ([]*scimflow.Token, error)
	CreateSCIMToken(ctx context.Context, orgID, name string, expiresIn time.Duration) (*scimflow.Token, string, error)
	RevokeToken(ctx context.Context, orgID, tokenID string) (*scimflow.Token, error)
}

// SessionStore keeps the admin UI's sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, orgID, tokenID string, ttl time.Duration) (secret string, expires time.Time, err error)
	SessionToken(ctx context.Context, secret string) (*scimflow.Token, error)
	DeleteSession(ctx context.Context, secret string) error
}

// LiveProgress reads the numbers of a running recalculation from its
// workflow.
type LiveProgress interface {
	Progress(ctx context.Context, rec *scimflow.Recalculation) (*scimflow.Recalculation, error)
}

// Metrics counts requests and serves /metrics.
type Metrics interface {
	// ObserveRequest counts a request by its route template, never its
	// path.
	ObserveRequest(surface, method, route string, status int, d time.Duration)
	// ObserveSCIM counts a SCIM operation (resource Users, operation
	// patch, ...) by the status it answered.
	ObserveSCIM(resource, operation string, status int)
	Handler() http.Handler
}

// Server holds the dependencies of the HTTP handlers.
type Server struct {
	Auth        Authenticator
	Orgs        OrgStore
	Users       UserStore
	Groups      GroupStore
	EntryPoints EntryPointStore
	Access      AccessStore
	Tokens      TokenStore
	Governance  GovernanceStore
	Sessions    SessionStore // nil: no admin UI
	Live        LiveProgress // nil: stored progress only
	Ready       []ReadyCheck // /readyz: all must pass
	Metrics     Metrics      // nil: no /metrics
	Logger      *slog.Logger
	Limits      Limits
	Traffic     TrafficStore // nil: no provisioning health
	// SyncStaleAfter is how long without a SCIM request makes the admin
	// UI warn that provisioning may have stopped (0: 24 hours).
	SyncStaleAfter time.Duration
	// TemporalUIURL, when set, is the Temporal web UI that recalculations
	// link to, in namespace TemporalNamespace.
	TemporalUIURL     string
	TemporalNamespace string

	tokens  *tokenLimiter // from Limits, by Handler
	gate    *orgGate
	traffic *trafficBuffer

	// PublicURL is the externally visible base URL (https://scim.example.com).
	// When empty, it is derived from each request's scheme and Host.
	PublicURL string
}

// Handler returns the HTTP handler of s.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	lim := s.Limits.withDefaults()
	s.tokens, s.gate = newTokenLimiter(lim), newOrgGate(lim)
	if s.Traffic != nil {
		s.traffic = newTrafficBuffer(s.Traffic, func(err error) { s.Logger.Error("record scim traffic", "error", err) })
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(s.requestID, s.accessLog, traceRoute)

	s.opsRoutes(r)

	// Bodies are capped before anything reads them; tokens are rate
	// limited as soon as authentication names them.
	s.scimRoutes(r.Group("/scim/v2", s.recordSCIM, s.errorsAs(surfaceSCIM), limitBody(scim.MaxBodyBytes), handle(checkRequestText),
		handle(s.scimAuth), handle(s.rateLimit)))
	s.adminRoutes(r.Group("/api/v1", s.errorsAs(surfaceAdmin), limitBody(adminMaxBody), handle(checkRequestText),
		handle(s.adminAuth), handle(s.rateLimit)))
	if s.Sessions != nil {
		s.uiRoutes(r.Group("/admin", s.errorsAs(surfaceUI), limitBody(adminMaxBody), handle(checkRequestText), s.uiHeaders))
		// Browsers ask for /favicon.ico on pages that name no icon (a JSON
		// answer, a download): send them to the UI's.
		r.GET("/favicon.ico", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/admin/static/favicon.svg") })
	}

	r.NoRoute(s.noRoute)
	r.NoMethod(s.noMethod)
	return trimTrailingSlash(r)
}

// adminMaxBody caps admin API and admin UI bodies.
const adminMaxBody = 1 << 20

// trimTrailingSlash serves /scim/v2/Users/ as /scim/v2/Users (and so for
// the admin API): clients that add a slash get the resource, not a
// redirect with an HTML body. The UI keeps gin's redirects.
func trimTrailingSlash(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if len(p) > 1 && strings.HasSuffix(p, "/") && (strings.HasPrefix(p, "/scim/") || strings.HasPrefix(p, "/api/")) {
			r.URL.Path = strings.TrimRight(p, "/")
			r.URL.RawPath = ""
		}
		h.ServeHTTP(w, r)
	})
}
