package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimflow/scimflow/internal/testenv"
)

// runCmd runs one command in-process with the given environment.
func runCmd(t *testing.T, vars map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
	err := run(context.Background(), args, env)
	if err != nil {
		t.Logf("scimflow %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), err
}

func runJSON(t *testing.T, vars map[string]string, args ...string) map[string]any {
	t.Helper()
	out, err := runCmd(t, vars, args...)
	if err != nil {
		t.Fatalf("scimflow %s: %v", strings.Join(args, " "), err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("scimflow %s printed non-JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return m
}

// startServer runs a long-lived command (serve, dev) until the test ends
// and returns the base URL it listens on.
func startServer(t testing.TB, vars map[string]string, args ...string) (string, *syncBuffer, func()) {
	t.Helper()
	return startServerWith(t, vars, nil, args...)
}

// startServerWith is startServer with a last say on the environment.
func startServerWith(t testing.TB, vars map[string]string, adjust func(*environment), args ...string) (string, *syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	var out syncBuffer
	env := &environment{stdout: &out, stderr: io.Discard, getenv: func(k string) string { return vars[k] }, ready: func(a string) { ready <- a }}
	if adjust != nil {
		adjust(env)
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, env) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("scimflow %s exited before listening: %v", strings.Join(args, " "), err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("scimflow %s did not listen within 30s", strings.Join(args, " "))
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("scimflow %s: %v", strings.Join(args, " "), err)
			}
		})
	}
	t.Cleanup(stop)
	return "http://" + addr, &out, stop
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func do(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	return doWith(t, method, url, token, body, http.Header{"Content-Type": {"application/scim+json"}})
}

// doWith sends a request with a bearer token and the given headers and
// decodes the JSON answer.
func doWith(t testing.TB, method, url, token, body string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	maps.Copy(req.Header, header)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// TestServeEndToEnd drives the real commands against Postgres: migrate,
// org create, token create, serve, and a SCIM round trip.
func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	// /readyz checks Temporal too.
	addr, ns := testenv.TemporalServer(t)
	vars := map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0", "TEMPORAL_ADDRESS": addr, "TEMPORAL_NAMESPACE": ns}
	if out, err := runCmd(t, vars, "migrate"); err != nil || !strings.Contains(out, "postgres") {
		t.Fatalf("migrate: %v %q", err, out)
	}
	org := runJSON(t, vars, "org", "create", "--name", "Acme", "--plan", "enterprise", "--scim-groups", "--json")
	orgID, _ := org["id"].(string)
	if orgID == "" || !strings.HasPrefix(org["adminToken"].(string), "sfw_") || org["plan"] != "enterprise" || org["scimGroups"] != true {
		t.Fatalf("org create printed %v", org)
	}
	tok := runJSON(t, vars, "token", "create", "--org", orgID, "--scope", "scim", "--name", "entra", "--expires-in", "720h", "--json")
	secret, _ := tok["token"].(string)
	if tok["id"] == "" || secret == "" || tok["expiresAt"] == nil {
		t.Fatalf("token create printed %v", tok)
	}
	base, _, _ := startServer(t, vars, "serve")
	status, user := do(t, "POST", base+"/scim/v2/Users", secret, `{"userName":"e2e@example.com","active":true}`)
	if status != 201 || user["id"] == nil {
		t.Fatalf("POST /Users: %d %v", status, user)
	}
	status, _ = do(t, "GET", base+"/scim/v2/Users/"+user["id"].(string), secret, "")
	if status != 200 {
		t.Errorf("GET created user: %d", status)
	}
	if status, _ := do(t, "GET", base+"/readyz", "", ""); status != 200 {
		t.Errorf("/readyz = %d", status)
	}

	// Revoking the token through the CLI rejects it at once.
	runJSON(t, vars, "token", "revoke", "--org", orgID, "--id", tok["id"].(string), "--json")
	if status, _ := do(t, "GET", base+"/scim/v2/Users", secret, ""); status != 401 {
		t.Errorf("revoked token: status %d, want 401", status)
	}
	list := runJSON(t, vars, "token", "list", "--org", orgID, "--json")
	if n := len(list["tokens"].([]any)); n != 2 {
		t.Errorf("token list: %d tokens, want 2 (admin + scim)", n)
	}
	upd := runJSON(t, vars, "org", "update", "--org", orgID, "--plan", "free", "--scim-groups=false", "--json")
	if upd["plan"] != "free" || upd["scimGroups"] != false {
		t.Errorf("org update printed %v", upd)
	}
}

// TestDevWithSQLite starts `dev` with nothing but a data dir, as a newcomer
// does, provisions a user with the printed token, and restarts to check
// that data and credentials persist.
func TestDevWithSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"SCIMFLOW_DATA_DIR": dir, "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0"}
	base, out, stop := startServer(t, vars, "dev")
	if !strings.Contains(out.String(), "SCIM token:") || !strings.Contains(out.String(), "sqlite") {
		t.Errorf("dev output lacks credentials or database: %s", out)
	}
	creds := readDevCredentials(t, dir)
	status, user := do(t, "POST", base+"/scim/v2/Users", creds.SCIMToken, `{"userName":"dev@example.com"}`)
	if status != 201 {
		t.Fatalf("POST /Users on dev: %d %v", status, user)
	}
	stop()

	base, out, _ = startServer(t, vars, "dev")
	if !strings.Contains(out.String(), creds.SCIMToken) {
		t.Errorf("second start does not show the same SCIM token")
	}
	status, list := do(t, "GET", base+"/scim/v2/Users?filter=userName+eq+%22dev%40example.com%22", creds.SCIMToken, "")
	if status != 200 || list["totalResults"] != float64(1) {
		t.Errorf("after restart: %d %v", status, list)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"bogus"}, {"org"}, {"org", "create"}, {"token", "create", "--org", "x"}, {"migrate", "extra"}} {
		_, err := runCmd(t, map[string]string{}, args...)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("scimflow %v: error %v, want a usage error", args, err)
		}
	}
}

// readDevCredentials reads the credentials dev wrote to its data dir.
func readDevCredentials(t testing.TB, dir string) devCredentials {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "dev-credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var creds devCredentials
	if err := json.Unmarshal(raw, &creds); err != nil {
		t.Fatal(err)
	}
	return creds
}

// mustCall returns a caller of the API at base that fails t unless the
// answer is a success; header is added to every request.
func mustCall(t testing.TB, base string, header http.Header) func(method, path, token, body string) map[string]any {
	return func(method, path, token, body string) map[string]any {
		t.Helper()
		status, m := doWith(t, method, base+path, token, body, header)
		if status >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, status, m)
		}
		return m
	}
}
