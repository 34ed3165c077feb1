package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestTracingFromRequestToActivities: an Update Group sent with a W3C
// traceparent header is one trace, from the HTTP request (named after its
// route) through the workflow start into the workflow and its activities
// on the worker.
func TestTracingFromRequestToActivities(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exp := keptSpans{tracetest.NewInMemoryExporter()}
	vars := map[string]string{"SCIMFLOW_DATA_DIR": dir, "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0"}
	base, _, stop := startServerWith(t, vars, func(env *environment) { env.spanExporter = exp }, "dev")
	creds := readDevCredentials(t, dir)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	call := mustCall(t, base, http.Header{"Content-Type": {"application/json"}})
	traced := mustCall(t, base, http.Header{"Content-Type": {"application/json"}, "Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}})
	uid := call("POST", "/scim/v2/Users", creds.SCIMToken, `{"userName":"traced@example.com"}`)["id"].(string)
	gid := call("POST", "/scim/v2/Groups", creds.SCIMToken, `{"displayName":"Traced","members":[{"value":"`+uid+`"}]}`)["id"].(string)
	ep := call("POST", "/api/v1/entry-points", creds.AdminToken, `{"name":"Flows"}`)["id"].(string)
	rec := traced("PUT", "/api/v1/scim/groups/"+gid+"/entry-points", creds.AdminToken, `{"entryPoints":[{"id":"`+ep+`","role":"approver"}]}`)
	id := rec["recalculation"].(map[string]any)["id"].(string)
	deadline := time.Now().Add(60 * time.Second)
	for call("GET", "/api/v1/recalculations/"+id, creds.AdminToken, "")["status"] != "completed" {
		if time.Now().After(deadline) {
			t.Fatal("recalculation did not complete within 60s")
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	stop() // flushes the spans

	kinds := map[string]bool{}
	var names []string
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID().String() != traceID {
			continue
		}
		names = append(names, s.Name)
		switch {
		case s.Name == "PUT /api/v1/scim/groups/:id/entry-points":
			kinds["http"] = true
		case strings.HasPrefix(s.Name, "StartWorkflow:") || strings.HasPrefix(s.Name, "SignalWithStartWorkflow:"):
			kinds["start"] = true
		case strings.HasPrefix(s.Name, "RunWorkflow:") || strings.HasPrefix(s.Name, "HandleSignal:"):
			// A new workflow runs; one already running handles the signal.
			kinds["workflow"] = true
		case strings.HasPrefix(s.Name, "RunActivity:"):
			kinds["activity"] = true
		}
	}
	for _, k := range []string{"http", "start", "workflow", "activity"} {
		if !kinds[k] {
			t.Errorf("no %s span in the request's trace; its spans: %v", k, names)
		}
	}
}

// TestTracingSetting: an unknown exporter is a usage error before
// anything starts.
func TestTracingSetting(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"SCIMFLOW_DATA_DIR": t.TempDir(), "SCIMFLOW_TRACING": "jaeger"}
	_, err := runCmd(t, vars, "dev")
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "SCIMFLOW_TRACING") {
		t.Fatalf("dev with SCIMFLOW_TRACING=jaeger: %v, want a usage error naming it", err)
	}
}

// keptSpans keeps the spans when the process shuts its exporter down
// (the in-memory exporter forgets them then).
type keptSpans struct{ *tracetest.InMemoryExporter }

func (keptSpans) Shutdown(context.Context) error { return nil }
