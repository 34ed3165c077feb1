//go:build nodev

package main

import (
	"log/slog"
)

// embeddedTemporal is false in a -tags nodev build: the binary links
// neither the Temporal server nor its web UI,
// and `dev` refuses to start.
const embeddedTemporal = false

func startDevTemporal(config, *slog.Logger) (*devServer, error) { return nil, errNoDev }
