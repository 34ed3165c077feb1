package metrics

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// TemporalHandler is the Temporal SDK's metrics (client requests, polls,
// workflow and activity task latencies, slots, sticky cache) exported on
// this registry; hand it to client.Options.MetricsHandler.
//
// The SDK names a metric and then tags it with whatever keys the call site
// knows (namespace, task_queue, activity_type, poller_type, ...), so one
// name can be seen with different key sets. Prometheus wants one label set
// per name: each name is exported with the union of the keys seen, a
// missing one as "". SDK tags are types and queues, never workflow ids,
// so no org id reaches a label.
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	return sdkHandler{m: m.temporal}
}

type sdkKind int

const (
	sdkCounter sdkKind = iota
	sdkGauge
	sdkTimer
)

// sdkTimerBuckets are the latency buckets of SDK timers (seconds): polls
// wait up to a minute, task latencies are milliseconds.
var sdkTimerBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

type sdkSeries struct {
	tags    map[string]string
	value   float64  // counter, gauge
	count   uint64   // timer
	sum     float64  // timer, seconds
	buckets []uint64 // timer, cumulative at collect time
}

type sdkFamily struct {
	kind   sdkKind
	keys   map[string]bool
	series map[string]*sdkSeries // by tag signature
}

// sdkMetrics holds the SDK's series and is their Prometheus collector.
type sdkMetrics struct {
	mu       sync.Mutex
	families map[string]*sdkFamily // by exported name
}

func newSDKMetrics() *sdkMetrics { return &sdkMetrics{families: map[string]*sdkFamily{}} }

// series returns the series of name with tags, creating it.
func (s *sdkMetrics) series(kind sdkKind, name string, tags map[string]string) *sdkSeries {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.families[name]
	if f == nil {
		f = &sdkFamily{kind: kind, keys: map[string]bool{}, series: map[string]*sdkSeries{}}
		s.families[name] = f
	}
	sig := signature(tags)
	ser := f.series[sig]
	if ser == nil {
		ser = &sdkSeries{tags: tags}
		if kind == sdkTimer {
			ser.buckets = make([]uint64, len(sdkTimerBuckets))
		}
		f.series[sig] = ser
		for k := range tags {
			f.keys[k] = true
		}
	}
	return ser
}

func signature(tags map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(tags[k])
		b.WriteByte(0)
	}
	return b.String()
}

// Describe sends nothing: the SDK's names are known only once it emits
// them (an unchecked collector).
func (s *sdkMetrics) Describe(chan<- *prometheus.Desc) {}

func (s *sdkMetrics) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, f := range s.families {
		keys := slices.Sorted(maps.Keys(f.keys))
		desc := prometheus.NewDesc(name, "Temporal SDK metric "+name+".", keys, nil)
		for _, ser := range f.series {
			values := make([]string, len(keys))
			for i, k := range keys {
				values[i] = ser.tags[k]
			}
			switch f.kind {
			case sdkCounter:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, ser.value, values...)
			case sdkGauge:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, ser.value, values...)
			case sdkTimer:
				b := make(map[float64]uint64, len(sdkTimerBuckets))
				for i, le := range sdkTimerBuckets {
					b[le] = ser.buckets[i]
				}
				ch <- prometheus.MustNewConstHistogram(desc, ser.count, ser.sum, b, values...)
			}
		}
	}
}

// sdkHandler implements the SDK's metrics handler on sdkMetrics.
type sdkHandler struct {
	m    *sdkMetrics
	tags map[string]string
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	for k, v := range tags {
		merged[promName(k, "")] = v
	}
	return sdkHandler{m: h.m, tags: merged}
}

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	ser := h.m.series(sdkCounter, promName(name, "_total"), h.tags)
	return sdkFunc{inc: func(d int64) {
		h.m.mu.Lock()
		ser.value += float64(d)
		h.m.mu.Unlock()
	}}
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	ser := h.m.series(sdkGauge, promName(name, ""), h.tags)
	return sdkFunc{update: func(v float64) {
		h.m.mu.Lock()
		ser.value = v
		h.m.mu.Unlock()
	}}
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	ser := h.m.series(sdkTimer, promName(name, "_seconds"), h.tags)
	return sdkFunc{record: func(d time.Duration) {
		sec := d.Seconds()
		h.m.mu.Lock()
		ser.count++
		ser.sum += sec
		for i, le := range sdkTimerBuckets {
			if sec <= le {
				ser.buckets[i]++
			}
		}
		h.m.mu.Unlock()
	}}
}

// sdkFunc is one SDK counter, gauge or timer.
type sdkFunc struct {
	inc    func(int64)
	update func(float64)
	record func(time.Duration)
}

func (f sdkFunc) Inc(d int64)            { f.inc(d) }
func (f sdkFunc) Update(v float64)       { f.update(v) }
func (f sdkFunc) Record(d time.Duration) { f.record(d) }

// promName makes an SDK metric name a Prometheus one: only [a-zA-Z0-9_:],
// with the unit suffix of its kind.
func promName(name, suffix string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == ':' {
			return r
		}
		return '_'
	}, name)
	if !strings.HasSuffix(clean, suffix) {
		clean += suffix
	}
	return clean
}
