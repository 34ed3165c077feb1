// Command scimflow runs the scimflow service and its operator tools.
//
//	scimflow dev        API + admin endpoints + worker + embedded Temporal (with its UI) in one process
//	scimflow serve      API + admin endpoints
//	scimflow worker     Temporal worker
//	scimflow reconcile --org ID [--wait 30s] [--json]
//	scimflow migrate    apply migrations and exit
//	scimflow org create --name NAME [--plan free|business|enterprise] [--scim-groups] --json
//	scimflow org update --org ID [--plan P] [--scim-groups=true|false] [--name N] --json
//	scimflow token create --org ID --scope scim|admin [--name N] [--expires-in 720h] --json
//	scimflow token list --org ID [--scope scim|admin] --json
//	scimflow token revoke --org ID --id TOKEN_ID --json
//	scimflow healthcheck [--url URL] [serve|worker]
//
// Configuration comes from the environment (DATABASE_URL, SCIMFLOW_HTTP_ADDR,
// SCIMFLOW_DATA_DIR, SCIMFLOW_PUBLIC_URL, TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, ...); flags override it. This
// package is the only place where dependencies are built and wired together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

const usage = `usage: scimflow <command> [flags]

commands:
  dev            run everything in one process: API, admin, worker, embedded Temporal and its UI
  serve          run the API and admin endpoints
  worker         run the Temporal worker that recalculates permissions
  migrate        apply database migrations and exit
  reconcile      recompute an org's effective roles from scratch and report drift
  org create     create an org, its first Org Admin and an admin token
  org update     change an org's plan, SCIM Groups feature or name
  token create   create an API token (scope scim or admin)
  token list     list an org's tokens
  token revoke   revoke a token
  healthcheck    exit 0 when the local serve (or worker) answers /readyz (for container health checks)

Run "scimflow <command> -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &environment{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	if err := run(ctx, os.Args[1:], env); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "scimflow:", err)
		}
		os.Exit(exitCode(err))
	}
}

// environment is what a command may touch of the outside world, so that
// tests can run commands in-process.
type environment struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// ready, when set, is told the API's address once it listens.
	ready func(addr string)
	// spanExporter, when set, receives the spans (tracing on, whatever
	// SCIMFLOW_TRACING says).
	spanExporter sdktrace.SpanExporter
}

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, env *environment) error {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	// Every command reads the same environment: a value that does not
	// parse (SCIMFLOW_LOG_LEVEL=verbose) stops any of them at start.
	envCfg := loadConfig(env)
	if err := envCfg.check(); err != nil && cmd != "help" && cmd != "-h" && cmd != "--help" {
		return err
	}
	switch cmd {
	case "dev":
		if !embeddedTemporal {
			return errNoDev
		}
		return runServe(ctx, rest, env, true)
	case "serve":
		return runServe(ctx, rest, env, false)
	case "migrate":
		return runMigrate(ctx, rest, env)
	case "worker":
		return runWorker(ctx, rest, env)
	case "reconcile":
		return runReconcile(ctx, rest, env)
	case "healthcheck":
		return runHealthcheck(ctx, rest, env)
	case "org", "token":
		if len(rest) == 0 {
			fmt.Fprint(env.stderr, usage)
			return usageError{cmd + " needs a sub-command"}
		}
		switch cmd + " " + rest[0] {
		case "org create":
			return runOrgCreate(ctx, rest[1:], env)
		case "org update":
			return runOrgUpdate(ctx, rest[1:], env)
		case "token create":
			return runTokenCreate(ctx, rest[1:], env)
		case "token list":
			return runTokenList(ctx, rest[1:], env)
		case "token revoke":
			return runTokenRevoke(ctx, rest[1:], env)
		}
		return usageError{fmt.Sprintf("unknown command %q", cmd+" "+rest[0])}
	case "help", "-h", "--help":
		fmt.Fprint(env.stdout, usage)
		return nil
	}
	fmt.Fprint(env.stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}
