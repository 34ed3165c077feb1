package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// runtimeConfig is how a long-running command logs and stops; every
// command reads it from the environment, so a bad value fails at start.
type runtimeConfig struct {
	LogFormat string     // text or json
	LogLevel  slog.Level // debug, info, warn or error
	// ShutdownTimeout bounds how long serve drains in-flight requests.
	ShutdownTimeout time.Duration
	// WorkerStopTimeout is how long a stopping worker lets running
	// activities finish before their context is cancelled.
	WorkerStopTimeout time.Duration
}

// loadRuntime reads SCIMFLOW_LOG_FORMAT, SCIMFLOW_LOG_LEVEL,
// SCIMFLOW_SHUTDOWN_TIMEOUT and SCIMFLOW_WORKER_STOP_TIMEOUT.
func (c *config) loadRuntime(env *environment) {
	c.LogFormat = strings.ToLower(env.getenv("SCIMFLOW_LOG_FORMAT"))
	switch c.LogFormat {
	case "":
		c.LogFormat = "text"
	case "text", "json":
	default:
		c.envErrs = append(c.envErrs, fmt.Errorf("SCIMFLOW_LOG_FORMAT=%q: want text or json", c.LogFormat))
		c.LogFormat = "text"
	}
	c.LogLevel = slog.LevelInfo
	switch v := strings.ToLower(env.getenv("SCIMFLOW_LOG_LEVEL")); v {
	case "", "info":
	case "debug", "warn", "error":
		c.LogLevel.UnmarshalText([]byte(v)) // cannot fail on these names
	default:
		c.envErrs = append(c.envErrs, fmt.Errorf("SCIMFLOW_LOG_LEVEL=%q: want debug, info, warn or error", v))
	}
	c.ShutdownTimeout = c.envDuration(env, "SCIMFLOW_SHUTDOWN_TIMEOUT", 30*time.Second)
	c.WorkerStopTimeout = c.envDuration(env, "SCIMFLOW_WORKER_STOP_TIMEOUT", 30*time.Second)
}

// logFlags registers the logging flags every command shares.
func (c *config) logFlags(fs *flag.FlagSet) {
	fs.Func("log-format", "log format, text or json (env SCIMFLOW_LOG_FORMAT; default text)", func(v string) error {
		if v = strings.ToLower(v); v != "text" && v != "json" {
			return fmt.Errorf("want text or json")
		}
		c.LogFormat = v
		return nil
	})
	fs.TextVar(&c.LogLevel, "log-level", c.LogLevel, "lowest level logged: debug, info, warn or error (env SCIMFLOW_LOG_LEVEL)")
}

// newLogger is the one logger of a command: its format and level come
// from the configuration, and everything else (the API's access log, the
// worker, the Temporal SDK) logs through its handler.
func newLogger(w io.Writer, c config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
