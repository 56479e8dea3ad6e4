package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/daect/expectct/internal/lifecycle"
)

// metrics counts and times the API's requests by route and status.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// refusedAnonymous counts requests refused for want of a valid token.
	refusedAnonymous *prometheus.CounterVec
	// limited counts requests answered 429, by the limit spent.
	limited *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "expectct_http_requests_total", Help: "API requests by route and status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "expectct_http_request_duration_seconds", Help: "API request latency by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
	}
	m.refusedAnonymous = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "expectct_unauthenticated_total", Help: "Requests refused with 401 (no or invalid token), by action; not stored in the attempts table.",
	}, []string{"action"})
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "expectct_rate_limited_total", Help: "Requests refused with 429, by limit (anonymous: per address; writes: per person); not stored in the attempts table.",
	}, []string{"limit"})
	reg.MustRegister(m.requests, m.duration, m.refusedAnonymous, m.limited)
	return m
}

func (m *metrics) unauthenticated(action lifecycle.Action) {
	if m != nil {
		m.refusedAnonymous.WithLabelValues(string(action)).Inc()
	}
}

func (m *metrics) rateLimited(limit string) {
	if m != nil {
		m.limited.WithLabelValues(limit).Inc()
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (flushes and
// write deadlines of a streamed answer).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (m *metrics) wrap(route string, next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
