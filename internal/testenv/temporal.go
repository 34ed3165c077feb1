package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/scimflow/scimflow/activities"
	"github.com/scimflow/scimflow/internal/engine"
	"github.com/scimflow/scimflow/worker"
)

// Temporal returns a client on a Temporal server for t: TEST_TEMPORAL_ADDRESS
// when set, else an in-process test server (go.temporal.io/server's
// temporaltest, under a second to start) with scimflow's search
// attributes registered.
func Temporal(t testing.TB) (client.Client, string) {
	t.Helper()
	if addr := os.Getenv("TEST_TEMPORAL_ADDRESS"); addr != "" {
		ns := os.Getenv("TEST_TEMPORAL_NAMESPACE")
		if ns == "" {
			ns = "default"
		}
		c, err := client.Dial(client.Options{HostPort: addr, Namespace: ns})
		if err != nil {
			missing(t, "Temporal at TEST_TEMPORAL_ADDRESS %s: %v", addr, err)
		}
		t.Cleanup(c.Close)
		ensureAttributes(t, c, ns)
		return c, ns
	}
	ts := temporaltest.NewServer()
	t.Cleanup(ts.Stop)
	c := ts.GetDefaultClient()
	ensureAttributes(t, c, ts.GetDefaultNamespace())
	return c, ts.GetDefaultNamespace()
}

func ensureAttributes(t testing.TB, c client.Client, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := engine.EnsureSearchAttributes(ctx, c, ns); err != nil {
		t.Fatalf("register search attributes: %v", err)
	}
}

// Engine wires e's API to a Temporal server: the API signals workflows,
// and a worker (returned, already started) processes them. batchSize 0
// keeps the default.
func (e *Env) Engine(batchSize int) (*engine.Client, sdkworker.Worker) {
	e.T.Helper()
	c, _ := Temporal(e.T)
	eng := &engine.Client{Temporal: c, BatchSize: batchSize, Logger: e.Server.Logger}
	e.Server.Live = eng
	e.DB.SetNotifier(eng)
	w := e.NewWorker(c)
	return eng, w
}

// NewWorker starts a worker on c for e's database; it stops with the test.
func (e *Env) NewWorker(c client.Client) sdkworker.Worker {
	e.T.Helper()
	w := worker.New(c, &activities.Activities{DB: e.DB}, sdkworker.Options{})
	if err := w.Start(); err != nil {
		e.T.Fatalf("start worker: %v", err)
	}
	e.T.Cleanup(w.Stop)
	return w
}
