package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRuntimeEnvIsCheckedByEveryCommand: a log or shutdown setting that
// does not parse is a usage error of whatever command runs, before it
// does anything.
func TestRuntimeEnvIsCheckedByEveryCommand(t *testing.T) {
	t.Parallel()
	bad := []map[string]string{
		{"SCIMFLOW_LOG_FORMAT": "xml"},
		{"SCIMFLOW_LOG_LEVEL": "verbose"},
		{"SCIMFLOW_SHUTDOWN_TIMEOUT": "soon"},
		{"SCIMFLOW_WORKER_STOP_TIMEOUT": "-1s"},
	}
	commands := [][]string{{"serve"}, {"dev"}, {"worker"}, {"migrate"}, {"reconcile", "--org", "x"},
		{"org", "create", "--name", "x", "--json"}, {"token", "list", "--org", "x", "--json"}, {"healthcheck"}}
	for _, vars := range bad {
		for _, args := range commands {
			_, err := runCmd(t, vars, args...)
			var u usageError
			if !errors.As(err, &u) || exitCode(err) != 2 {
				t.Errorf("scimflow %v with %v: %v, want a usage error", args, vars, err)
			}
		}
	}
}

func TestLoadRuntime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		vars   map[string]string
		format string
		level  slog.Level
		drain  time.Duration
		stop   time.Duration
	}{
		{map[string]string{}, "text", slog.LevelInfo, 30 * time.Second, 30 * time.Second},
		{map[string]string{"SCIMFLOW_LOG_FORMAT": "JSON", "SCIMFLOW_LOG_LEVEL": "debug"}, "json", slog.LevelDebug, 30 * time.Second, 30 * time.Second},
		{map[string]string{"SCIMFLOW_LOG_LEVEL": "WARN", "SCIMFLOW_SHUTDOWN_TIMEOUT": "5s", "SCIMFLOW_WORKER_STOP_TIMEOUT": "2m"}, "text", slog.LevelWarn, 5 * time.Second, 2 * time.Minute},
		{map[string]string{"SCIMFLOW_LOG_LEVEL": "error"}, "text", slog.LevelError, 30 * time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		c := loadConfig(&environment{getenv: func(k string) string { return tt.vars[k] }})
		if err := c.check(); err != nil {
			t.Errorf("loadConfig(%v): %v", tt.vars, err)
		}
		if c.LogFormat != tt.format || c.LogLevel != tt.level || c.ShutdownTimeout != tt.drain || c.WorkerStopTimeout != tt.stop {
			t.Errorf("loadConfig(%v) = %s %s %s %s, want %s %s %s %s", tt.vars, c.LogFormat, c.LogLevel, c.ShutdownTimeout, c.WorkerStopTimeout,
				tt.format, tt.level, tt.drain, tt.stop)
		}
	}
}

// TestNewLogger: the format and level apply to every line, the Temporal
// SDK's included (it logs through the same handler).
func TestNewLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	vars := map[string]string{"SCIMFLOW_LOG_FORMAT": "json", "SCIMFLOW_LOG_LEVEL": "warn"}
	c := loadConfig(&environment{getenv: func(k string) string { return vars[k] }})
	logger := newLogger(&buf, c)
	logger.Info("hidden")
	logger.Warn("shown", "n", 1)
	sdk := temporalLogger(logger)
	sdk.Info("sdk hidden")
	sdk.Warn("sdk shown")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want the 2 warnings:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"shown", "sdk shown"} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil || m["msg"] != want || m["level"] != "WARN" {
			t.Errorf("line %d = %s (%v), want JSON %q at WARN", i, lines[i], err, want)
		}
	}
}
