package api

// The admin UI: server-rendered HTML (html/template) with a little vanilla
// JavaScript, embedded in the binary. It is the same product as the admin
// JSON API, behind a session cookie instead of a bearer token, and it
// calls the same store methods and the same checks.
//
// Sessions live in the database (admin_sessions), bound to the admin token
// they were opened with: signing out deletes the row, and revoking or
// expiring the token ends every session opened with it. The cookie holds
// a 256-bit random secret; the database holds only its hash.
//
// CSRF: every POST form carries a synchroniser token derived from the
// session secret, HMAC-SHA256(secret, "csrf"). A cross-site page can
// neither read the HttpOnly cookie nor the token, so it cannot forge a
// form; without a matching token a POST is refused with 403 before any
// handler runs. The sign-in form, which has no session yet, uses a
// double-submit cookie instead (login CSRF).

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scimflow"
)

//go:embed web
var webFS embed.FS

const (
	sessionCookie = "scimflow_session"
	loginCookie   = "scimflow_login"
	csrfField     = "csrf"
	// sessionTTL bounds a session; it also ends with its token.
	sessionTTL = 12 * time.Hour

	uiSessionKey = "uiSession"
)

func (s *Server) uiRoutes(ui *gin.RouterGroup) {
	static, _ := fs.Sub(webFS, "web/static")
	ui.GET("", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/admin/scim/groups") })
	ui.GET("/static/*file", s.uiStatic(http.FS(static)))
	ui.GET("/login", s.loginPage)
	ui.POST("/login", handle(s.login))
	// The guides are public, and keep the navigation for a signed-in admin.
	ui.GET("/docs/:guide", handle(s.uiOptionalSession), handle(s.uiGuide))

	in := ui.Group("", handle(s.uiSession), handle(s.rateLimit), handle(uiCSRF))
	in.POST("/logout", handle(s.logout))
	in.GET("/users", s.require(orgAdminPrereqs), handle(s.uiUsers))
	in.GET("/recalculations", s.require(dashboardPrereqs), handle(s.uiRecalculations))
	in.GET("/users/:id", s.require(orgAdminPrereqs), handle(s.uiUser))
	s.uiEntryPointRoutes(in)
	in.GET("/audit", s.require(orgAdminPrereqs), handle(s.uiAudit))

	tok := in.Group("/tokens", s.require(tokenPrereqs))
	tok.GET("", handle(s.uiTokens))
	tok.POST("", handle(s.uiCreateToken))
	tok.POST("/:id/revoke", handle(s.uiRevokeToken))
	tok.GET("/:id/errors", handle(s.uiTokenErrors))

	sc := in.Group("/scim", s.require(dashboardPrereqs))
	sc.GET("/groups", handle(s.uiGroups))
	sc.GET("/groups/:id", handle(s.uiGroup))
	sc.POST("/groups/:id/preview", handle(s.uiPreview))
	sc.POST("/groups/:id/apply", handle(s.uiApply))
	sc.GET("/groups/:id/history/:version", handle(s.uiRestore))

	// JSON for the progress bar: the same session, admin JSON errors.
	api := ui.Group("/api", s.errorsAs(surfaceUIJSON), handle(s.uiSession), handle(s.rateLimit), s.require(dashboardPrereqs))
	api.GET("/recalculations/:id", handle(s.uiRecalculation))
}

// uiHeaders makes admin pages uncacheable and unframeable, and allows
// only the UI's own scripts and styles.
func (s *Server) uiHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(c.Request.URL.Path, "/admin/static/") {
		h.Set("Cache-Control", "no-store")
	}
	c.Next()
}

func (s *Server) uiStatic(fsys http.FileSystem) gin.HandlerFunc {
	files := http.StripPrefix("/admin/static", http.FileServer(fsys))
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		files.ServeHTTP(c.Writer, c.Request)
	}
}

// secure reports whether cookies must be Secure: the request came over
// TLS, directly or through a proxy, or the public URL is https.
func (s *Server) secure(c *gin.Context) bool {
	return c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https") ||
		strings.HasPrefix(strings.ToLower(s.PublicURL), "https://")
}

func (s *Server) setCookie(c *gin.Context, name, value, path string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteLaxMode})
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfToken is the synchroniser token of a session.
func csrfToken(sessionSecret string) string {
	m := hmac.New(sha256.New, []byte(sessionSecret))
	m.Write([]byte("scimflow admin csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func equalTokens(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// safeNext returns next when it is a path inside the admin UI, so that the
// sign-in form cannot be turned into an open redirect.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/admin/") ||
		strings.HasPrefix(next, "//") || strings.Contains(next, "\\") || strings.HasPrefix(u.Path, "/admin/login") {
		return "/admin/scim/groups"
	}
	return u.RequestURI()
}

type loginData struct {
	Next, Error, LoginCSRF string
}

func (s *Server) loginPage(c *gin.Context) {
	s.renderLogin(c, http.StatusOK, c.Query("next"), "")
}

func (s *Server) renderLogin(c *gin.Context, status int, next, msg string) {
	tok := randomString()
	s.setCookie(c, loginCookie, tok, "/admin/login", 3600)
	s.render(c, status, "login", &uiPage{Title: "Sign in", Body: loginData{Next: safeNext(next), Error: msg, LoginCSRF: tok}})
}

// login exchanges an admin token for a session.
func (s *Server) login(c *gin.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	cookie, _ := c.Cookie(loginCookie)
	if !equalTokens(c.PostForm(csrfField), cookie) {
		return errFormExpired
	}
	next := c.PostForm("next")
	tok, err := s.Auth.Authenticate(c, strings.TrimSpace(c.PostForm("token")))
	if scimflow.ErrorCode(err) == scimflow.EUNAUTHORIZED {
		s.renderLogin(c, http.StatusUnauthorized, next, "This token is not valid: it is unknown, expired or revoked.")
		return nil
	}
	if err != nil {
		return err
	}
	if tok.Scope != scimflow.ScopeAdmin {
		s.renderLogin(c, http.StatusUnauthorized, next, fmt.Sprintf("This is a %s token. Sign in with an admin token (scimflow token create --scope admin).", tok.Scope))
		return nil
	}
	secret, exp, err := s.Sessions.CreateSession(c, tok.OrgID, tok.ID, sessionTTL)
	if err != nil {
		return err
	}
	s.setCookie(c, loginCookie, "", "/admin/login", -1)
	s.setCookie(c, sessionCookie, secret, "/admin", int(time.Until(exp).Seconds()))
	c.Redirect(http.StatusSeeOther, safeNext(next))
	return nil
}

func (s *Server) logout(c *gin.Context) error {
	if err := s.Sessions.DeleteSession(c, c.GetString(uiSessionKey)); err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, "", "/admin", -1)
	c.Redirect(http.StatusSeeOther, "/admin/login")
	return nil
}

// uiSession resolves the session cookie to its token, org and user, the
// way adminAuth does for a bearer token. Without a live session it is an
// EUNAUTHORIZED error: pages redirect to the sign-in form, JSON answers 401.
func (s *Server) uiSession(c *gin.Context) error {
	secret, _ := c.Cookie(sessionCookie)
	tok, err := s.Sessions.SessionToken(c, secret)
	if err == nil && tok.Scope != scimflow.ScopeAdmin {
		err = scimflow.Errorf(scimflow.EUNAUTHORIZED, "not an admin session")
	}
	if scimflow.ErrorCode(err) == scimflow.EUNAUTHORIZED {
		return scimflow.Errorf(scimflow.EUNAUTHORIZED, "your session has ended; sign in again")
	}
	if err != nil {
		return err
	}
	c.Set(uiSessionKey, secret)
	return s.signIn(c, tok)
}

// uiOptionalSession signs the request in when it carries a live session,
// and lets it through as anonymous otherwise: public pages (the guides)
// then show the same navigation and Sign out as every other page.
func (s *Server) uiOptionalSession(c *gin.Context) error {
	if _, err := c.Cookie(sessionCookie); err != nil {
		return nil
	}
	err := s.uiSession(c)
	if scimflow.ErrorCode(err) == scimflow.EUNAUTHORIZED {
		c.Set(uiSessionKey, "")
		return nil
	}
	return err
}

// parseForm reads a posted form (its size is capped by the route group)
// and says so when it is too large, rather than leaving it empty.
func parseForm(c *gin.Context) error {
	err := c.Request.ParseMultipartForm(adminMaxBody)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return scimflow.Errorf(scimflow.ETOOLARGE, "the form is larger than %d bytes", adminMaxBody)
	case err != nil && !errors.Is(err, http.ErrNotMultipart):
		return scimflow.Errorf(scimflow.EINVALID, "the form cannot be read")
	}
	return nil
}

// errFormExpired refuses a form without a valid CSRF token.
var errFormExpired = &scimflow.Error{Code: scimflow.EFORBIDDEN, Reason: "csrf",
	Message: "The form was not sent from a current scimflow page (its security token is missing or does not match your session). Nothing was changed. Go back, reload the page and try again."}

// uiCSRF refuses a POST whose form does not carry the session's token,
// before anything is read or written.
func uiCSRF(c *gin.Context) error {
	if c.Request.Method != http.MethodPost {
		return nil
	}
	if err := parseForm(c); err != nil {
		return err
	}
	if !equalTokens(c.PostForm(csrfField), csrfToken(c.GetString(uiSessionKey))) {
		return errFormExpired
	}
	return nil
}

// uiPage is what every page template gets.
type uiPage struct {
	Title  string
	Nav    string // the current section: groups, tokens, guides
	Org    *scimflow.Org
	User   *scimflow.User
	CSRF   string
	Flash  string
	Body   any
	Status int
	// Banners warn about provisioning (provisioning.go) on every page
	// of a signed-in Org Admin.
	Banners []uiBanner
}

type errorData struct {
	Heading, Message, RequestID string
}

// uiError renders err as an HTML page: the one place the admin UI
// renders errors. An ended session goes to the sign-in form, an unmet
// prerequisite shows the checklist, an expired form says so.
func (s *Server) uiError(c *gin.Context, err error) {
	code := scimflow.ErrorCode(err)
	status := httpStatus(code)
	s.logError(c, status, err)
	var e *scimflow.Error
	errors.As(err, &e)
	if unmet, ok := asUnmet(err); ok {
		s.render(c, http.StatusForbidden, "prerequisites", &uiPage{Title: "Not available yet",
			Body: prereqData{Checks: unmet.checks, Failed: unmet.failed, Guides: idpGuides}})
		return
	}
	if code == scimflow.EUNAUTHORIZED {
		s.toLogin(c)
		return
	}
	retryAfter(c, err)
	d := errorData{Heading: http.StatusText(status), Message: scimflow.ErrorMessage(err)}
	switch {
	case e != nil && e.Reason == errFormExpired.Reason:
		d.Heading = "This form has expired"
	case status == http.StatusNotFound:
		d.Heading = "Not found"
	case status >= 500:
		d.Heading = "Something went wrong"
		d.Message = "scimflow could not complete the request. Nothing you did caused this; try again in a moment, and give the request ID below to your operator if it keeps happening."
		d.RequestID = c.GetString(requestIDKey)
	}
	s.render(c, status, "error", &uiPage{Title: d.Heading, Body: d})
}

// toLogin sends the browser to the sign-in form, and back here afterwards.
func (s *Server) toLogin(c *gin.Context) {
	next := c.Request.URL.RequestURI()
	if c.Request.Method != http.MethodGet {
		// After signing in again, go back to the page of the form.
		next = ""
		if u, err := url.Parse(c.GetHeader("Referer")); err == nil && u.Host == c.Request.Host {
			next = u.RequestURI()
		}
	}
	c.Redirect(http.StatusSeeOther, "/admin/login?next="+url.QueryEscape(safeNext(next)))
}

type prereqData struct {
	Checks []prerequisite
	Failed prerequisite
	Guides any // idpGuides
}

var uiTemplates = sync.OnceValues(parseUITemplates)

var uiFuncs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil || v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return ""
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"add": func(a, b int) int { return a + b },
	// plural counts a noun: plural 1 "mapping" is "1 mapping", plural 2
	// "mapping" is "2 mappings"; an irregular plural is the third argument.
	"plural": plural,
}

// plural counts a noun; forms, when given, is its irregular plural.
func plural(n any, noun string, forms ...string) string {
	var v int64
	switch x := n.(type) {
	case int:
		v = int64(x)
	case int64:
		v = x
	}
	word := noun
	if v != 1 {
		word = noun + "s"
		if len(forms) > 0 {
			word = forms[0]
		}
	}
	return strconv.FormatInt(v, 10) + " " + word
}

// parseUITemplates parses each page with the layout; pages define
// "content".
func parseUITemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(uiFuncs).ParseFS(webFS, "web/templates/layout.html", "web/templates/partials.html", "web/templates/governance.html")
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(webFS, "web/templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		t, err := template.Must(base.Clone()).ParseFS(webFS, p)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(path.Base(p), ".html")] = t
	}
	return out, nil
}

// render writes a page with the layout. The org, user and CSRF token of
// the session, when there is one, are filled in.
func (s *Server) render(c *gin.Context, status int, name string, p *uiPage) {
	ts, err := uiTemplates()
	if err != nil {
		s.logError(c, http.StatusInternalServerError, err)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	t := ts[name]
	if t == nil {
		s.logError(c, http.StatusInternalServerError, errors.New("no template "+name))
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	if v, ok := c.Get(orgKey); ok {
		p.Org, _ = v.(*scimflow.Org)
	}
	p.User = adminUser(c)
	if secret := c.GetString(uiSessionKey); secret != "" {
		p.CSRF = csrfToken(secret)
		p.Banners = s.uiBanners(c)
	}
	p.Status = status
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.logError(c, http.StatusInternalServerError, err)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}
