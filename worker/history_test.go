package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// recordHistory writes the history of a finished workflow to
// workflows/testdata/<name>.json when SCIMFLOW_RECORD_HISTORY=1, so that
// the replay tests there can be refreshed after an intended change:
//
//	SCIMFLOW_RECORD_HISTORY=1 go test ./worker -run TestUpdateGroupRecalculates
func recordHistory(t *testing.T, c client.Client, workflowID, name string) {
	if os.Getenv("SCIMFLOW_RECORD_HISTORY") != "1" {
		return
	}
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "workflows", "testdata", name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events of %s in %s", len(h.Events), workflowID, path)
}
