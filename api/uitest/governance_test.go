package uitest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimflow/scimflow/internal/testenv"
)

// waitRecalculation polls the group page's progress panel until the
// recalculation it shows has completed.
func (s *session) waitRecalculation() {
	s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status := eval[string](s, `document.getElementById("progress").dataset.status`)
		if status == "completed" {
			return
		}
		if status == "failed" || time.Now().After(deadline) {
			s.t.Fatalf("recalculation %s: %s", status, s.text("#recalc-text"))
		}
		time.Sleep(50 * time.Millisecond) // polling a page, not synchronising goroutines
	}
}

// TestPreviewHistoryRestoreInBrowser walks an Org Admin through the
// governance of one group: the confirmation step's impact preview (a
// gain, then a loss shown as a warning), applying, the History section,
// restoring an earlier version through its own preview, and the Audit
// page recording it.
func TestPreviewHistoryRestoreInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	env := testenv.Server(t)
	env.Engine(0)
	epID := func(name string) string {
		t.Helper()
		res := env.Do(env.AdminToken, "POST", "/api/v1/entry-points", map[string]any{"name": name})
		if res.Status != 201 {
			t.Fatalf("create entry point: %d %s", res.Status, res.Body)
		}
		return res.JSON(t)["id"].(string)
	}
	finance, flows := epID("Finance"), epID("Flows")
	const members = 120
	prefix := testenv.SeedUsers(t, env.DB, env.OrgID, members)
	gid := testenv.SeedGroup(t, env.DB, env.OrgID, "Accounting", prefix, members)
	s := &session{t: t, ctx: ctx, dir: artifacts(t)}

	s.do(chromedp.Navigate(env.URL+"/admin/scim/groups/"+gid), chromedp.WaitVisible(chromedp.ID("token")))
	s.do(chromedp.SendKeys(chromedp.ID("token"), env.AdminToken), chromedp.Click(chromedp.CSS(`button[type=submit].primary`)),
		chromedp.WaitVisible(chromedp.ID("mappings-h")))

	// Version 1: Finance as Approver. The preview counts the gain.
	s.do(chromedp.Click(chromedp.ID("ep-"+finance)), chromedp.SetValue(chromedp.ID("role-"+finance), "approver"))
	s.do(chromedp.Click(chromedp.ID("update-group")), chromedp.WaitVisible(chromedp.ID("impact")))
	wantContains(t, "preview", s.text("#impact"), "120 users gain Approver on Finance")
	s.shot("preview gain")
	s.do(chromedp.Click(chromedp.ID("confirm-update")), chromedp.WaitVisible(chromedp.ID("recalc-bar")))
	s.waitRecalculation()

	// Version 2: Finance replaced by Flows. The loss is a warning.
	s.do(chromedp.Navigate(env.URL+"/admin/scim/groups/"+gid), chromedp.WaitVisible(chromedp.ID("mappings-h")))
	s.do(chromedp.Click(chromedp.ID("ep-"+finance)), chromedp.Click(chromedp.ID("ep-"+flows)),
		chromedp.SetValue(chromedp.ID("role-"+flows), "viewer"))
	s.do(chromedp.Click(chromedp.ID("update-group")), chromedp.WaitVisible(chromedp.ID("impact")))
	wantContains(t, "loss warning", s.text("#impact p.warning"), "120 users lose all access to Finance")
	wantContains(t, "preview", s.text("#impact"), "120 users gain Viewer on Flows")
	s.shot("preview loss")
	s.do(chromedp.Click(chromedp.ID("confirm-update")), chromedp.WaitVisible(chromedp.ID("recalc-bar")))
	s.waitRecalculation()

	// History: two versions, newest first; restore version 1.
	s.do(chromedp.Navigate(env.URL+"/admin/scim/groups/"+gid+"#history"), chromedp.WaitVisible(chromedp.ID("history-h")))
	history := s.text("#history")
	wantContains(t, "history", history, "Version 2 (current)", "Version 1", "Finance (approver)", "Restoring it would")
	if strings.Index(history, "Version 2") > strings.Index(history, "Version 1") {
		t.Errorf("history is not newest first:\n%s", history)
	}
	s.shot("history")
	s.do(chromedp.Click(chromedp.CSS(`#version-1 a.button`)), chromedp.WaitVisible(chromedp.ID("impact")))
	wantContains(t, "restore confirmation", s.text("main"), "Restoring version 1", "120 users gain Approver on Finance")
	wantContains(t, "restore loss warning", s.text("#impact p.warning"), "120 users lose all access to Flows")
	s.shot("restore preview")
	s.do(chromedp.Click(chromedp.ID("confirm-update")), chromedp.WaitVisible(chromedp.ID("recalc-bar")))
	s.waitRecalculation()

	// The group is back at version 1's mapping, as version 3.
	s.do(chromedp.Navigate(env.URL+"/admin/scim/groups/"+gid), chromedp.WaitVisible(chromedp.ID("history-h")))
	if !eval[bool](s, `document.getElementById("ep-`+finance+`").checked && !document.getElementById("ep-`+flows+`").checked`) {
		t.Errorf("after the restore the mapping is not Finance alone")
	}
	if got := eval[string](s, `document.getElementById("role-`+finance+`").value`); got != "approver" {
		t.Errorf("after the restore Finance is %q, want approver", got)
	}
	wantContains(t, "history after restore", s.text("#history"), "Version 3 (current)")
	wantContains(t, "recent changes", s.text("#events-h + .table-wrap"), "mapping.updated", "restored from version 1")

	// The Audit page lists the three mapping updates and their recalculations.
	s.do(chromedp.Navigate(env.URL+"/admin/audit?groupId="+gid), chromedp.WaitVisible(chromedp.CSS("table.events")))
	audit := s.text("table.events")
	if n := strings.Count(audit, "mapping.updated"); n != 3 {
		t.Errorf("the audit page shows %d mapping updates of the group, want 3:\n%s", n, audit)
	}
	if n := strings.Count(audit, "recalculation.completed"); n != 3 {
		t.Errorf("the audit page shows %d completed recalculations, want 3", n)
	}
	s.shot("audit")
}
