package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/server/common/dynamicconfig"
	"gopkg.in/yaml.v3"
)

// The production stack is docker-compose.yml and the Dockerfile. CI has no
// Docker engine, so these tests hold both files to the code instead: every
// command, variable, port, image version and start-up dependency they name
// must exist and agree with what the binary and the Temporal module do.

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Configs  map[string]struct {
		Content string `yaml:"content"`
	} `yaml:"configs"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Restart     string            `yaml:"restart"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Configs []struct {
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"configs"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(false)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return c
}

// dockerfile is what the tests read of the Dockerfile: its instructions,
// with continuation lines joined.
type dockerfile struct{ lines []string }

func loadDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	var cur strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || l == "" && cur.Len() == 0 {
			continue
		}
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(l)
		d.lines = append(d.lines, cur.String())
		cur.Reset()
	}
	return d
}

// instr returns the arguments of every instruction named name.
func (d dockerfile) instr(name string) []string {
	var out []string
	for _, l := range d.lines {
		if k, v, _ := strings.Cut(l, " "); strings.EqualFold(k, name) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// moduleVersion is the version of module path in scimflow's build list.
func moduleVersion(t *testing.T, path string) string {
	t.Helper()
	return strings.TrimSpace(goTool(t, "list", "-m", "-f", "{{.Version}}", path))
}

// moduleDir is where the go command keeps module path's files.
func moduleDir(t *testing.T, path string) string {
	t.Helper()
	return strings.TrimSpace(goTool(t, "list", "-m", "-f", "{{.Dir}}", path))
}

// imageTag splits "repo:tag" (a registry port is not a tag).
func imageTag(image string) (repo, tag string) {
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return image, ""
	}
	return image[:i], image[i+1:]
}

// commandHelp runs `scimflow <command> -h` in-process and returns the
// usage text, or fails when command is not one of scimflow's.
func commandHelp(t *testing.T, command string) string {
	t.Helper()
	var out bytes.Buffer
	env := &environment{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	args := append(strings.Fields(command), "-h")
	if err := run(context.Background(), args, env); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("scimflow %s: %v, want the command's usage: is %q a scimflow command?", strings.Join(args, " "), err, command)
	}
	return out.String()
}

// sourceLiterals is the text of the binary's non-test Go files, for
// checking that a variable the stack sets is read somewhere.
func sourceLiterals(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	return all.String()
}

// scimflowServices are the services that run the image built from the
// Dockerfile, by the command they run.
func scimflowServices(t *testing.T, c composeFile) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, s := range c.Services {
		if s.Build == nil {
			continue
		}
		if len(s.Command) == 0 {
			t.Errorf("service %s runs the scimflow image without a command", name)
			continue
		}
		out[name] = s.Command[0]
	}
	return out
}

// serviceRunning returns the service whose command (scimflow's) or image
// repository (others) is what.
func serviceRunning(c composeFile, what string) (string, composeService, bool) {
	for name, s := range c.Services {
		repo, _ := imageTag(s.Image)
		if s.Build != nil && len(s.Command) > 0 && s.Command[0] == what || s.Build == nil && repo == what {
			return name, s, true
		}
	}
	return "", composeService{}, false
}

func TestComposeScimflowServices(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	src := sourceLiterals(t)
	byCommand := map[string]string{}
	for name, command := range scimflowServices(t, c) {
		byCommand[command] = name
		s := c.Services[name]
		help := commandHelp(t, command)
		for k := range s.Environment {
			if !strings.Contains(help, "env "+k+")") {
				t.Errorf("service %s sets %s, which `scimflow %s -h` does not name as a variable it reads", name, k, command)
			}
			if !strings.Contains(src, `"`+k+`"`) {
				t.Errorf("service %s sets %s, which no code of scimflow reads", name, k)
			}
		}
		if s.Image == "" {
			t.Errorf("service %s builds the image without naming it: each scimflow service would build its own", name)
		}
	}
	for _, command := range []string{"migrate", "serve", "worker"} {
		if byCommand[command] == "" {
			t.Errorf("no service runs `scimflow %s`", command)
		}
	}

	// serve and worker keep running, report health, and start after
	// migrate has succeeded.
	migrate := byCommand["migrate"]
	for _, command := range []string{"serve", "worker"} {
		name := byCommand[command]
		if name == "" {
			continue
		}
		s := c.Services[name]
		if s.Restart != "unless-stopped" && s.Restart != "always" {
			t.Errorf("service %s: restart %q, want unless-stopped: a crash must not end the stack", name, s.Restart)
		}
		if s.Healthcheck == nil {
			t.Errorf("service %s has no health check", name)
		} else if want := []string{"CMD", "/scimflow", "healthcheck", command}; !slices.Equal(s.Healthcheck.Test, want) {
			t.Errorf("service %s: health check %q, want %q", name, s.Healthcheck.Test, want)
		}
		if d, ok := s.DependsOn[migrate]; !ok || d.Condition != "service_completed_successfully" {
			t.Errorf("service %s must depend on %s with condition service_completed_successfully, has %+v", name, migrate, s.DependsOn)
		}
	}
	if m, ok := c.Services[migrate]; ok && m.Restart != "" && m.Restart != "no" && !strings.HasPrefix(m.Restart, "on-failure") {
		t.Errorf("service %s: restart %q: a one-shot service that restarts never completes", migrate, m.Restart)
	}
}

// TestComposePorts checks that the ports the stack publishes and probes
// are the ones scimflow listens on, and that every address a service is
// given names a service of the stack on its port.
func TestComposePorts(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	d := loadDockerfile(t)
	exposed := strings.Fields(strings.Join(d.instr("EXPOSE"), " "))
	defaults := loadConfig(&environment{getenv: func(string) string { return "" }})
	listen := map[string]struct{ env, def string }{
		"serve":  {"SCIMFLOW_HTTP_ADDR", defaults.HTTPAddr},
		"worker": {"SCIMFLOW_OPS_ADDR", defaults.OpsAddr},
	}
	for command, l := range listen {
		_, defPort, _ := net.SplitHostPort(l.def)
		if !slices.Contains(exposed, defPort) {
			t.Errorf("Dockerfile EXPOSE %v lacks %s, the default port of %s (%s)", exposed, defPort, command, l.env)
		}
		name, s, ok := serviceRunning(c, command)
		if !ok {
			continue
		}
		addr := s.Environment[l.env]
		if addr == "" {
			addr = l.def
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("service %s: %s=%q: %v", name, l.env, addr, err)
			continue
		}
		for _, p := range s.Ports {
			if container := p[strings.LastIndex(p, ":")+1:]; container != port {
				t.Errorf("service %s publishes container port %s, but %s listens on %s", name, container, command, port)
			}
		}
	}

	// The Temporal frontend port: FRONTEND_GRPC_PORT of the server image's
	// config template, 7233 unless set.
	temporalName, temporal, ok := serviceRunning(c, "temporalio/server")
	if !ok {
		t.Fatal("no service runs temporalio/server")
	}
	frontendPort := temporal.Environment["FRONTEND_GRPC_PORT"]
	if frontendPort == "" {
		frontendPort = "7233"
	}
	postgresName, _, ok := serviceRunning(c, "postgres")
	if !ok {
		t.Fatal("no service runs postgres")
	}
	for name, s := range c.Services {
		if a, ok := s.Environment["TEMPORAL_ADDRESS"]; ok {
			if a != temporalName+":"+frontendPort {
				t.Errorf("service %s: TEMPORAL_ADDRESS=%s, want %s:%s", name, a, temporalName, frontendPort)
			}
			if !dependsOn(c, name, temporalName) {
				t.Errorf("service %s talks to %s but does not wait for it to be healthy", name, temporalName)
			}
		}
		if v, ok := s.Environment["DATABASE_URL"]; ok {
			u, err := url.Parse(v)
			if err != nil || u.Hostname() != postgresName || u.Port() != "5432" {
				t.Errorf("service %s: DATABASE_URL=%s, want the %s service on 5432", name, v, postgresName)
			}
			if !dependsOn(c, name, postgresName) {
				t.Errorf("service %s uses %s but does not wait for it to be healthy", name, postgresName)
			}
		}
	}
}

// dependsOn reports whether service from waits, directly or through
// another service, for service to be healthy (or for a service that
// needed it healthy to have completed).
func dependsOn(c composeFile, from, service string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(s string) bool {
		if seen[s] {
			return false
		}
		seen[s] = true
		for dep, d := range c.Services[s].DependsOn {
			if dep == service && d.Condition == "service_healthy" {
				return true
			}
			if d.Condition != "service_started" && walk(dep) {
				return true
			}
		}
		return false
	}
	return walk(from)
}

func TestComposeDependencies(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	for name, s := range c.Services {
		for dep, d := range s.DependsOn {
			target, ok := c.Services[dep]
			switch {
			case !ok:
				t.Errorf("service %s depends on %s, which is not a service", name, dep)
			case d.Condition == "service_healthy" && target.Healthcheck == nil:
				t.Errorf("service %s waits for %s to be healthy, which has no health check", name, dep)
			case d.Condition == "service_completed_successfully" && target.Restart != "" && target.Restart != "no" && !strings.HasPrefix(target.Restart, "on-failure"):
				t.Errorf("service %s waits for %s to complete, which restarts %s", name, dep, target.Restart)
			case d.Condition != "service_started" && d.Condition != "service_healthy" && d.Condition != "service_completed_successfully":
				t.Errorf("service %s depends on %s with condition %q", name, dep, d.Condition)
			}
		}
	}
	for _, what := range []string{"postgres", "temporalio/server"} {
		if name, s, ok := serviceRunning(c, what); ok && s.Healthcheck == nil {
			t.Errorf("service %s (%s) has no health check", name, what)
		}
	}
}

// TestComposeImages checks that every image is pinned, and that the
// Temporal images are the version scimflow is built and tested against.
func TestComposeImages(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	server := strings.TrimPrefix(moduleVersion(t, "go.temporal.io/server"), "v")
	ui := strings.TrimPrefix(moduleVersion(t, "github.com/temporalio/ui-server/v2"), "v")
	want := map[string]string{"temporalio/server": server, "temporalio/admin-tools": server, "temporalio/ui": ui}
	seen := map[string]bool{}
	for name, s := range c.Services {
		repo, tag := imageTag(s.Image)
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		if s.Image != "" && (tag == "" || tag == "latest") {
			t.Errorf("service %s: image %q is not pinned to a version", name, s.Image)
		}
		if v, ok := want[repo]; ok {
			seen[repo] = true
			if tag != v {
				t.Errorf("service %s: image %s, want tag %s (go.mod)", name, s.Image, v)
			}
		}
		if repo == "temporalio/auto-setup" {
			t.Errorf("service %s uses temporalio/auto-setup, which Temporal no longer maintains", name)
		}
	}
	for repo := range want {
		if !seen[repo] {
			t.Errorf("no service runs %s", repo)
		}
	}
	for _, from := range loadDockerfile(t).instr("FROM") {
		image := strings.Fields(from)[0]
		if _, tag := imageTag(image); tag == "" || tag == "latest" {
			t.Errorf("Dockerfile: FROM %s is not pinned to a version", image)
		}
	}
}

// TestComposeTemporalSetup checks the Temporal server and its schema job
// against the go.temporal.io/server module: the same databases, plugin
// and credentials on both sides, schema directories that exist in the
// release, and the dynamic config at the path the server image reads.
func TestComposeTemporalSetup(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	modDir := moduleDir(t, "go.temporal.io/server")
	_, server, ok := serviceRunning(c, "temporalio/server")
	if !ok {
		t.Fatal("no service runs temporalio/server")
	}
	schemaName, schema, ok := serviceRunning(c, "temporalio/admin-tools")
	if !ok {
		t.Fatal("no service runs temporalio/admin-tools to set up Temporal's schema")
	}
	envOr := func(m map[string]string, k, def string) string {
		if v := m[k]; v != "" {
			return v
		}
		return def
	}
	if server.Environment["DB"] != "postgres12" || schema.Environment["SQL_PLUGIN"] != "postgres12" {
		t.Errorf("plugins: server DB=%q, schema SQL_PLUGIN=%q, want postgres12 on both", server.Environment["DB"], schema.Environment["SQL_PLUGIN"])
	}
	for k, v := range map[string]string{"SQL_HOST": "POSTGRES_SEEDS", "SQL_USER": "POSTGRES_USER", "SQL_PASSWORD": "POSTGRES_PWD", "SQL_PORT": "DB_PORT"} {
		if schema.Environment[k] != server.Environment[v] {
			t.Errorf("%s %s=%q, but the server's %s=%q", schemaName, k, schema.Environment[k], v, server.Environment[v])
		}
	}
	for _, k := range []string{"DBNAME", "VISIBILITY_DBNAME"} {
		if schema.Environment[k] != server.Environment[k] {
			t.Errorf("%s %s=%q, but the server's %s=%q", schemaName, k, schema.Environment[k], k, server.Environment[k])
		}
	}
	// The admin-tools image carries the release's schema directory under
	// /etc/temporal/schema; the script must name both of its databases'.
	script := strings.Join(schema.Command, "\n")
	for _, dir := range []string{"postgresql/v12/temporal/versioned", "postgresql/v12/visibility/versioned"} {
		if _, err := os.Stat(filepath.Join(modDir, "schema", dir)); err != nil {
			t.Errorf("the schema directory %s is not in go.temporal.io/server: %v", dir, err)
		}
		if _, sub, _ := strings.Cut(dir, "v12/"); !strings.Contains(script, sub) {
			t.Errorf("%s never updates the schema from %s", schemaName, dir)
		}
	}
	for _, step := range []string{`"$$DBNAME" create`, `"$$DBNAME" setup-schema -v 0.0`, `"$$DBNAME" update-schema -d`,
		`"$$VISIBILITY_DBNAME" create`, `"$$VISIBILITY_DBNAME" setup-schema -v 0.0`, `"$$VISIBILITY_DBNAME" update-schema -d`} {
		if !strings.Contains(script, "temporal-sql-tool --db "+step) {
			t.Errorf("%s lacks the step temporal-sql-tool --db %s", schemaName, step)
		}
	}

	// The server image renders this template when it starts without a
	// config file; its dynamic config path must exist in the container.
	tmpl, err := os.ReadFile(filepath.Join(modDir, "common/config/config_template_embedded.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`filepath: "\{\{ default "([^"]+)" \(env "DYNAMIC_CONFIG_FILE_PATH"\) \}\}"`).FindSubmatch(tmpl)
	if m == nil {
		t.Fatal("the server's config template no longer names its dynamic config path")
	}
	path := envOr(server.Environment, "DYNAMIC_CONFIG_FILE_PATH", string(m[1]))
	var mounted bool
	for _, cfg := range server.Configs {
		if cfg.Target != path {
			continue
		}
		mounted = true
		content, ok := c.Configs[cfg.Source]
		if !ok {
			t.Errorf("config %s is not defined", cfg.Source)
		}
		if errs := dynamicconfig.LoadYamlFile([]byte(content.Content)).Errors; len(errs) > 0 {
			t.Errorf("config %s is not valid dynamic config: %v", cfg.Source, errs)
		}
	}
	if !mounted {
		t.Errorf("nothing is mounted at %s, where the server reads its dynamic config (it does not start without it)", path)
	}
}

// TestDockerfile checks the production image: a static, nodev build of
// the binary on the Go version of go.mod, in a distroless image as a
// non-root user, and a build context without local data.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	d := loadDockerfile(t)
	from := d.instr("FROM")
	if len(from) < 2 {
		t.Fatalf("Dockerfile: want a build stage and a runtime stage, have FROM %q", from)
	}
	goVersion := strings.TrimSpace(goTool(t, "list", "-m", "-f", "{{.GoVersion}}"))
	if _, tag := imageTag(strings.Fields(from[0])[0]); !strings.HasPrefix(tag, goVersion) {
		t.Errorf("Dockerfile builds with %s, want the Go version of go.mod (%s)", from[0], goVersion)
	}
	if runtime := strings.Fields(from[len(from)-1])[0]; !strings.HasPrefix(runtime, "gcr.io/distroless/static") || !strings.HasSuffix(runtime, ":nonroot") {
		t.Errorf("Dockerfile runtime image %s, want gcr.io/distroless/static...:nonroot", runtime)
	}
	var build string
	for _, r := range d.instr("RUN") {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-tags nodev", "./cmd/scimflow", "-o /out/scimflow"} {
		if !strings.Contains(build, want) {
			t.Errorf("Dockerfile go build %q lacks %q", build, want)
		}
	}
	if copies := d.instr("COPY"); !slices.Contains(copies, "--from=build /out/scimflow /scimflow") {
		t.Errorf("Dockerfile does not copy the binary to /scimflow: COPY %q", copies)
	}
	if users := d.instr("USER"); len(users) == 0 || strings.HasPrefix(users[len(users)-1], "root") || strings.HasPrefix(users[len(users)-1], "0") {
		t.Errorf("Dockerfile runs as %q, want a non-root user", users)
	}
	if ep := d.instr("ENTRYPOINT"); len(ep) != 1 || ep[0] != `["/scimflow"]` {
		t.Errorf("Dockerfile ENTRYPOINT %q, want [\"/scimflow\"] (the health checks call /scimflow healthcheck)", ep)
	}

	f, err := os.Open("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	for _, want := range []string{"**/.scimflow/", ".git/"} {
		if !slices.Contains(strings.Split(string(b), "\n"), want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}
