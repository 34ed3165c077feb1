// Package metrics holds scimflow's Prometheus metrics and serves them on
// /metrics. Each process builds one registry (cmd passes it to whatever
// counts): there are no package-level collectors. No label ever holds an
// org id: /metrics is unauthenticated and must not list tenants.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is a registry with scimflow's metrics.
type Metrics struct {
	registry *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	scimOps  *prometheus.CounterVec

	recalcStarted  prometheus.Counter
	recalcFinished *prometheus.CounterVec
	recalcDuration *prometheus.HistogramVec
	batches        *prometheus.CounterVec
	rowsChanged    *prometheus.CounterVec
	drift          prometheus.Counter

	temporal *sdkMetrics
}

// New returns a registry with the Go runtime, process and scimflow metrics.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimflow_http_requests_total",
			Help: "HTTP requests by surface (scim, admin, ui, ops), method, route template and status code.",
		}, []string{"surface", "method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scimflow_http_request_duration_seconds",
			Help:    "HTTP request latency by surface, method, route template and status class.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"surface", "method", "route", "status"}),
		scimOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimflow_scim_operations_total",
			Help: "SCIM operations by resource (Users, Groups, ...), operation (create, get, list, search, replace, patch, delete) and result (success, client_error, server_error).",
		}, []string{"resource", "operation", "result"}),
		recalcStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimflow_recalculations_started_total",
			Help: "Group recalculation passes started (a pass restarted for a newer mapping counts again).",
		}),
		recalcFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimflow_recalculations_finished_total",
			Help: "Group recalculations finished, by result (completed, failed).",
		}, []string{"result"}),
		recalcDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scimflow_recalculation_duration_seconds",
			Help:    "Duration of a group recalculation pass, from its start to its outcome, by result.",
			Buckets: []float64{.1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"result"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimflow_recalculation_batches_total",
			Help: "Recalculation batches done, by kind (group: an Update Group page; members: an outbox batch; reconcile: a reconciliation page).",
		}, []string{"kind"}),
		rowsChanged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimflow_recalculation_rows_changed_total",
			Help: "Effective-role rows inserted, updated or deleted by recalculation batches, by kind.",
		}, []string{"kind"}),
		drift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimflow_reconcile_repaired_rows_total",
			Help: "Effective-role rows that reconciliation found wrong and repaired; should stay 0.",
		}),
		temporal: newSDKMetrics(),
	}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.scimOps, m.recalcStarted, m.recalcFinished, m.recalcDuration, m.batches, m.rowsChanged, m.drift,
		m.temporal)
	return m
}

// Handler serves the metrics in the Prometheus text format. A collector
// that fails (the database is down) costs its own series, not the scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the underlying registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// ObserveRequest counts one HTTP request and its latency. route is the
// route template ("/scim/v2/Users/:id"), never the path: ids would make a
// series per resource.
func (m *Metrics) ObserveRequest(surface, method, route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	method = knownMethod(method)
	m.requests.WithLabelValues(surface, method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(surface, method, route, statusClass(status)).Observe(d.Seconds())
}

// ObserveSCIM counts one SCIM operation.
func (m *Metrics) ObserveSCIM(resource, operation string, status int) {
	result := "success"
	switch {
	case status >= 500:
		result = "server_error"
	case status >= 400:
		result = "client_error"
	}
	m.scimOps.WithLabelValues(resource, operation, result).Inc()
}

// RecalculationStarted counts a group pass that started.
func (m *Metrics) RecalculationStarted() { m.recalcStarted.Inc() }

// RecalculationFinished counts a group recalculation's outcome and the
// duration of its last pass.
func (m *Metrics) RecalculationFinished(failed bool, d time.Duration) {
	result := "completed"
	if failed {
		result = "failed"
	}
	m.recalcFinished.WithLabelValues(result).Inc()
	if d > 0 {
		m.recalcDuration.WithLabelValues(result).Observe(d.Seconds())
	}
}

// Batch counts one recalculation batch of kind and the rows it changed.
func (m *Metrics) Batch(kind string, changed int) {
	m.batches.WithLabelValues(kind).Inc()
	m.rowsChanged.WithLabelValues(kind).Add(float64(changed))
}

// AddDrift counts rows repaired by reconciliation.
func (m *Metrics) AddDrift(rows int) { m.drift.Add(float64(rows)) }

// Backlog is the recalculation work waiting in the database.
type Backlog struct {
	Pending, Running int64
	OutboxRows       int64
	OutboxOldest     time.Time // zero: the outbox is empty
}

// WatchBacklog exports the backlog that read returns, read at each scrape
// (bounded by two seconds): recalculations pending and running, outbox
// depth and the age of its oldest row. Register it in one kind of process
// (the worker): it counts the whole database, not the process.
func (m *Metrics) WatchBacklog(read func(ctx context.Context) (Backlog, error), logger *slog.Logger) {
	m.registry.MustRegister(&backlogCollector{read: read, logger: logger})
}

var (
	recalcPendingDesc = prometheus.NewDesc("scimflow_recalculations_pending",
		"Recalculations not finished yet, by status (pending: waiting for its workflow; running).", []string{"status"}, nil)
	outboxDepthDesc = prometheus.NewDesc("scimflow_outbox_depth",
		"Membership changes recorded in the outbox and not recalculated yet.", nil, nil)
	outboxAgeDesc = prometheus.NewDesc("scimflow_outbox_oldest_age_seconds",
		"Age of the oldest outbox row; 0 when the outbox is empty. Growing: membership workflows are not keeping up or not running.", nil, nil)
)

type backlogCollector struct {
	read   func(ctx context.Context) (Backlog, error)
	logger *slog.Logger
}

func (b *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- recalcPendingDesc
	ch <- outboxDepthDesc
	ch <- outboxAgeDesc
}

func (b *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	bl, err := b.read(ctx)
	if err != nil {
		if b.logger != nil {
			b.logger.Warn("metrics: backlog not read", "error", err)
		}
		ch <- prometheus.NewInvalidMetric(outboxDepthDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(recalcPendingDesc, prometheus.GaugeValue, float64(bl.Pending), "pending")
	ch <- prometheus.MustNewConstMetric(recalcPendingDesc, prometheus.GaugeValue, float64(bl.Running), "running")
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(bl.OutboxRows))
	age := 0.0
	if !bl.OutboxOldest.IsZero() {
		age = max(time.Since(bl.OutboxOldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age)
}

func statusClass(status int) string {
	return [...]string{"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"}[min(max(status/100, 0), 5)]
}

// knownMethod keeps the method label bounded: a client can send any token
// as a method.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}
