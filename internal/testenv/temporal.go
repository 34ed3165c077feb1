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
	addr, ns := TemporalServer(t)
	return DialTemporal(t, addr, ns), ns
}

// TemporalServer returns the frontend address and namespace of a Temporal
// server for t, with scimflow's search attributes registered:
// TEST_TEMPORAL_ADDRESS when set, else an in-process test server that
// stops with t. Other processes can reach it too.
func TemporalServer(t testing.TB) (hostPort, namespace string) {
	t.Helper()
	if addr := os.Getenv("TEST_TEMPORAL_ADDRESS"); addr != "" {
		ns := os.Getenv("TEST_TEMPORAL_NAMESPACE")
		if ns == "" {
			ns = "default"
		}
		ensureAttributes(t, DialTemporal(t, addr, ns), ns)
		return addr, ns
	}
	ts := temporaltest.NewServer()
	t.Cleanup(ts.Stop)
	ensureAttributes(t, ts.GetDefaultClient(), ts.GetDefaultNamespace())
	return ts.GetFrontendHostPort(), ts.GetDefaultNamespace()
}

// DialTemporal returns a client of the server at hostPort, closed with t.
func DialTemporal(t testing.TB, hostPort, namespace string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: namespace})
	if err != nil {
		missing(t, "Temporal at %s: %v", hostPort, err)
	}
	t.Cleanup(c.Close)
	return c
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
	eng := e.UseEngine(c, batchSize)
	return eng, e.NewWorker(c)
}

// UseEngine makes e's API and store hand their work to Temporal through c.
func (e *Env) UseEngine(c client.Client, batchSize int) *engine.Client {
	e.T.Helper()
	eng := &engine.Client{Temporal: c, BatchSize: batchSize, Logger: e.Server.Logger}
	e.Server.Live = eng
	e.DB.SetNotifier(eng)
	return eng
}

// NewWorker starts a worker on c for e's database; it stops with the test.
func (e *Env) NewWorker(c client.Client) sdkworker.Worker {
	e.T.Helper()
	w := worker.New(c, "", &activities.Activities{DB: e.DB}, sdkworker.Options{})
	if err := w.Start(); err != nil {
		e.T.Fatalf("start worker: %v", err)
	}
	e.T.Cleanup(w.Stop)
	return w
}
