// Package metrics exposes the Temporal SDK's metrics (worker polls, task
// latencies, activity failures...) as Prometheus metrics, so a worker's
// /metrics shows them beside the process's own.
package metrics

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// TemporalHandler implements client.MetricsHandler on a Prometheus registry.
// Each metric name gets one vector whose labels are the tag names seen the
// first time; later uses with other tag names are folded into those labels.
type TemporalHandler struct {
	reg  prometheus.Registerer
	tags map[string]string
	vecs *vectors
}

type vectors struct {
	mu         sync.Mutex
	counters   map[string]*prometheus.CounterVec
	gauges     map[string]*prometheus.GaugeVec
	histograms map[string]*prometheus.HistogramVec
	labels     map[string][]string
}

// NewTemporalHandler registers the SDK's metrics on reg.
func NewTemporalHandler(reg prometheus.Registerer) *TemporalHandler {
	return &TemporalHandler{reg: reg, tags: map[string]string{}, vecs: &vectors{
		counters: map[string]*prometheus.CounterVec{}, gauges: map[string]*prometheus.GaugeVec{},
		histograms: map[string]*prometheus.HistogramVec{}, labels: map[string][]string{},
	}}
}

// WithTags returns a handler adding the tags.
func (h *TemporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &TemporalHandler{reg: h.reg, tags: merged, vecs: h.vecs}
}

func promName(name string) string { return strings.NewReplacer(".", "_", "-", "_").Replace(name) }

// labelsFor fixes the label names of a metric on first use.
func (v *vectors) labelsFor(name string, tags map[string]string) []string {
	if l, ok := v.labels[name]; ok {
		return l
	}
	l := make([]string, 0, len(tags))
	for k := range tags {
		l = append(l, promName(k))
	}
	slices.Sort(l)
	v.labels[name] = l
	return l
}

func values(labels []string, tags map[string]string) []string {
	byProm := make(map[string]string, len(tags))
	for k, val := range tags {
		byProm[promName(k)] = val
	}
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = byProm[l]
	}
	return out
}

// vec returns the vector of a metric, creating and registering it on first
// use, and the label values of the handler's tags.
func vec[V prometheus.Collector](h *TemporalHandler, vecs map[string]V, name string, build func(labels []string) V) (V, []string) {
	v := h.vecs
	v.mu.Lock()
	defer v.mu.Unlock()
	labels := v.labelsFor(name, h.tags)
	c, ok := vecs[name]
	if !ok {
		c = build(labels)
		_ = h.reg.Register(c)
		vecs[name] = c
	}
	return c, values(labels, h.tags)
}

// Counter returns a counter.
func (h *TemporalHandler) Counter(name string) client.MetricsCounter {
	c, lv := vec(h, h.vecs.counters, name, func(labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: promName(name), Help: "Temporal SDK " + name}, labels)
	})
	return counter{c.WithLabelValues(lv...)}
}

// Gauge returns a gauge.
func (h *TemporalHandler) Gauge(name string) client.MetricsGauge {
	g, lv := vec(h, h.vecs.gauges, name, func(labels []string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: promName(name), Help: "Temporal SDK " + name}, labels)
	})
	return gauge{g.WithLabelValues(lv...)}
}

// Timer returns a timer, recorded as a histogram in seconds.
func (h *TemporalHandler) Timer(name string) client.MetricsTimer {
	t, lv := vec(h, h.vecs.histograms, name, func(labels []string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: promName(name) + "_seconds", Help: "Temporal SDK " + name,
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, labels)
	})
	return timer{t.WithLabelValues(lv...)}
}

type counter struct{ c prometheus.Counter }

func (c counter) Inc(n int64) { c.c.Add(float64(n)) }

type gauge struct{ g prometheus.Gauge }

func (g gauge) Update(x float64) { g.g.Set(x) }

type timer struct{ o prometheus.Observer }

func (t timer) Record(d time.Duration) { t.o.Observe(d.Seconds()) }
