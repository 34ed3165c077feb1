package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// The recalculations page and the recalculation state shown on the group
// pages: what is running, how far it is, how each one ended, and a link to
// its workflow in the Temporal UI when one is configured.

// recalculationsShown is how many recalculations the page lists; the
// running ones among them ask Temporal for their live progress.
const recalculationsShown = 50

// uiRecalcRow is a recalculation as the lists show it.
type uiRecalcRow struct {
	*scimflow.Recalculation
	Percent     int
	ETA         string
	TemporalURL string
}

// recalcRow prepares rec for a list.
func (s *Server) recalcRow(rec *scimflow.Recalculation) uiRecalcRow {
	r := uiRecalcRow{Recalculation: rec, TemporalURL: s.temporalURL(rec)}
	switch {
	case rec.Status == scimflow.RecalcCompleted:
		r.Percent = 100
	case rec.Total > 0:
		r.Percent = int(min(100, rec.Processed*100/rec.Total))
	}
	if eta, ok := rec.ETA(time.Now()); ok {
		r.ETA = formatETA(eta)
	}
	return r
}

// temporalURL links a recalculation to its workflow in the Temporal UI:
// a search by workflow ID, which finds every run, including the ones
// continued as new. "" without a UI address or before the workflow ran.
func (s *Server) temporalURL(rec *scimflow.Recalculation) string {
	if s.TemporalUIURL == "" || rec.WorkflowID == "" {
		return ""
	}
	ns := s.TemporalNamespace
	if ns == "" {
		ns = "default"
	}
	u, err := url.Parse(s.TemporalUIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	u = u.JoinPath("namespaces", ns, "workflows")
	u.RawQuery = url.Values{"query": {`WorkflowId="` + rec.WorkflowID + `"`}}.Encode()
	return u.String()
}

type uiRecalculationsData struct {
	Rows   []uiRecalcRow
	Active int
}

func (s *Server) uiRecalculations(c *gin.Context) error {
	recs, err := s.Access.RecentRecalculations(c, orgID(c), recalculationsShown)
	if err != nil {
		return err
	}
	d := uiRecalculationsData{}
	for _, rec := range recs {
		if rec.Status == scimflow.RecalcPending || rec.Status == scimflow.RecalcRunning {
			d.Active++
			rec = s.liveProgress(c, rec)
		}
		d.Rows = append(d.Rows, s.recalcRow(rec))
	}
	s.render(c, http.StatusOK, "recalculations", &uiPage{Title: "Recalculations", Nav: "recalculations", Body: d})
	return nil
}

// lastChange is when a group last changed, its mapping included: the
// newest of its SCIM update and its latest Update Group.
func lastChange(g *scimflow.GroupSummary, rec *scimflow.Recalculation) time.Time {
	if rec != nil && rec.Kind == scimflow.RecalcGroup && rec.CreatedAt.After(g.UpdatedAt) {
		return rec.CreatedAt
	}
	return g.UpdatedAt
}
