// Package devtemporal runs a Temporal server and its web UI inside the
// scimflow process, for `scimflow dev`: SQLite persistence in the data
// dir (WAL journal), so that a restart keeps workflows, and no binary to
// download.
package devtemporal

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	enumspb "go.temporal.io/api/enums/v1"
)

// Config configures the embedded server.
type Config struct {
	DataDir   string // the SQLite file lives here (temporal.db)
	Namespace string // created on start; default "default"
	Host      string // listen host; default 127.0.0.1
	// FrontendPort and UIPort are tried first (Temporal's usual 7233 and
	// 8233, so that CLI commands find a running dev server); a free port
	// is picked when they are taken, unless they are pinned, when Start
	// fails instead. 0 always picks a free port.
	FrontendPort    int
	UIPort          int
	PinFrontendPort bool
	PinUIPort       bool
	// SearchAttributes are registered on the namespace when it is created.
	SearchAttributes map[string]enumspb.IndexedValueType
	Logger           *slog.Logger
}

// Server is a running embedded Temporal server with its UI.
type Server struct {
	server       temporal.Server
	ui           *uiserver.Server
	FrontendAddr string // host:port of the gRPC frontend
	UIURL        string // http://host:port of the web UI
}

// freePort asks the kernel for a free TCP port on host.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// choosePort returns the port for the listener named what: want when it
// is free; else an error when want is pinned, or fallback (any free port
// when 0). The choice is logged at INFO, with the taken port it replaces.
func choosePort(cfg Config, what string, want int, pinned bool, fallback int) (int, error) {
	port := want
	if want == 0 || !portFree(cfg.Host, want) {
		if want != 0 && pinned {
			return 0, fmt.Errorf("the Temporal %s port %d on %s is in use (by another `scimflow dev` or Temporal server?); "+
				"it was set explicitly, so no other port is tried", what, want, cfg.Host)
		}
		port = fallback
		if port == 0 {
			var err error
			if port, err = freePort(cfg.Host); err != nil {
				return 0, fmt.Errorf("find a free port: %w", err)
			}
		}
	}
	if cfg.Logger != nil {
		attrs := []any{"addr", net.JoinHostPort(cfg.Host, strconv.Itoa(port))}
		if want != 0 && port != want {
			attrs = append(attrs, "in_use", want)
		}
		cfg.Logger.Info("embedded Temporal "+what, attrs...)
	}
	return port, nil
}

// Start starts the server and its UI.
func Start(cfg Config) (*Server, error) {
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	ports := make([]int, 9)
	for i := range ports {
		p, err := freePort(cfg.Host)
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ports[i] = p
	}
	frontend, err := choosePort(cfg, "frontend", cfg.FrontendPort, cfg.PinFrontendPort, ports[0])
	if err != nil {
		return nil, err
	}
	// The UI's port is chosen before the server starts, so that a pinned
	// port that is taken fails fast.
	uiPort, err := choosePort(cfg, "web UI", cfg.UIPort, cfg.PinUIPort, 0)
	if err != nil {
		return nil, err
	}
	dbPath := filepath.Join(cfg.DataDir, "temporal.db")
	sqlCfg := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbPath,
		// WAL: the default rollback journal is several times slower.
		ConnectAttributes: map[string]string{"mode": "rwc", "_journal_mode": "wal", "_synchronous": "2"},
	}
	if _, err := os.Stat(dbPath); os.IsNotExist(err) {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("set up Temporal schema: %w", err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig("active", cfg.Namespace, false, cfg.SearchAttributes)
	if err != nil {
		return nil, err
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		if strings.Contains(err.Error(), "locked") {
			return nil, fmt.Errorf("%s is in use: is another `scimflow dev` running with this data dir? (%w)", dbPath, err)
		}
		return nil, fmt.Errorf("create namespace: %w", err)
	}

	service := func(grpcPort, membershipPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpcPort, MembershipPort: membershipPort, BindOnIP: cfg.Host}}
	}
	conf := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: cfg.Host},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: net.JoinHostPort(cfg.Host, strconv.Itoa(ports[8])), HandlerPath: "/metrics"}},
		},
		Persistence: config.Persistence{
			DefaultStore: sqliteplugin.PluginName, VisibilityStore: sqliteplugin.PluginName, NumHistoryShards: 1,
			DataStores: map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace: false, FailoverVersionIncrement: 10,
			MasterClusterName: "active", CurrentClusterName: "active",
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: net.JoinHostPort(cfg.Host, strconv.Itoa(frontend))},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": service(frontend, ports[1]),
			"history":  service(ports[2], ports[3]),
			"matching": service(ports[4], ports[5]),
			"worker":   service(ports[6], ports[7]),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: net.JoinHostPort(cfg.Host, strconv.Itoa(frontend))},
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(log.NewNoopLogger()),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("create Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start Temporal server: %w", err)
	}
	s := &Server{server: srv, FrontendAddr: net.JoinHostPort(cfg.Host, strconv.Itoa(frontend))}

	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		TemporalGRPCAddress: s.FrontendAddr,
		Host:                cfg.Host,
		Port:                uiPort,
		EnableUI:            true,
		DefaultNamespace:    cfg.Namespace,
		DisableNewsFetch:    true, // no internet here, and no need
		HideLogs:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
	}))
	go func() {
		if err := s.ui.Start(); err != nil && cfg.Logger != nil {
			cfg.Logger.Warn("Temporal UI stopped", "error", err)
		}
	}()
	s.UIURL = fmt.Sprintf("http://%s:%d", cfg.Host, uiPort)
	return s, nil
}

// Stop stops the UI and the server.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop()
	}
	s.server.Stop()
}
