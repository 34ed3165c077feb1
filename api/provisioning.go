package api

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// The provisioning health of an org: per SCIM token, when it was last
// used and how its last 24 hours went, and the warnings every admin page
// shows above its content. One function computes it for the admin API,
// the tokens page and the banner.

const (
	// defaultSyncStaleAfter is how long without a SCIM request is
	// suspicious when SCIMFLOW_SYNC_STALE_AFTER is not set: IdPs sync at
	// least every 40 minutes (Entra) to a few hours.
	defaultSyncStaleAfter = 24 * time.Hour
	// errorRateWarning, with at least errorsWarning errors, is the share
	// of failed requests over 24 h that raises a warning.
	errorRateWarning = 0.1
	errorsWarning    = 10
	// expiredWarningFor is how long an expired, unrevoked token is
	// still worth a warning.
	expiredWarningFor = 30 * 24 * time.Hour
)

// tokenHealth is a SCIM token with its traffic.
type tokenHealth struct {
	*scimflow.Token
	State       string // active, expiring, expired, revoked
	DaysLeft    int
	Requests24h int64
	Errors24h   int64
	LastRequest *time.Time
}

// uiBanner is a warning above every page.
type uiBanner struct {
	Text, Link, LinkText string
}

type provisioningHealth struct {
	Tokens   []tokenHealth
	Expiring int
	Banners  []uiBanner
}

func (s *Server) syncStaleAfter() time.Duration {
	if s.SyncStaleAfter > 0 {
		return s.SyncStaleAfter
	}
	return defaultSyncStaleAfter
}

// provisioning computes the org's SCIM tokens with their traffic and the
// warnings they call for.
func (s *Server) provisioning(c *gin.Context) (*provisioningHealth, error) {
	if err := s.FlushTraffic(c); err != nil {
		s.Logger.WarnContext(c, "flush scim traffic", "error", err)
	}
	ts, err := s.Tokens.ListTokens(c, orgID(c), scimflow.ScopeSCIM)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	traffic := map[string]scimflow.TokenTraffic{}
	if s.Traffic != nil {
		if traffic, err = s.Traffic.SCIMTraffic(c, orgID(c), now.Add(-24*time.Hour)); err != nil {
			return nil, err
		}
	}
	h := &provisioningHealth{}
	var requests, errors int64
	var last, newest time.Time // the latest request; the newest usable token
	for _, t := range ts {
		th := tokenHealth{Token: t, State: "active"}
		tr := traffic[t.ID]
		th.Requests24h, th.Errors24h, th.LastRequest = tr.Requests, tr.Errors, t.LastUsedAt
		if tr.LastAt != nil && (th.LastRequest == nil || tr.LastAt.After(*th.LastRequest)) {
			th.LastRequest = tr.LastAt
		}
		requests, errors = requests+tr.Requests, errors+tr.Errors
		if th.LastRequest != nil && th.LastRequest.After(last) {
			last = *th.LastRequest
		}
		switch {
		case t.RevokedAt != nil:
			th.State = "revoked"
		case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
			th.State = "expired"
			if now.Sub(*t.ExpiresAt) < expiredWarningFor {
				h.Banners = append(h.Banners, uiBanner{Text: fmt.Sprintf("The SCIM token “%s” expired on %s: an identity provider still using it can no longer provision users.",
					t.Name, t.ExpiresAt.UTC().Format("2006-01-02")), Link: "/admin/tokens", LinkText: "Create a new token"})
			}
		case t.ExpiresAt != nil && t.ExpiresAt.Sub(now) < tokenExpiryWarning:
			th.State = "expiring"
			th.DaysLeft = int(math.Ceil(t.ExpiresAt.Sub(now).Hours() / 24))
			h.Expiring++
			h.Banners = append(h.Banners, uiBanner{Text: fmt.Sprintf("The SCIM token “%s” expires in %s: provisioning stops then unless your identity provider uses a new token.",
				t.Name, plural(th.DaysLeft, "day")), Link: "/admin/tokens", LinkText: "Rotate the token"})
		}
		if th.State == "active" || th.State == "expiring" {
			if t.CreatedAt.After(newest) {
				newest = t.CreatedAt
			}
		}
		h.Tokens = append(h.Tokens, th)
	}
	// Quiet is only suspicious once provisioning was set up: a request
	// arrived, or a usable token exists for longer than the threshold.
	stale := s.syncStaleAfter()
	if ref := latest(last, newest); !ref.IsZero() && now.Sub(ref) > stale {
		text := fmt.Sprintf("No SCIM request has arrived for over %s", formatSince(stale))
		if !last.IsZero() {
			text += fmt.Sprintf(" (the last one on %s)", last.UTC().Format("2006-01-02 15:04 UTC"))
		}
		h.Banners = append(h.Banners, uiBanner{Text: text + ": check that provisioning runs in your identity provider and that it uses a valid token.",
			Link: "/admin/tokens", LinkText: "See provisioning health"})
	}
	if errors >= errorsWarning && float64(errors) >= errorRateWarning*float64(requests) {
		h.Banners = append(h.Banners, uiBanner{Text: fmt.Sprintf("%d of %s failed in the last 24 hours.", errors, plural(requests, "SCIM request")),
			Link: "/admin/tokens", LinkText: "See the errors"})
	}
	return h, nil
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// formatSince words a threshold: "24 hours", "3 days", "90 minutes".
func formatSince(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(math.Ceil(d.Minutes())), "minute")
}

// uiBanners is the warnings of a signed-in page; a failure to compute
// them is logged and shows none, rather than failing the page.
func (s *Server) uiBanners(c *gin.Context) []uiBanner {
	if adminUser(c) == nil || adminUser(c).Role != scimflow.RoleOrgAdmin {
		return nil
	}
	h, err := s.provisioning(c)
	if err != nil {
		s.logError(c, http.StatusInternalServerError, err)
		return nil
	}
	return h.Banners
}

func tokenHealthJSON(t tokenHealth) gin.H {
	return gin.H{"id": t.ID, "name": t.Name, "createdAt": timeJSON(&t.CreatedAt), "expiresAt": timeJSON(t.ExpiresAt),
		"revokedAt": timeJSON(t.RevokedAt), "lastUsedAt": timeJSON(t.LastRequest), "state": t.State,
		"requests24h": t.Requests24h, "errors24h": t.Errors24h}
}

// listSCIMTokens is GET /api/v1/scim/tokens: the org's SCIM tokens, never
// their secrets, with their traffic.
func (s *Server) listSCIMTokens(c *gin.Context) error {
	h, err := s.provisioning(c)
	if err != nil {
		return err
	}
	out := make([]gin.H, len(h.Tokens))
	for i, t := range h.Tokens {
		out[i] = tokenHealthJSON(t)
	}
	c.JSON(http.StatusOK, gin.H{"tokens": out})
	return nil
}

func failureJSON(f scimflow.SCIMFailure) gin.H {
	return gin.H{"time": timeJSON(&f.At), "method": f.Method, "path": f.Path, "status": f.Status, "scimType": f.SCIMType, "detail": f.Detail}
}

// scimTokenErrors is GET /api/v1/scim/tokens/{id}/errors: the latest
// failed SCIM requests made with the token, newest first.
func (s *Server) scimTokenErrors(c *gin.Context) error {
	fs, err := s.tokenFailures(c, c.Param("id"))
	if err != nil {
		return err
	}
	out := make([]gin.H, len(fs))
	for i, f := range fs {
		out[i] = failureJSON(f)
	}
	c.JSON(http.StatusOK, gin.H{"errors": out})
	return nil
}

func (s *Server) tokenFailures(c *gin.Context, id string) ([]scimflow.SCIMFailure, error) {
	if s.Traffic == nil {
		return nil, scimflow.Errorf(scimflow.ENOTFOUND, "SCIM token %s not found", id)
	}
	if err := s.FlushTraffic(c); err != nil {
		s.Logger.WarnContext(c, "flush scim traffic", "error", err)
	}
	return s.Traffic.SCIMFailures(c, orgID(c), id)
}

type uiTokenErrorsData struct {
	Token    tokenHealth
	Failures []scimflow.SCIMFailure
	Guides   any
}

// uiTokenErrors shows the latest failed requests of one SCIM token.
func (s *Server) uiTokenErrors(c *gin.Context) error {
	h, err := s.provisioning(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	for _, t := range h.Tokens {
		if t.ID != id {
			continue
		}
		fs, err := s.tokenFailures(c, id)
		if err != nil {
			return err
		}
		name := t.Name
		if name == "" {
			name = "(unnamed)"
		}
		s.render(c, http.StatusOK, "token_errors", &uiPage{Title: "Failed requests of “" + name + "”", Nav: "tokens",
			Body: uiTokenErrorsData{Token: t, Failures: fs, Guides: idpGuides}})
		return nil
	}
	return scimflow.Errorf(scimflow.ENOTFOUND, "SCIM token %s not found", id)
}
