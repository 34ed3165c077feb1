package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/scimflow/scimflow/internal/store"
	"github.com/scimflow/scimflow/internal/testenv"
	"github.com/scimflow/scimflow/workflows"
)

// TestServeDrainsOnShutdown: when serve's context ends (SIGTERM), it stops
// accepting connections at once, lets the request in flight finish with
// 200, and returns nil (exit 0).
func TestServeDrainsOnShutdown(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	ln, cancel, served := runServeHTTP(t, h, 30*time.Second)

	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		answered <- answer{res.StatusCode, string(b), err}
	}()
	<-started
	cancel() // the signal

	// New connections are refused while the request is still running.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("serve still accepts connections 10s after shutdown began")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	select {
	case err := <-served:
		t.Fatalf("serve returned (%v) before its request finished", err)
	default:
	}
	close(release)
	if a := <-answered; a.err != nil || a.status != http.StatusOK || a.body != "done" {
		t.Errorf("request in flight during shutdown: %d %q %v, want 200 done", a.status, a.body, a.err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve after a clean drain: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after the drain")
	}
}

// TestServeShutdownIsBounded: a request that outlives the drain timeout
// is cut off and serve reports it.
func TestServeShutdownIsBounded(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	ln, cancel, served := runServeHTTP(t, h, 100*time.Millisecond)
	go http.Get("http://" + ln.Addr().String() + "/stuck")
	<-started
	cancel()
	select {
	case err := <-served:
		if err == nil || !strings.Contains(err.Error(), "still running") {
			t.Errorf("serve with a stuck request: %v, want an error naming the requests still running", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve waited past its drain timeout")
	}
}

// TestWorkerStopLetsRunningBatchFinish: SIGTERM to a worker whose batch
// is running (here: waiting on a table lock the test holds) stops polling
// but lets the batch finish within SCIMFLOW_WORKER_STOP_TIMEOUT; the batch
// completes on its first attempt instead of failing and waiting for
// another worker.
func TestWorkerStopLetsRunningBatchFinish(t *testing.T) {
	t.Parallel()
	addr, ns := testenv.TemporalServer(t)
	vars := map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0",
		"SCIMFLOW_OPS_ADDR": "127.0.0.1:0", "TEMPORAL_ADDRESS": addr, "TEMPORAL_NAMESPACE": ns,
		"SCIMFLOW_WORKER_STOP_TIMEOUT": "60s"}
	org := runJSON(t, vars, "org", "create", "--name", "Drain", "--plan", "enterprise", "--scim-groups", "--json")
	orgID, admin := org["id"].(string), org["adminToken"].(string)
	runJSON(t, vars, "token", "create", "--org", orgID, "--scope", "scim", "--json") // Update Group needs an active SCIM integration
	api, _, _ := startServer(t, vars, "serve")
	db, err := store.Open(context.Background(), vars["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const n = 50
	prefix := testenv.SeedUsers(t, db, orgID, n)
	groupID := testenv.SeedGroup(t, db, orgID, "Engineering", prefix, n)
	eps := testenv.SeedEntryPoints(t, db, orgID, 1)

	// Every batch blocks on its first write until the test lets it go.
	locker, lock := lockEffectiveRoles(t, vars["DATABASE_URL"])

	logs, stopWorker, waitWorker := startWorker(t, vars)

	body := fmt.Sprintf(`{"entryPoints":[{"id":%q,"role":"approver"}]}`, eps[0])
	if status, res := do(t, "PUT", api+"/api/v1/scim/groups/"+groupID+"/entry-points", admin, body); status != http.StatusAccepted {
		t.Fatalf("Update Group: %d %v", status, res)
	}
	poll(t, "a batch waiting on the lock", 30*time.Second, func() (bool, error) {
		var waiting int
		err := locker.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return waiting > 0, err
	})

	stopWorker() // SIGTERM
	poll(t, "the worker to begin stopping", 30*time.Second, func() (bool, error) { return strings.Contains(logs.String(), "stopping worker"), nil })
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := waitWorker(60 * time.Second); err != nil {
		t.Fatalf("worker after SIGTERM: %v", err)
	}

	// The history says every batch that started completed, on its first
	// attempt, and none failed or timed out.
	tc := testenv.DialTemporal(t, addr, ns)
	iter := tc.GetWorkflowHistory(context.Background(), workflows.GroupWorkflowID(orgID, groupID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	started, completed := 0, 0
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			started++
			if a := ev.GetActivityTaskStartedEventAttributes().GetAttempt(); a != 1 {
				t.Errorf("activity attempt %d: a batch was retried", a)
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			completed++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			t.Errorf("activity %s: %v", ev.GetEventType(), ev.GetAttributes())
		}
	}
	// StartGroupPass plus at least one batch ran on this worker.
	if started < 2 || completed != started {
		t.Errorf("%d activities started, %d completed; want every started one completed", started, completed)
	}
	for _, bad := range []string{"client connection is closing", "RecordActivityHeartbeat with error"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("worker log holds %q:\n%s", bad, logs.String())
		}
	}
}

// startWorker runs `scimflow worker` in-process until the test ends or
// stop is called, and returns its log; wait returns its result once it
// has exited, and may be called any number of times.
func startWorker(t *testing.T, vars map[string]string) (logs *syncBuffer, stop func(), wait func(timeout time.Duration) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	ready := make(chan string, 1)
	env := &environment{stdout: io.Discard, stderr: logs, getenv: func(k string) string { return vars[k] }, ready: func(a string) { ready <- a }}
	exited := make(chan struct{})
	var err error
	go func() {
		defer close(exited)
		err = run(ctx, []string{"worker"}, env)
	}()
	wait = func(timeout time.Duration) error {
		select {
		case <-exited:
			return err
		case <-time.After(timeout):
			t.Fatalf("worker did not exit within %s", timeout)
			return nil
		}
	}
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("worker exited at start: %v", err)
	}
	return logs, cancel, wait
}

// lockEffectiveRoles holds a lock that blocks every write to the
// effective roles (reads go on) until the returned transaction ends.
func lockEffectiveRoles(t *testing.T, databaseURL string) (*sql.DB, *sql.Tx) {
	t.Helper()
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if _, err := tx.Exec("LOCK TABLE effective_roles IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	return db, tx
}

// runServeHTTP serves h on a local port with the given drain timeout
// until cancel, whose result comes on served.
func runServeHTTP(t *testing.T, h http.Handler, drain time.Duration) (net.Listener, context.CancelFunc, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- serveHTTP(ctx, ln, h, slog.New(slog.NewTextHandler(io.Discard, nil)), drain)
	}()
	return ln, cancel, served
}
