//go:build !nodev

package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/scimflow/scimflow/internal/devtemporal"
	"github.com/scimflow/scimflow/workflows"
)

// embeddedTemporal reports whether this binary carries the embedded
// Temporal server and UI that `dev` starts. Production images are built
// with -tags nodev and leave them out (devtemporal_nodev.go).
const embeddedTemporal = true

// startDevTemporal starts the embedded Temporal server and its UI in the
// data dir, with scimflow's namespace and search attributes.
func startDevTemporal(cfg config, logger *slog.Logger) (*devServer, error) {
	srv, err := devtemporal.Start(devtemporal.Config{
		DataDir:         filepath.Join(cfg.DataDir, "temporal"),
		Namespace:       cfg.TemporalNamespace,
		FrontendPort:    cfg.TemporalPort.port,
		PinFrontendPort: cfg.TemporalPort.pinned,
		UIPort:          cfg.TemporalUIPort.port,
		PinUIPort:       cfg.TemporalUIPort.pinned,
		SearchAttributes: map[string]enumspb.IndexedValueType{
			workflows.OrgIDAttribute.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			workflows.GroupIDAttribute.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		},
		Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded Temporal: %w", err)
	}
	return &devServer{FrontendAddr: srv.FrontendAddr, UIURL: srv.UIURL, Stop: srv.Stop}, nil
}
