package api

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/access"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// The admin UI's governance: the impact on the confirmation step, the
// group's mapping history with restore, recent events on group and user
// pages, and the Audit page.

// recentEvents is how many events a group or user page shows.
const recentEvents = 10

// uiEvent is an audit event as the UI lists it.
type uiEvent struct {
	Time       time.Time
	Type       string
	Actor      scimflow.Actor
	Target     scimflow.Target
	TargetURL  string
	Summary    string
	ActorQuery string // the Audit page filtered on the actor
}

func roleTitle(r any) string {
	s, _ := r.(string)
	role, _ := access.ParseRole(s)
	return role.Title()
}

func num(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return 0
}

// mappingEntries reads the before or after list of a mapping.updated
// event: entry point id to name and role.
func mappingEntries(v any) map[string][2]string {
	out := map[string][2]string{}
	list, _ := v.([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		id, _ := m["id"].(string)
		name, _ := m["name"].(string)
		role, _ := m["role"].(string)
		out[id] = [2]string{name, role}
	}
	return out
}

// mappingDiff describes the change from before to after in words.
func mappingDiff(before, after map[string][2]string) []string {
	var out []string
	for id, a := range after {
		b, ok := before[id]
		switch {
		case !ok:
			out = append(out, "added "+a[0]+" as "+roleTitle(a[1]))
		case b[1] != a[1]:
			out = append(out, a[0]+" "+roleTitle(b[1])+" → "+roleTitle(a[1]))
		}
	}
	for id, b := range before {
		if _, ok := after[id]; !ok {
			out = append(out, "removed "+b[0])
		}
	}
	sort.Strings(out)
	return out
}

// eventSummary says in a line what an event changed.
func eventSummary(e scimflow.AuditEvent) string {
	d := e.Details
	switch e.Type {
	case scimflow.EventMappingUpdated:
		diff := mappingDiff(mappingEntries(d["before"]), mappingEntries(d["after"]))
		s := fmt.Sprintf("Version %d", num(d["version"]))
		if v, ok := d["restoredFrom"]; ok {
			s += fmt.Sprintf(", restored from version %d", num(v))
		}
		if len(diff) == 0 {
			return s + ": same mapping saved again"
		}
		return s + ": " + strings.Join(diff, "; ")
	case scimflow.EventRecalculationCompleted, scimflow.EventRecalculationFailed:
		s := fmt.Sprintf("%d of %s processed, %s", num(d["processed"]), plural(num(d["total"]), "user", "users"), plural(num(d["changed"]), "access change", "access changes"))
		if ms, ok := d["durationMs"]; ok {
			s += fmt.Sprintf(" in %.1f s", float64(num(ms))/1000)
		}
		if msg, _ := d["error"].(string); msg != "" {
			s += ": " + msg
		}
		return s
	case scimflow.EventMembersChanged:
		var parts []string
		if n := num(d["addedCount"]); n > 0 {
			parts = append(parts, plural(n, "member", "members")+" added")
		}
		if n := num(d["removedCount"]); n > 0 {
			parts = append(parts, plural(n, "member", "members")+" removed")
		}
		return strings.Join(parts, ", ")
	case scimflow.EventGroupCreated:
		return "with " + plural(num(d["addedCount"]), "member", "members")
	case scimflow.EventGroupDeleted:
		return "had " + plural(num(d["members"]), "member", "members")
	case scimflow.EventUserUpdated:
		if a, ok := d["active"].(map[string]any); ok {
			if a["to"] == false {
				return "deactivated"
			}
			return "reactivated"
		}
		if list, ok := d["changed"].([]any); ok {
			var names []string
			for _, n := range list {
				names = append(names, fmt.Sprint(n))
			}
			return "changed " + strings.Join(names, ", ")
		}
	case scimflow.EventEntryPointRenamed:
		return fmt.Sprintf("from %v to %v", d["from"], d["to"])
	case scimflow.EventEntryPointDeleted:
		return plural(num(d["usersLosingAccess"]), "user", "users") + " lost access"
	case scimflow.EventTokenCreated, scimflow.EventTokenRevoked:
		return fmt.Sprintf("%v scope", d["scope"])
	}
	return ""
}

func targetURL(t scimflow.Target, deleted bool) string {
	if deleted {
		return ""
	}
	switch t.Type {
	case scimflow.TargetGroup:
		return "/admin/scim/groups/" + url.PathEscape(t.ID)
	case scimflow.TargetUser:
		return "/admin/users/" + url.PathEscape(t.ID)
	case scimflow.TargetToken:
		return "/admin/tokens"
	}
	return ""
}

func newUIEvents(evs []scimflow.AuditEvent) []uiEvent {
	out := make([]uiEvent, len(evs))
	for i, e := range evs {
		deleted := strings.HasSuffix(e.Type, ".deleted")
		out[i] = uiEvent{Time: e.Time, Type: e.Type, Actor: e.Actor, Target: e.Target, TargetURL: targetURL(e.Target, deleted),
			Summary: eventSummary(e)}
		if e.Actor.ID != "" {
			out[i].ActorQuery = "/admin/audit?actorId=" + url.QueryEscape(e.Actor.ID)
		}
	}
	return out
}

// uiEventList is a short list of events with a link to all of them.
type uiEventList struct {
	Events  []uiEvent
	MoreURL string
}

func (s *Server) recentEvents(c *gin.Context, f scimflow.AuditFilter, more string) (*uiEventList, error) {
	f.Limit = recentEvents
	evs, _, err := s.Governance.AuditEvents(c, orgID(c), f)
	if err != nil {
		return nil, err
	}
	return &uiEventList{Events: newUIEvents(evs), MoreURL: more}, nil
}

type uiAuditData struct {
	Filter  scimflow.AuditFilter
	Types   []string
	Since   string
	Until   string
	Events  []uiEvent
	NextURL string
	Error   string
}

// uiAudit is the Audit page: the org's trail with the API's filters.
func (s *Server) uiAudit(c *gin.Context) error {
	f, err := auditFilter(c)
	d := uiAuditData{Filter: f, Types: scimflow.EventTypes(), Since: c.Query("since"), Until: c.Query("until")}
	if err != nil {
		d.Error = scimflow.ErrorMessage(err)
		s.render(c, http.StatusBadRequest, "audit", &uiPage{Title: "Audit", Nav: "audit", Body: d})
		return nil
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	evs, next, err := s.Governance.AuditEvents(c, orgID(c), f)
	if scimflow.ErrorCode(err) == scimflow.EINVALID {
		d.Error = scimflow.ErrorMessage(err)
		s.render(c, http.StatusBadRequest, "audit", &uiPage{Title: "Audit", Nav: "audit", Body: d})
		return nil
	}
	if err != nil {
		return err
	}
	d.Events = newUIEvents(evs)
	if next != "" {
		q := c.Request.URL.Query()
		q.Set("cursor", next)
		d.NextURL = "/admin/audit?" + q.Encode()
	}
	s.render(c, http.StatusOK, "audit", &uiPage{Title: "Audit", Nav: "audit", Body: d})
	return nil
}

// uiVersion is a stored mapping version on the group page, with what
// restoring it would change.
type uiVersion struct {
	scimflow.MappingVersion
	Current bool
	Diff    []string // from the current mapping to this version
}

// history returns the group's versions, newest first, each with its
// difference from the current mapping.
func (s *Server) history(c *gin.Context, current []scimflow.Mapping) ([]uiVersion, error) {
	vs, err := s.Governance.MappingVersions(c, orgID(c), c.Param("id"))
	if err != nil {
		return nil, err
	}
	now := map[string][2]string{}
	for _, m := range current {
		now[m.EntryPointID] = [2]string{m.EntryPointName, m.Role}
	}
	out := make([]uiVersion, len(vs))
	for i, v := range vs {
		then := map[string][2]string{}
		for _, m := range v.EntryPoints {
			then[m.EntryPointID] = [2]string{m.EntryPointName, m.Role}
		}
		out[i] = uiVersion{MappingVersion: v, Diff: mappingDiff(now, then), Current: i == 0}
	}
	return out, nil
}

// uiImpact is the preview of the confirmation step, in sentences.
type uiImpact struct {
	Lines         []string
	Losses        []string // prominent: access taken away
	UsersAffected int64
	Sample        []scimflow.ImpactSample
}

func newUIImpact(im *scimflow.Impact) *uiImpact {
	out := &uiImpact{UsersAffected: im.UsersAffected, Sample: im.Sample}
	for _, e := range im.EntryPoints {
		var parts []string
		if e.Gain > 0 {
			parts = append(parts, fmt.Sprintf("%s %s %s on %s", plural(e.Gain, "user", "users"), verb(e.Gain, "gains", "gain"), roleTitle(e.To), e.Name))
		}
		if e.Raise > 0 {
			parts = append(parts, fmt.Sprintf("%s %s up to %s on %s", plural(e.Raise, "user", "users"), verb(e.Raise, "goes", "go"), roleTitle(e.To), e.Name))
		}
		if e.Lower > 0 {
			parts = append(parts, fmt.Sprintf("%s %s down on %s", plural(e.Lower, "user", "users"), verb(e.Lower, "goes", "go"), e.Name))
		}
		for _, h := range e.Held {
			parts = append(parts, fmt.Sprintf("%s already %s %s there through %s and %s unchanged",
				plural(h.Users, "user", "users"), verb(h.Users, "has", "have"), roleTitle(h.Role), h.GroupName, verb(h.Users, "is", "are")))
		}
		if len(parts) > 0 {
			out.Lines = append(out.Lines, strings.Join(parts, "; ")+".")
		}
		if e.Lose > 0 {
			out.Losses = append(out.Losses, fmt.Sprintf("%s %s all access to %s.", plural(e.Lose, "user", "users"), verb(e.Lose, "loses", "lose"), e.Name))
		}
	}
	return out
}

func verb(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// uiRestore shows the confirmation step for restoring a stored version:
// its own preview, then an Update Group like any other.
func (s *Server) uiRestore(c *gin.Context) error {
	v, err := strconv.ParseInt(c.Param("version"), 10, 64)
	if err != nil {
		return scimflow.Errorf(scimflow.ENOTFOUND, "the group has no mapping version %q", c.Param("version"))
	}
	vs, err := s.Governance.MappingVersions(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
	}
	var found *scimflow.MappingVersion
	for i := range vs {
		if vs[i].Version == v {
			found = &vs[i]
		}
	}
	if found == nil {
		return scimflow.Errorf(scimflow.ENOTFOUND, "the group has no mapping version %d", v)
	}
	posted := map[string]string{}
	for _, m := range found.EntryPoints {
		posted[m.EntryPointID] = m.Role
	}
	return s.confirm(c, posted, found)
}
