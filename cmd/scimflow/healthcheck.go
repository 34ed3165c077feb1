package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// runHealthcheck asks a running `serve` (SCIMFLOW_HTTP_ADDR) or `worker`
// (SCIMFLOW_OPS_ADDR) on this host whether it is ready, and exits 0 only
// on a 200 from /readyz. It exists for container health checks: the
// production image is distroless and has no curl or wget.
func runHealthcheck(ctx context.Context, args []string, env *environment) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	target := fs.String("url", "", "URL to GET instead of /readyz of the local serve or worker")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: scimflow healthcheck [flags] [serve|worker]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	of := "serve"
	switch fs.NArg() {
	case 0:
	case 1:
		of = fs.Arg(0)
	default:
		return usageError{fmt.Sprintf("healthcheck: unexpected argument %q", fs.Arg(1))}
	}
	url := *target
	if url == "" {
		cfg := loadConfig(env)
		addr := cfg.HTTPAddr
		switch of {
		case "serve":
		case "worker":
			addr = cfg.OpsAddr
		default:
			return usageError{fmt.Sprintf("healthcheck: %q is neither serve nor worker", of)}
		}
		u, err := localURL(addr, "/readyz")
		if err != nil {
			return usageError{"healthcheck: " + err.Error()}
		}
		url = u
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usageError{"healthcheck: " + err.Error()}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: GET %s: %s %s", url, res.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(env.stdout, "ready: GET %s: %s\n", url, res.Status)
	return nil
}

// localURL turns a listen address (":8080", "0.0.0.0:9090",
// "10.0.0.5:8080") into a URL on this host: a wildcard or empty host is
// reached through the loopback interface.
func localURL(listen, path string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}
