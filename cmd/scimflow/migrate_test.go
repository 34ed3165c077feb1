package main

import (
	"context"
	"strings"
	"testing"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/scimflow/scimflow/internal/testenv"
	"github.com/scimflow/scimflow/workflows"
)

// TestMigratePreparesTemporal: with TEMPORAL_ADDRESS, migrate creates a
// missing namespace and registers scimflow's search attributes on it; run
// again, it finds both and changes nothing.
func TestMigratePreparesTemporal(t *testing.T) {
	t.Parallel()
	addr, _ := testenv.TemporalServer(t)
	const ns = "scimflow-migrate-test"
	vars := map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "TEMPORAL_ADDRESS": addr, "TEMPORAL_NAMESPACE": ns}
	for i, want := range []string{"created", "exists"} {
		out, err := runCmd(t, vars, "migrate")
		if err != nil {
			t.Fatalf("migrate run %d: %v", i+1, err)
		}
		if !strings.Contains(out, `Temporal namespace "`+ns+`"`) || !strings.Contains(out, want) {
			t.Errorf("migrate run %d printed %q, want the namespace %s", i+1, out, want)
		}
	}
	c := testenv.DialTemporal(t, addr, ns)
	nc, err := client.NewNamespaceClient(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Describe(context.Background(), ns); err != nil {
		t.Fatalf("namespace %s after migrate: %v", ns, err)
	}
	res, err := c.OperatorService().ListSearchAttributes(context.Background(), &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{workflows.OrgIDAttribute.GetName(), workflows.GroupIDAttribute.GetName()} {
		if _, ok := res.GetCustomAttributes()[a]; !ok {
			t.Errorf("search attribute %s missing after migrate: %v", a, res.GetCustomAttributes())
		}
	}
}
