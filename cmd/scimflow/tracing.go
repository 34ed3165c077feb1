package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Tracing exporters (SCIMFLOW_TRACING). The OTLP exporter reads the
// standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, TLS).
const (
	tracingOff    = "off"
	tracingOTLP   = "otlp"   // OTLP over gRPC
	tracingStdout = "stdout" // one JSON document per span on stderr: for trying it out
)

// tracing is the process's OpenTelemetry tracing: a span per HTTP request,
// carried through Temporal's headers into the workflow and its activities
// (Temporal's OpenTelemetry interceptor). Off by default; then every
// method is a no-op. Nothing is installed globally: the provider is handed
// to the HTTP handler and the Temporal client explicitly.
type tracing struct {
	provider    *sdktrace.TracerProvider // nil: off
	propagators propagation.TextMapPropagator
}

// startTracing sets tracing up for command service as cfg asks. exporter,
// when not nil, replaces the configured one (tests).
func startTracing(ctx context.Context, cfg config, env *environment, service string) (*tracing, error) {
	exp := env.spanExporter
	if exp == nil {
		var err error
		switch cfg.Tracing {
		case "", tracingOff:
			return &tracing{}, nil
		case tracingOTLP:
			exp, err = otlptracegrpc.New(ctx)
		case tracingStdout:
			exp, err = stdouttrace.New(stdouttrace.WithWriter(env.stderr))
		default:
			return nil, usageError{fmt.Sprintf("SCIMFLOW_TRACING=%q: want %s, %s or %s", cfg.Tracing, tracingOff, tracingOTLP, tracingStdout)}
		}
		if err != nil {
			return nil, fmt.Errorf("tracing exporter %s: %w", cfg.Tracing, err)
		}
	}
	name := env.getenv("OTEL_SERVICE_NAME")
	if name == "" {
		name = "scimflow"
	}
	res := resource.NewSchemaless(attribute.String("service.name", name), attribute.String("scimflow.command", service))
	return &tracing{
		provider:    sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)),
		propagators: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}, nil
}

// on reports whether spans are recorded.
func (t *tracing) on() bool { return t != nil && t.provider != nil }

// handler wraps h so that each request has a server span, continuing the
// caller's trace when it sends a traceparent header. The API names the
// span after its route once routing has matched.
func (t *tracing) handler(h http.Handler) http.Handler {
	if !t.on() {
		return h
	}
	return otelhttp.NewHandler(h, "http", otelhttp.WithTracerProvider(t.provider), otelhttp.WithPropagators(t.propagators))
}

// interceptors are the Temporal client's: starting or signalling a
// workflow carries the current span, and workers (which share the client)
// open spans for workflows and activities under it.
func (t *tracing) interceptors() ([]interceptor.ClientInterceptor, error) {
	if !t.on() {
		return nil, nil
	}
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer: t.provider.Tracer("scimflow/temporal"), TextMapPropagator: t.propagators})
	if err != nil {
		return nil, fmt.Errorf("temporal tracing interceptor: %w", err)
	}
	return []interceptor.ClientInterceptor{i}, nil
}

// shutdown exports the spans still buffered.
func (t *tracing) shutdown(ctx context.Context) error {
	if !t.on() {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// flushTracing exports the last spans at exit, for at most 5 seconds.
func flushTracing(t *tracing, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.shutdown(ctx); err != nil {
		logger.Warn("flush traces", "error", err)
	}
}
