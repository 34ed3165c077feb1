package api

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/access"
	"github.com/scimflow/scimflow/internal/scimflow"
)

const uiPerPage = 25

// idpGuides are the troubleshooting guides, in docs/idp.
var idpGuides = []struct{ Slug, Title string }{
	{"entra-id", "Microsoft Entra ID"},
	{"okta", "Okta"},
	{"onelogin", "OneLogin"},
	{"jumpcloud", "JumpCloud"},
	{"pingone", "PingOne"},
	{"authentik", "authentik"},
	{"google-workspace", "Google Workspace"},
	{"rippling", "Rippling"},
	{"microsoft-validator", "Microsoft SCIM validator"},
	{"generic", "Any SCIM 2.0 client"},
}

type uiGroupsData struct {
	Search     string
	Groups     []uiGroupRow
	Total      int
	Page       int
	Pages      int
	PrevURL    string
	NextURL    string
	Guides     any
	FirstIndex int
}

func (s *Server) uiGroups(c *gin.Context) error {
	pageNo, _ := strconv.Atoi(c.Query("page"))
	pageNo = min(max(pageNo, 1), maxPage)
	search := strings.TrimSpace(c.Query("q"))
	gs, total, err := s.Access.ListGroupSummaries(c, orgID(c), search, (pageNo-1)*uiPerPage, uiPerPage)
	if err != nil {
		return err
	}
	rows := make([]uiGroupRow, len(gs))
	for i := range gs {
		// One indexed lookup per group of the page (recalculations_group).
		rec, err := s.Access.LatestRecalculation(c, orgID(c), gs[i].ID)
		if err != nil {
			return err
		}
		rows[i] = uiGroupRow{GroupSummary: gs[i], LastChange: lastChange(&gs[i], rec)}
		if rec != nil {
			r := s.recalcRow(rec)
			rows[i].Recalc = &r
		}
	}
	d := uiGroupsData{Search: search, Groups: rows, Total: total, Page: pageNo, Pages: (total + uiPerPage - 1) / uiPerPage,
		Guides: idpGuides, FirstIndex: (pageNo-1)*uiPerPage + 1}
	d.PrevURL, d.NextURL = pageLinks("/admin/scim/groups", search, pageNo, d.Pages)
	s.render(c, http.StatusOK, "groups", &uiPage{Title: "SCIM groups", Nav: "groups", Body: d})
	return nil
}

// uiGroupRow is a group of the list with its recalculation state.
type uiGroupRow struct {
	scimflow.GroupSummary
	LastChange time.Time
	Recalc     *uiRecalcRow // the latest, nil for none
}

// uiMappingRow is one entry point on the group page.
type uiMappingRow struct {
	ID, Name string
	Selected bool
	Role     string
}

type uiGroupData struct {
	Group      *scimflow.GroupSummary
	LastChange time.Time
	Rows       []uiMappingRow
	Roles      []access.Role
	Members    uiPeople
	Recalc     *uiRecalcView
	Retry      []scimflow.Mapping // the saved mapping, re-submitted by Retry
	Error      string
	Selected   int
	History    []uiVersion
	Events     *uiEventList
}

// entryPointNames maps the page's entry point ids to their names.
func (d *uiGroupData) entryPointNames() map[string]string {
	names := make(map[string]string, len(d.Rows))
	for _, r := range d.Rows {
		names[r.ID] = r.Name
	}
	return names
}

// uiRecalcView is a recalculation as the progress panel shows it.
type uiRecalcView struct {
	ID, Status, Error string
	TemporalURL       string
	Total, Processed  int64
	Changed           int64
	ETA               string
	Finished          *time.Time
}

func newUIRecalcView(r *scimflow.Recalculation) *uiRecalcView {
	v := &uiRecalcView{ID: r.ID, Status: r.Status, Error: r.Error, Total: r.Total, Processed: r.Processed, Changed: r.Changed, Finished: r.FinishedAt}
	if eta, ok := r.ETA(time.Now()); ok {
		v.ETA = formatETA(eta)
	}
	return v
}

// formatETA says roughly how long is left.
func formatETA(eta time.Duration) string {
	sec := int(eta.Seconds())
	switch {
	case sec < 5:
		return "a few seconds left"
	case sec < 90:
		return "about " + strconv.Itoa(sec) + " seconds left"
	case sec < 90*60:
		return "about " + strconv.Itoa((sec+30)/60) + " minutes left"
	}
	return "about " + strconv.Itoa((sec+1800)/3600) + " hours left"
}

// entryPoints returns every entry point of the org: the mapping form and
// the API's group entry points have a row for each, selected or not (orgs
// have hundreds, not millions).
func (s *Server) entryPoints(c *gin.Context) ([]*scimflow.EntryPoint, error) {
	var all []*scimflow.EntryPoint
	for offset := 0; ; offset += 500 {
		eps, total, err := s.EntryPoints.ListEntryPoints(c, orgID(c), "", offset, 500)
		if err != nil {
			return nil, err
		}
		all = append(all, eps...)
		if offset+500 >= total {
			return all, nil
		}
	}
}

// groupPage gathers the group page. form, when not nil, is a submitted
// mapping to show instead of the saved one (after a validation error).
func (s *Server) groupPage(c *gin.Context, form map[string]string) (*uiGroupData, error) {
	gid := c.Param("id")
	g, err := s.Access.GroupSummary(c, orgID(c), gid)
	if err != nil {
		return nil, err
	}
	saved, err := s.Access.GroupMappings(c, orgID(c), gid)
	if err != nil {
		return nil, err
	}
	eps, err := s.entryPoints(c)
	if err != nil {
		return nil, err
	}
	role := map[string]string{}
	for _, m := range saved {
		role[m.EntryPointID] = m.Role
	}
	if form != nil {
		role = form
	}
	d := &uiGroupData{Group: g, Roles: access.Roles(), Retry: saved}
	for _, e := range eps {
		r, ok := role[e.ID]
		d.Rows = append(d.Rows, uiMappingRow{ID: e.ID, Name: e.Name, Selected: ok, Role: r})
		if ok {
			d.Selected++
		}
	}
	ms, err := s.Access.GroupMembersByName(c, orgID(c), gid, g.MemberCount, pageQuery(c, ""))
	if err != nil {
		return nil, err
	}
	d.Members = peopleLinks(ms, url.Values{}, "/admin/scim/groups/"+url.PathEscape(gid), "#members")

	var rec *scimflow.Recalculation
	if id := c.Query("recalculation"); id != "" {
		if r, err := s.Access.FindRecalculation(c, orgID(c), id); err == nil && r.GroupID == gid {
			rec = r
		}
	}
	if rec == nil {
		if rec, err = s.Access.LatestRecalculation(c, orgID(c), gid); err != nil {
			return nil, err
		}
	}
	if rec != nil {
		d.Recalc = newUIRecalcView(s.liveProgress(c, rec))
		d.Recalc.TemporalURL = s.temporalURL(rec)
	}
	latest, err := s.Access.LatestRecalculation(c, orgID(c), gid)
	if err != nil {
		return nil, err
	}
	d.LastChange = lastChange(g, latest)
	if d.History, err = s.history(c, saved); err != nil {
		return nil, err
	}
	d.Events, err = s.recentEvents(c, scimflow.AuditFilter{GroupID: gid}, "/admin/audit?groupId="+url.QueryEscape(gid))
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Server) uiGroup(c *gin.Context) error {
	d, err := s.groupPage(c, nil)
	if err != nil {
		return err
	}
	s.render(c, http.StatusOK, "group", &uiPage{Title: d.Group.DisplayName, Nav: "groups", Body: d})
	return nil
}

// postedMapping reads the mapping form: a checkbox "ep" per selected
// entry point and a select "role.<entry point id>" for its role.
func postedMapping(c *gin.Context) (map[string]string, []string) {
	out := map[string]string{}
	var problems []string
	for _, id := range c.PostFormArray("ep") {
		r := strings.ToLower(strings.TrimSpace(c.PostForm("role." + id)))
		if !plainText(id) {
			id = "?"
		}
		if _, ok := access.ParseRole(r); !ok {
			problems = append(problems, id)
		}
		out[id] = r
	}
	return out, problems
}

// change is one line of the confirmation.
type uiChange struct {
	EntryPoint, From, To string
}

type uiPreviewData struct {
	Group                   *scimflow.GroupSummary
	Added, Removed, Changed []uiChange
	Unchanged               int
	Mapping                 []scimflow.Mapping
	Members                 int
	Impact                  *uiImpact
	// Restoring is the version being restored, Skipped the names of its
	// entry points deleted since.
	Restoring *scimflow.MappingVersion
	Skipped   []string
}

// uiPreview is the confirmation step of Update Group: it shows what will
// change, and what that does to the members' access, and asks to apply
// it. Nothing is written.
func (s *Server) uiPreview(c *gin.Context) error {
	posted, problems := postedMapping(c)
	if len(problems) > 0 {
		return s.confirmProblems(c, posted, problems)
	}
	return s.confirm(c, posted, nil)
}

// confirmProblems shows the group page again, naming the selected entry
// points that have no role.
func (s *Server) confirmProblems(c *gin.Context, posted map[string]string, problems []string) error {
	d, err := s.groupPage(c, posted)
	if err != nil {
		return err
	}
	names := d.entryPointNames()
	var ns []string
	for _, id := range problems {
		ns = append(ns, names[id])
	}
	sort.Strings(ns)
	d.Error = "Choose a role for every selected entry point: " + strings.Join(ns, ", ") + "."
	s.render(c, http.StatusUnprocessableEntity, "group", &uiPage{Title: d.Group.DisplayName, Nav: "groups", Body: d})
	return nil
}

// confirm renders the confirmation step for the mapping posted (entry
// point id to role); restoring, when set, is the stored version it comes
// from, whose deleted entry points are skipped and named.
func (s *Server) confirm(c *gin.Context, posted map[string]string, restoring *scimflow.MappingVersion) error {
	d, err := s.groupPage(c, posted)
	if err != nil {
		return err
	}
	names := d.entryPointNames()
	p := uiPreviewData{Group: d.Group, Members: d.Group.MemberCount, Restoring: restoring}
	if restoring != nil {
		for _, m := range restoring.EntryPoints {
			if _, ok := names[m.EntryPointID]; !ok {
				p.Skipped = append(p.Skipped, m.EntryPointName)
				delete(posted, m.EntryPointID)
			}
		}
	}
	for id := range posted {
		if _, ok := names[id]; !ok {
			return scimflow.Errorf(scimflow.EINVALID, "entry point %s does not exist (it may have been deleted); reload the page", id)
		}
	}
	saved := map[string]string{}
	for _, m := range d.Retry {
		saved[m.EntryPointID] = m.Role
	}
	title := func(r string) string {
		role, _ := access.ParseRole(r)
		return role.Title()
	}
	for _, r := range d.Rows { // in entry point order
		old, had := saved[r.ID]
		now, has := posted[r.ID]
		switch {
		case has:
			p.Mapping = append(p.Mapping, scimflow.Mapping{EntryPointID: r.ID, EntryPointName: r.Name, Role: now})
			if !had {
				p.Added = append(p.Added, uiChange{r.Name, "", title(now)})
			} else if old != now {
				p.Changed = append(p.Changed, uiChange{r.Name, title(old), title(now)})
			} else {
				p.Unchanged++
			}
		case had:
			p.Removed = append(p.Removed, uiChange{r.Name, title(old), ""})
		}
	}
	ms := make([]scimflow.Mapping, len(p.Mapping))
	for i, m := range p.Mapping {
		ms[i] = scimflow.Mapping{GroupID: d.Group.ID, EntryPointID: m.EntryPointID, Role: m.Role}
	}
	im, err := s.Governance.PreviewGroupMappings(c, orgID(c), d.Group.ID, ms)
	if err != nil {
		return err
	}
	p.Impact = newUIImpact(im)
	s.render(c, http.StatusOK, "preview", &uiPage{Title: "Confirm changes to " + d.Group.DisplayName, Nav: "groups", Body: p})
	return nil
}

// uiApply is Update Group: it replaces the mapping like PUT
// /api/v1/scim/groups/{id}/entry-points and shows the progress.
func (s *Server) uiApply(c *gin.Context) error {
	posted, problems := postedMapping(c)
	if len(problems) > 0 {
		return scimflow.Errorf(scimflow.EINVALID, "every selected entry point needs a role")
	}
	gid := c.Param("id")
	ms := make([]scimflow.Mapping, 0, len(posted))
	for id, r := range posted {
		ms = append(ms, scimflow.Mapping{GroupID: gid, EntryPointID: id, Role: r})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].EntryPointID < ms[j].EntryPointID })
	// The confirmation carries the mapping version it showed: if another
	// admin saved the group meanwhile, the diff the admin approved is stale.
	var ifVersion *int64
	if v, err := strconv.ParseInt(c.PostForm("mappingVersion"), 10, 64); err == nil {
		ifVersion = &v
	}
	var rec *scimflow.Recalculation
	var err error
	if v, perr := strconv.ParseInt(c.PostForm("restoreFrom"), 10, 64); perr == nil {
		// A restore is recorded as one, with the version it restores.
		rec, _, err = s.Governance.RestoreGroupMappings(c, orgID(c), gid, v, ifVersion)
	} else {
		rec, err = s.Access.SetGroupMappings(c, orgID(c), gid, ms, ifVersion)
	}
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/admin/scim/groups/"+url.PathEscape(gid)+"?recalculation="+url.QueryEscape(rec.ID)+"#progress")
	return nil
}

// uiRecalculation is GET /api/v1/recalculations/{id} for the session: the
// progress bar polls it.
func (s *Server) uiRecalculation(c *gin.Context) error {
	rec, err := s.Access.FindRecalculation(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
	}
	rec = s.liveProgress(c, rec)
	out := recalculationJSON(rec)
	if eta, ok := rec.ETA(time.Now()); ok {
		out["eta"] = formatETA(eta)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

type uiUserData struct {
	Subject *scimflow.User
	Email   string
	Groups  []scimflow.Group
	Access  []uiAccessRow
	Events  *uiEventList
}

type uiAccessRow struct {
	EntryPoint string
	Role       string
	Allows     string
	Grants     []uiGrantRow
}

type uiGrantRow struct {
	GroupID, GroupName, Role string
	Wins                     bool
}

func (s *Server) uiUser(c *gin.Context) error {
	u, err := s.Orgs.OrgUser(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
	}
	acc, err := s.Access.UserAccess(c, orgID(c), u.ID)
	if err != nil {
		return err
	}
	d := uiUserData{Subject: u}
	if full, err := s.Users.FindUser(c, orgID(c), u.ID); err == nil && len(full.Emails) > 0 {
		d.Email = full.Emails[0].Value
	}
	groups, err := s.Users.GroupsOf(c, orgID(c), []string{u.ID})
	if err != nil {
		return err
	}
	d.Groups = groups[u.ID]
	if d.Events, err = s.recentEvents(c, scimflow.AuditFilter{UserID: u.ID}, "/admin/audit?userId="+url.QueryEscape(u.ID)); err != nil {
		return err
	}
	for _, a := range acc {
		role, _ := access.ParseRole(a.Role)
		row := uiAccessRow{EntryPoint: a.EntryPoint.Name, Role: role.Title(), Allows: role.Allows()}
		for _, g := range a.Grants {
			gr, _ := access.ParseRole(g.Role)
			row.Grants = append(row.Grants, uiGrantRow{GroupID: g.GroupID, GroupName: g.GroupName, Role: gr.Title(), Wins: g.Role == a.Role})
		}
		d.Access = append(d.Access, row)
	}
	name := u.DisplayName
	if name == "" {
		name = u.UserName
	}
	s.render(c, http.StatusOK, "user", &uiPage{Title: name, Nav: "people", Body: d})
	return nil
}

// tokenExpiryWarning is how close to its expiry a token is flagged.
const tokenExpiryWarning = 14 * 24 * time.Hour

type uiTokensData struct {
	Tokens    []tokenHealth
	Created   *scimflow.Token
	Secret    string
	SCIMBase  string
	Expiring  int
	Error     string
	FormName  string
	FormValid string
}

func (s *Server) tokensPage(c *gin.Context) (*uiTokensData, error) {
	h, err := s.provisioning(c)
	if err != nil {
		return nil, err
	}
	return &uiTokensData{SCIMBase: s.baseURL(c) + "/scim/v2", FormValid: "2160h", Tokens: h.Tokens, Expiring: h.Expiring}, nil
}

func (s *Server) uiTokens(c *gin.Context) error {
	d, err := s.tokensPage(c)
	if err != nil {
		return err
	}
	p := &uiPage{Title: "SCIM tokens", Nav: "tokens", Body: d}
	for _, t := range d.Tokens {
		if t.ID == c.Query("revoked") && t.RevokedAt != nil {
			p.Flash = "Token “" + t.Name + "” revoked. Identity providers using it can no longer provision users."
		}
	}
	s.render(c, http.StatusOK, "tokens", p)
	return nil
}

// tokenValidities are the expiry choices of the create form.
var tokenValidities = map[string]time.Duration{
	"720h": 30 * 24 * time.Hour, "2160h": 90 * 24 * time.Hour, "4380h": 182 * 24 * time.Hour,
	"8760h": 365 * 24 * time.Hour, "never": 0,
}

// uiCreateToken creates a SCIM token and shows its secret, once: the page
// is rendered in the POST response (not redirected to) so the secret is
// never in a URL or a later page.
func (s *Server) uiCreateToken(c *gin.Context) error {
	name := strings.TrimSpace(c.PostForm("name"))
	validity, ok := tokenValidities[c.PostForm("expiresIn")]
	d, err := s.tokensPage(c)
	if err != nil {
		return err
	}
	if name == "" || len(name) > 100 || !plainText(name) || !ok {
		d.Error, d.FormName, d.FormValid = "Give the token a name (up to 100 characters) and choose when it expires.", name, c.PostForm("expiresIn")
		s.render(c, http.StatusUnprocessableEntity, "tokens", &uiPage{Title: "SCIM tokens", Nav: "tokens", Body: d})
		return nil
	}
	tok, secret, err := s.Tokens.CreateSCIMToken(c, orgID(c), name, validity)
	if err != nil {
		return err
	}
	if d, err = s.tokensPage(c); err != nil {
		return err
	}
	d.Created, d.Secret = tok, secret
	s.render(c, http.StatusCreated, "tokens", &uiPage{Title: "SCIM tokens", Nav: "tokens", Body: d})
	return nil
}

// uiRevokeToken revokes a SCIM token. Admin tokens are not managed here:
// an id that is not one of the org's SCIM tokens is a 404.
func (s *Server) uiRevokeToken(c *gin.Context) error {
	ts, err := s.Tokens.ListTokens(c, orgID(c), scimflow.ScopeSCIM)
	if err != nil {
		return err
	}
	id := c.Param("id")
	if !slices.ContainsFunc(ts, func(t *scimflow.Token) bool { return t.ID == id }) {
		return scimflow.Errorf(scimflow.ENOTFOUND, "SCIM token %s not found", id)
	}
	if _, err := s.Tokens.RevokeToken(c, orgID(c), id); err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/admin/tokens?revoked="+url.QueryEscape(id))
	return nil
}

// plainText reports whether a form value can be stored: valid UTF-8
// without NUL (Postgres refuses both with a server error).
func plainText(v string) bool {
	return utf8.ValidString(v) && !strings.ContainsRune(v, 0)
}

// pageLinks are the previous and next links of page of pages of a list
// at path, keeping its search; "" where there is none.
func pageLinks(path, search string, page, pages int) (prev, next string) {
	link := func(p int) string {
		q := url.Values{}
		if search != "" {
			q.Set("q", search)
		}
		q.Set("page", strconv.Itoa(p))
		return path + "?" + q.Encode()
	}
	if page > 1 {
		prev = link(page - 1)
	}
	if page < pages {
		next = link(page + 1)
	}
	return prev, next
}
