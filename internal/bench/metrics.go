package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ServerTime is the mean of one latency the engine's processes measure
// themselves (their Prometheus histograms), over the counted engine run.
type ServerTime struct {
	Source string  `json:"source"` // api or worker
	Name   string  `json:"name"`
	Count  int64   `json:"count"`
	MeanMs float64 `json:"mean_ms"`
}

// serverHistograms are the histograms read, with the label that tells their
// series apart (the others are summed).
var serverHistograms = map[string]string{
	"expectct_http_request_duration_seconds":                   "route",
	"temporal_activity_execution_latency_seconds":              "activity_type",
	"temporal_activity_schedule_to_start_latency_seconds":      "activity_type",
	"temporal_workflow_task_execution_latency_seconds":         "",
	"temporal_workflow_task_schedule_to_start_latency_seconds": "",
}

// histSums are the _sum and _count of each series, keyed "metric|label".
type histSums map[string][2]float64

type metricsProbe struct {
	hc      *http.Client
	sources map[string]string // name → /metrics URL
}

func (p *metricsProbe) snapshot(ctx context.Context) map[string]histSums {
	out := map[string]histSums{}
	for name, u := range p.sources {
		if h, err := scrapeHistograms(ctx, p.hc, u); err == nil {
			out[name] = h
		}
	}
	return out
}

// addHistDiff adds to acc what each series gained from before to after.
func addHistDiff(acc, after, before map[string]histSums) {
	for source, series := range after {
		if acc[source] == nil {
			acc[source] = histSums{}
		}
		for key, v := range series {
			prev := before[source][key]
			a := acc[source][key]
			a[0] += v[0] - prev[0]
			a[1] += v[1] - prev[1]
			acc[source][key] = a
		}
	}
}

// since is the mean of each series between two snapshots, for the series
// that moved.
func since(after, before map[string]histSums) []ServerTime {
	var out []ServerTime
	for source, series := range after {
		for key, v := range series {
			prev := before[source][key]
			n := v[1] - prev[1]
			if n <= 0 {
				continue
			}
			metric, label, _ := strings.Cut(key, "|")
			name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(metric, "temporal_"), "expectct_"), "_seconds")
			if label != "" {
				name += " " + label
			}
			out = append(out, ServerTime{Source: source, Name: name, Count: int64(n),
				MeanMs: round2((v[0] - prev[0]) / n * 1000)})
		}
	}
	slices.SortFunc(out, func(a, b ServerTime) int {
		if c := strings.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func scrapeHistograms(ctx context.Context, hc *http.Client, u string) (histSums, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
	return parseHistograms(resp.Body)
}

// parseHistograms reads the _sum and _count lines of the wanted histograms
// from the Prometheus text format.
func parseHistograms(r io.Reader) (histSums, error) {
	out := histSums{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, value, ok := parseSample(line)
		if !ok {
			continue
		}
		var idx int
		base, found := strings.CutSuffix(name, "_sum")
		if !found {
			if base, found = strings.CutSuffix(name, "_count"); !found {
				continue
			}
			idx = 1
		}
		by, wanted := serverHistograms[base]
		if !wanted {
			continue
		}
		key := base + "|"
		if by != "" {
			key += labels[by]
		}
		v := out[key]
		v[idx] += value
		out[key] = v
	}
	return out, sc.Err()
}

// parseSample splits `name{a="x",b="y"} 1.5` into its parts; label values
// may hold spaces, braces and escaped quotes.
func parseSample(line string) (name string, labels map[string]string, value float64, ok bool) {
	labels = map[string]string{}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return "", nil, 0, false
	}
	name, rest := line[:i], line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, ", ")
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq < 0 {
				return "", nil, 0, false
			}
			key := rest[:eq]
			rest = rest[eq+2:]
			var b strings.Builder
			closed := false
			for j := 0; j < len(rest); j++ {
				c := rest[j]
				if c == '\\' && j+1 < len(rest) {
					j++
					switch rest[j] {
					case 'n':
						b.WriteByte('\n')
					default:
						b.WriteByte(rest[j])
					}
					continue
				}
				if c == '"' {
					rest, closed = rest[j+1:], true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return "", nil, 0, false
			}
			labels[key] = b.String()
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", nil, 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", nil, 0, false
	}
	return name, labels, v, true
}

// GoRuntime is what a Go process's /metrics says of its memory: the part of
// the resident set each use takes.
type GoRuntime struct {
	Goroutines    int64 `json:"goroutines"`
	HeapAlloc     int64 `json:"heap_alloc_bytes"`
	HeapInuse     int64 `json:"heap_inuse_bytes"`
	HeapIdle      int64 `json:"heap_idle_bytes"`
	HeapReleased  int64 `json:"heap_released_bytes"`
	StackInuse    int64 `json:"stack_inuse_bytes"`
	Sys           int64 `json:"sys_bytes"`
	NextGC        int64 `json:"next_gc_bytes"`
	StickyCached  int64 `json:"sticky_cache_size"`
	HeapObjects   int64 `json:"heap_objects"`
	ResidentBytes int64 `json:"resident_bytes"`
}

// readGoRuntime scrapes the runtime gauges of a process's /metrics.
func readGoRuntime(ctx context.Context, hc *http.Client, u string) (*GoRuntime, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
	return parseGoRuntime(resp.Body)
}

func parseGoRuntime(r io.Reader) (*GoRuntime, error) {
	g := &GoRuntime{}
	fields := map[string]*int64{
		"go_goroutines":                   &g.Goroutines,
		"go_memstats_heap_alloc_bytes":    &g.HeapAlloc,
		"go_memstats_heap_inuse_bytes":    &g.HeapInuse,
		"go_memstats_heap_idle_bytes":     &g.HeapIdle,
		"go_memstats_heap_released_bytes": &g.HeapReleased,
		"go_memstats_stack_inuse_bytes":   &g.StackInuse,
		"go_memstats_sys_bytes":           &g.Sys,
		"go_memstats_next_gc_bytes":       &g.NextGC,
		"go_memstats_heap_objects":        &g.HeapObjects,
		"process_resident_memory_bytes":   &g.ResidentBytes,
		"temporal_sticky_cache_size":      &g.StickyCached,
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, _, v, ok := parseSample(line)
		if p, wanted := fields[name]; ok && wanted {
			*p += int64(v)
		}
	}
	return g, sc.Err()
}
