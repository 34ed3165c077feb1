// Package metrics holds scimflow's Prometheus metrics and serves them on
// /metrics.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is a registry with scimflow's metrics.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	drift    prometheus.Counter
}

// New returns a registry with the Go runtime, process and scimflow metrics.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimflow_http_requests_total",
			Help: "HTTP requests by surface (scim, admin, ui, ops) and status class.",
		}, []string{"surface", "status"}),
		// No org label: /metrics is unauthenticated and must not list
		// tenants. The warning logged with each repair names the org.
		drift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimflow_reconcile_repaired_rows_total",
			Help: "Effective-role rows that reconciliation found wrong and repaired; should stay 0.",
		}),
	}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m.requests, m.drift)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// ObserveRequest counts one HTTP request.
func (m *Metrics) ObserveRequest(surface string, status int) {
	class := [...]string{"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"}[min(max(status/100, 0), 5)]
	m.requests.WithLabelValues(surface, class).Inc()
}

// AddDrift counts rows repaired by reconciliation (activities.Metrics).
func (m *Metrics) AddDrift(orgID string, rows int) {
	m.drift.Add(float64(rows))
}
