package main

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestDevPinnedPorts: a Temporal port set by flag or environment that is
// taken stops dev with an error naming it, instead of moving.
func TestDevPinnedPorts(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"frontend flag", nil, []string{"--temporal-port", taken}, "frontend port " + taken},
		{"UI environment", map[string]string{"SCIMFLOW_TEMPORAL_UI_PORT": taken}, nil, "web UI port " + taken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"SCIMFLOW_DATA_DIR": t.TempDir(), "SCIMFLOW_HTTP_ADDR": "127.0.0.1:0"}
			for k, v := range tc.vars {
				vars[k] = v
			}
			_, err := runCmd(t, vars, append([]string{"dev"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "in use") {
				t.Errorf("dev with a pinned port that is taken: %v, want an error naming the %s", err, tc.want)
			}
		})
	}
	if _, err := runCmd(t, map[string]string{"SCIMFLOW_TEMPORAL_PORT": "http"}, "dev"); err == nil || !strings.Contains(err.Error(), "SCIMFLOW_TEMPORAL_PORT") {
		t.Errorf("dev with SCIMFLOW_TEMPORAL_PORT=http: %v, want an error naming the variable", err)
	}
}
