package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNodevBuild builds scimflow as the production image does (-tags
// nodev) and checks that the binary links neither the Temporal server
// nor its web UI, and that `dev` then refuses at once, says why, and
// creates nothing.
func TestNodevBuild(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t, ".", "scimflow", "nodev")

	// go version -m lists the modules linked into the binary.
	mods := goTool(t, "version", "-m", bin)
	for _, mod := range []string{"go.temporal.io/server", "github.com/temporalio/ui-server/v2"} {
		if strings.Contains(mods, "\t"+mod+"\t") {
			t.Errorf("the -tags nodev binary links %s", mod)
		}
	}
	if !strings.Contains(mods, "\tgo.temporal.io/sdk\t") {
		t.Errorf("the -tags nodev binary does not link the Temporal SDK; go version -m:\n%s", mods)
	}

	dir := t.TempDir()
	cmd := exec.Command(bin, "dev")
	cmd.Env = append(os.Environ(), "SCIMFLOW_DATA_DIR="+dir, "DATABASE_URL=", "TEMPORAL_ADDRESS=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("scimflow dev in a nodev build: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{"-tags nodev", "scimflow serve", "scimflow worker", "TEMPORAL_ADDRESS"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("scimflow dev in a nodev build says %q, want it to mention %q", out, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("scimflow dev in a nodev build wrote %d entries into the data dir", len(entries))
	}
}
