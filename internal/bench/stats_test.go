package bench

import (
	"testing"
	"time"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted on purpose
	}
	twoHundred := make([]int, 200)
	for i := range twoHundred {
		twoHundred[i] = i + 1
	}
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample", durations(7), 99, 7 * time.Millisecond},
		{"median of odd count", durations(5, 1, 3), 50, 3 * time.Millisecond},
		{"median of even count is the lower middle", durations(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", durations(hundred...), 99, 99 * time.Millisecond},
		{"p50 of 100 is the 50th", durations(hundred...), 50, 50 * time.Millisecond},
		{"p99 of 200 is the 198th", durations(twoHundred...), 99, 198 * time.Millisecond},
		{"p100 is the maximum", durations(3, 9, 1), 100, 9 * time.Millisecond},
		{"p0 is the minimum", durations(3, 9, 1), 0, 1 * time.Millisecond},
		{"p99 of 10 is the maximum", durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.samples, tc.p); got != tc.want {
				t.Fatalf("Percentile(p%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestPercentileLeavesSamplesUnsorted(t *testing.T) {
	s := durations(3, 1, 2)
	Percentile(s, 50)
	if s[0] != 3*time.Millisecond || s[1] != time.Millisecond {
		t.Fatalf("samples reordered: %v", s)
	}
}

func TestSummarize(t *testing.T) {
	got := Summarize("opinion", []time.Duration{
		1500 * time.Microsecond, 2 * time.Millisecond, 2500 * time.Microsecond, 10 * time.Millisecond,
	})
	want := Stats{Name: "opinion", Count: 4, P50Ms: 2, P90Ms: 10, P99Ms: 10, MeanMs: 4, MaxMs: 10}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if empty := Summarize("none", nil); empty != (Stats{Name: "none"}) {
		t.Fatalf("empty Summarize = %+v", empty)
	}
}
