package bench

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Percentile is the nearest-rank percentile of the samples: the smallest
// sample such that at least p percent of the samples are at or below it.
// p is in (0, 100]; an empty set gives 0. The samples are not modified.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	return percentileSorted(sorted, p)
}

func percentileSorted(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	switch {
	case p <= 0:
		return sorted[0]
	case p >= 100:
		return sorted[n-1]
	}
	// Nearest rank, 1-based. The epsilon keeps 0.99*200 at rank 198
	// instead of 199 when the product lands a hair above an integer.
	rank := int(math.Ceil(p/100*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Stats summarises the latencies of one step, in milliseconds for the report.
type Stats struct {
	Name   string  `json:"name"`
	Count  int     `json:"count"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MeanMs float64 `json:"mean_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Summarize computes the step's percentiles, mean and maximum.
func Summarize(name string, samples []time.Duration) Stats {
	s := Stats{Name: name, Count: len(samples)}
	if len(samples) == 0 {
		return s
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	s.P50Ms = ms(percentileSorted(sorted, 50))
	s.P90Ms = ms(percentileSorted(sorted, 90))
	s.P99Ms = ms(percentileSorted(sorted, 99))
	s.MeanMs = ms(sum / time.Duration(len(sorted)))
	s.MaxMs = ms(sorted[len(sorted)-1])
	return s
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}

// recorder collects latencies per step from concurrent clients.
type recorder struct {
	mu      sync.Mutex
	samples map[string][]time.Duration
}

func newRecorder() *recorder { return &recorder{samples: map[string][]time.Duration{}} }

func (r *recorder) add(step string, d time.Duration) {
	r.mu.Lock()
	r.samples[step] = append(r.samples[step], d)
	r.mu.Unlock()
}

// stats summarises the given steps, in that order.
func (r *recorder) stats(steps ...string) []Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Stats, 0, len(steps))
	for _, s := range steps {
		out = append(out, Summarize(s, r.samples[s]))
	}
	return out
}
