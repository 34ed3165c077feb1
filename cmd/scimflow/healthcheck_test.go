package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLocalURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ listen, want string }{
		{":8080", "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:9090", "http://127.0.0.1:9090/readyz"},
		{"[::]:9090", "http://127.0.0.1:9090/readyz"},
		{"10.0.0.5:8080", "http://10.0.0.5:8080/readyz"},
		{"[fd00::1]:8080", "http://[fd00::1]:8080/readyz"},
		{"localhost:8080", "http://localhost:8080/readyz"},
	} {
		got, err := localURL(tt.listen, "/readyz")
		if err != nil || got != tt.want {
			t.Errorf("localURL(%q) = %q, %v, want %q", tt.listen, got, err, tt.want)
		}
	}
	if _, err := localURL("8080", "/readyz"); err == nil {
		t.Errorf("localURL(%q): no error", "8080")
	}
}

// TestHealthcheck runs the command against a stand-in for /readyz of serve
// (SCIMFLOW_HTTP_ADDR) and of the worker's ops port (SCIMFLOW_OPS_ADDR).
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	status := map[string]int{}
	srv := func(name string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status[name])
			w.Write([]byte(`"` + name + `"`))
		}))
		t.Cleanup(s.Close)
		return strings.TrimPrefix(s.URL, "http://")
	}
	serveAddr, workerAddr := srv("serve"), srv("worker")
	vars := map[string]string{"SCIMFLOW_HTTP_ADDR": serveAddr, "SCIMFLOW_OPS_ADDR": workerAddr}
	for _, tt := range []struct {
		args          []string
		serve, worker int
		ok            bool
	}{
		{[]string{"healthcheck"}, 200, 503, true},
		{[]string{"healthcheck", "serve"}, 503, 200, false},
		{[]string{"healthcheck", "worker"}, 503, 200, true},
		{[]string{"healthcheck", "worker"}, 200, 503, false},
		{[]string{"healthcheck", "--url", "http://" + workerAddr + "/readyz"}, 503, 200, true},
		{[]string{"healthcheck", "--url", "http://" + workerAddr + "/nothing"}, 200, 200, false},
	} {
		status["serve"], status["worker"] = tt.serve, tt.worker
		out, err := runCmd(t, vars, tt.args...)
		if (err == nil) != tt.ok {
			t.Errorf("scimflow %v with serve %d, worker %d: %v, want ok=%v", tt.args, tt.serve, tt.worker, err, tt.ok)
		}
		if tt.ok && !strings.HasPrefix(out, "ready: ") {
			t.Errorf("scimflow %v printed %q", tt.args, out)
		}
	}

	// Nothing listening is "not ready", a mistake in the arguments is a usage error.
	if _, err := runCmd(t, map[string]string{"SCIMFLOW_HTTP_ADDR": "127.0.0.1:1"}, "healthcheck"); err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Errorf("healthcheck with nothing listening: %v", err)
	}
	for _, args := range [][]string{{"healthcheck", "migrate"}, {"healthcheck", "serve", "worker"}} {
		if _, err := runCmd(t, vars, args...); exitCode(err) != 2 {
			t.Errorf("scimflow %v: %v, want a usage error", args, err)
		}
	}
}
