// scimflow admin UI: progressive enhancement only. Every page works
// without this script; it enables the role selectors as entry points are
// ticked, copies IDs and secrets, asks before revoking, and keeps the
// recalculation progress live.
(function () {
  "use strict";

  // A role selector is enabled only while its entry point is ticked.
  function syncRole(box) {
    var sel = document.getElementById(box.getAttribute("data-role"));
    if (!sel) return;
    sel.disabled = !box.checked;
    if (box.checked && !sel.value) sel.required = true;
    if (!box.checked) sel.required = false;
  }
  document.querySelectorAll("input[type=checkbox][data-role]").forEach(function (box) {
    syncRole(box);
    box.addEventListener("change", function () {
      syncRole(box);
      if (box.checked) {
        var sel = document.getElementById(box.getAttribute("data-role"));
        if (sel && !sel.value) sel.focus();
      }
    });
  });

  // Copy buttons: data-copy names the input to copy.
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var input = document.getElementById(btn.getAttribute("data-copy"));
      var status = btn.parentElement.parentElement.querySelector(".copied");
      var done = function () { if (status) status.textContent = "Copied to the clipboard."; };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
    });
  });

  function utc(iso) {
    return iso ? iso.slice(0, 10) + " " + iso.slice(11, 16) + " UTC" : "";
  }

  // The recalculations list: each pending or running row polls its own
  // progress until it ends.
  document.querySelectorAll("tr.recalc-row[data-url]").forEach(function (row) {
    var bar = row.querySelector("progress");
    var count = row.querySelector(".recalc-count");
    var state = row.querySelector(".recalc-state");
    function tick() {
      fetch(row.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (res) { if (!res.ok) throw new Error("HTTP " + res.status); return res.json(); })
        .then(function (r) {
          var pct = r.status === "completed" ? 100 : (r.total > 0 ? Math.min(100, Math.floor(r.processed * 100 / r.total)) : 0);
          bar.value = pct;
          count.textContent = r.processed + " of " + r.total + (r.total === 1 ? " user" : " users") + (r.eta ? " · " + r.eta : "");
          if (r.status !== row.getAttribute("data-status")) {
            row.setAttribute("data-status", r.status);
            state.textContent = r.status + (r.finishedAt ? " " + utc(r.finishedAt) : "");
          }
          if (r.status === "completed" || r.status === "failed") return;
          setTimeout(tick, 2000);
        })
        .catch(function () { setTimeout(tick, 5000); });
    }
    tick();
  });

  // Live recalculation progress: poll until completed or failed.
  var panel = document.getElementById("progress");
  if (!panel) return;
  var bar = document.getElementById("recalc-bar");
  var text = document.getElementById("recalc-text");
  var failure = document.getElementById("recalc-error");
  var reason = document.getElementById("recalc-reason");
  var retry = document.getElementById("recalc-retry");
  var lastText = text.textContent.trim();

  function say(s) {
    // Only changed text is announced by screen readers.
    if (s !== lastText) { text.textContent = s; lastText = s; }
  }
  function show(r) {
    panel.setAttribute("data-status", r.status);
    var total = r.total > 0 ? r.total : 1;
    bar.max = total;
    if (r.status === "pending") {
      bar.removeAttribute("value");
      say("Waiting to start…");
    } else if (r.status === "running") {
      bar.value = Math.min(r.processed, total);
      say(r.processed + " of " + r.total + " users processed" + (r.eta ? " · " + r.eta : ""));
    } else if (r.status === "completed") {
      bar.value = total;
      var finished = document.getElementById("recalc-finished");
      if (finished && r.finishedAt) {
        finished.querySelector("time").textContent = utc(r.finishedAt);
        finished.hidden = false;
      }
      say("Completed: " + r.processed + " of " + r.total + " users processed, " + r.changed + (r.changed === 1 ? " access change" : " access changes"));
    } else if (r.status === "failed") {
      say("Failed");
      reason.textContent = r.error || "unknown error";
      failure.hidden = false;
      retry.hidden = false;
    }
  }
  function poll() {
    var status = panel.getAttribute("data-status");
    if (status === "completed" || status === "failed") return;
    fetch(panel.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        if (res.status === 401) { window.location.reload(); throw new Error("session ended"); }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (r) { show(r); setTimeout(poll, 1000); })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
