package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func run(system string, perSecond float64, p99 map[string]float64) *Run {
	r := &Run{System: system, Lifecycles: 200, Completed: 200, WallSeconds: 200 / perSecond, PerSecond: perSecond}
	for _, s := range reportedSteps {
		r.Steps = append(r.Steps, Stats{Name: s, Count: 200, P50Ms: p99[s] / 2, P99Ms: p99[s]})
	}
	return r
}

func sampleReport() *Report {
	return &Report{
		Machine: Machine{CPUs: 2, MemTotal: 24 << 30, GoVersion: "go1.26.8", OS: "linux/amd64"},
		Mode:    "standalone stack", Temporal: "127.0.0.1:7233", API: "http://127.0.0.1:8080",
		Lifecycles: 200, Concurrency: 16, Warmup: 4, PollMs: 50,
		Engine: run("engine", 13, map[string]float64{StepSubmit: 40, StepOpinion: 300, StepRecommendation: 200, StepDecision: 180, StepConsultWait: 900, StepLifecycle: 1500}),
		Bare:   run("bare", 15, map[string]float64{StepSubmit: 20, StepOpinion: 150, StepRecommendation: 150, StepDecision: 150, StepConsultWait: 600, StepLifecycle: 1000}),
		Memory: []Memory{{Process: "worker", PID: 10, PeakBytes: 100 << 20, RSSBytes: 90 << 20}},
	}
}

func targets(r *Report) map[string]Target {
	m := map[string]Target{}
	for _, t := range r.Targets {
		m[t.Name] = t
	}
	return m
}

func TestEvaluateLifecycleTargets(t *testing.T) {
	r := sampleReport()
	r.Evaluate()
	if r.Ratios.Throughput != 0.87 {
		t.Fatalf("throughput ratio %v, want 0.87", r.Ratios.Throughput)
	}
	if r.Ratios.P99[StepOpinion] != 2 || r.Ratios.P99[StepSubmit] != 2 {
		t.Fatalf("p99 ratios %v", r.Ratios.P99)
	}
	got := targets(r)
	for name, want := range map[string]string{
		"engine lifecycles/s ≥ 0.85 × bare":                   Pass,
		"opinion p99 ≤ 1.5 × bare update p99":                 Miss, // 300 vs 150
		"recommendation p99 ≤ 1.5 × bare update p99":          Pass, // 200 vs 150
		"decision p99 ≤ 1.5 × bare update p99":                Pass,
		"worker RSS < 512.0 MiB with 10000 open applications": Skip,
		"list query p99 < 50 ms":                              Skip,
		"status read p99 < 50 ms":                             Skip,
		"history of one lifecycle ≤ 2 × bare's bytes":         Skip, // no history in the sample
		"every web page p99 < 100 ms with 10000 applications": Skip,
	} {
		if got[name].Result != want {
			t.Errorf("%s: %s (%s), want %s", name, got[name].Result, got[name].Detail, want)
		}
	}
	if len(r.Targets) != 9 {
		t.Errorf("%d targets, want 9", len(r.Targets))
	}
	if !r.Missed() {
		t.Error("Missed() is false with a missed target")
	}
}

func TestEvaluateFailedLifecyclesMissThroughput(t *testing.T) {
	r := sampleReport()
	r.Engine.Failed = 3
	r.Evaluate()
	tg := targets(r)["engine lifecycles/s ≥ 0.85 × bare"]
	if tg.Result != Miss || !strings.Contains(tg.Detail, "3 engine lifecycles failed") {
		t.Fatalf("target %+v", tg)
	}
}

func TestEvaluateScaleTargets(t *testing.T) {
	r := &Report{Scale: &Scale{Applications: 10000, Submitted: 10000, Consulted: 10000,
		WorkerOpen:  &Memory{Process: "worker", RSSBytes: 300 << 20},
		WorkerAfter: &Memory{Process: "worker", RSSBytes: 600 << 20},
		List:        Stats{Name: "list", Count: 500, P50Ms: 3, P99Ms: 12},
		Status:      Stats{Name: "status", Count: 500, P50Ms: 20, P99Ms: 75}}}
	r.Evaluate()
	got := targets(r)
	rss := got["worker RSS < 512.0 MiB with 10000 open applications"]
	if rss.Result != Miss || !strings.Contains(rss.Detail, "600.0 MiB") {
		t.Errorf("RSS target %+v: the larger RSS counts", rss)
	}
	if got["list query p99 < 50 ms"].Result != Pass || got["status read p99 < 50 ms"].Result != Miss {
		t.Errorf("read targets %+v", r.Targets)
	}
	if got["engine lifecycles/s ≥ 0.85 × bare"].Result != Skip {
		t.Errorf("throughput without lifecycle runs must be skipped")
	}

	r.Scale.Consulted = 2000
	r.Evaluate()
	if got := targets(r)["worker RSS < 512.0 MiB with 10000 open applications"]; got.Result != Skip {
		t.Errorf("RSS with 2000 open must be skipped, got %+v", got)
	}
}

func TestWriteText(t *testing.T) {
	r := sampleReport()
	r.Bare.Errors = []string{"start bench-bare-1:\n  deadline exceeded"}
	r.Engine.Server = []ServerTime{
		{Source: "api", Name: "http_request_duration GET /v1/applications/{id}", Count: 600, MeanMs: 12.5},
		{Source: "worker", Name: "workflow_task_schedule_to_start_latency", Count: 2400, MeanMs: 80},
	}
	r.Bare.Server = []ServerTime{{Source: "bare worker", Name: "workflow_task_schedule_to_start_latency", Count: 2200, MeanMs: 40}}
	r.Engine.History = &HistoryShape{Events: 64, Bytes: 22 << 10, ByType: map[string]int{"EVENT_TYPE_TIMER_STARTED": 3, "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED": 6}}
	r.Bare.History = &HistoryShape{Events: 56, Bytes: 6 << 10, ByType: map[string]int{"EVENT_TYPE_ACTIVITY_TASK_SCHEDULED": 6}}
	r.Evaluate()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	// Column widths are tabwriter's business: compare with spaces collapsed.
	out := oneLine(b.String())
	for _, want := range []string{
		"machine: 2 CPUs, 24.0 GiB RAM, go1.26.8, linux/amd64",
		"Lifecycle run: 200 lifecycles each, 16 concurrent clients, 4 warm-up",
		"lifecycles/s     13.00     15.00         0.87",
		"opinion p99  300.0 ms  150.0 ms         2.00",
		"whole lifecycle p99    1.50 s    1.00 s",
		"100.0 MiB          90.0 MiB",
		"bare errors (first 1):",
		"start bench-bare-1: deadline exceeded",
		"MISS  opinion p99 ≤ 1.5 × bare update p99",
		"PASS  engine lifecycles/s ≥ 0.85 × bare",
		"SKIP  list query p99 < 50 ms",
		"MISS  history of one lifecycle ≤ 2 × bare's bytes 3.67 × (22.0 KiB vs 6.0 KiB)",
		"GET /v1/applications/{id}            3.0  12.5 ms",
		"workflow task schedule to start latency                  12.0      80.0 ms                11.0    40.0 ms",
		"TIMER_STARTED         3       0",
		"size  22.0 KiB  6.0 KiB",
	} {
		if !strings.Contains(out, oneLine(want)) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWriteJSON(t *testing.T) {
	r := sampleReport()
	r.Evaluate()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Engine struct {
			PerSecond float64 `json:"lifecycles_per_second"`
			Steps     []Stats `json:"steps"`
		} `json:"engine"`
		Ratios  Ratios   `json:"ratios"`
		Targets []Target `json:"targets"`
		Memory  []Memory `json:"memory"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if back.Engine.PerSecond != 13 || len(back.Engine.Steps) != len(reportedSteps) ||
		back.Ratios.P99[StepOpinion] != 2 || len(back.Targets) != 9 || back.Memory[0].PeakBytes != 100<<20 {
		t.Fatalf("JSON report round trip: %+v\n%s", back, b.String())
	}
}

func TestEvaluatePageTarget(t *testing.T) {
	const name = "every web page p99 < 100 ms with 10000 applications"
	pages := func(apps int, p99s ...float64) *Pages {
		p := &Pages{Applications: apps, Dossiers: 3}
		for i, v := range p99s {
			p.Pages = append(p.Pages, Stats{Name: "page " + string(rune('a'+i)), Count: 500, P50Ms: v / 2, P99Ms: v})
		}
		return p
	}
	for _, c := range []struct {
		about  string
		pages  *Pages
		want   string
		detail string
	}{
		{"not timed", nil, Skip, "pages not timed"},
		{"too few applications", pages(9_999, 5, 7), Skip, "only 9999 applications"},
		{"all fast", pages(10_003, 5, 42, 7), Pass, `slowest "page b" p99 42.0 ms`},
		{"one slow", pages(10_003, 5, 120, 7), Miss, `slowest "page b" p99 120.0 ms`},
	} {
		r := &Report{Pages: c.pages}
		r.Evaluate()
		got := targets(r)[name]
		if got.Result != c.want || !strings.Contains(got.Detail, c.detail) {
			t.Errorf("%s: %s (%s), want %s (%s)", c.about, got.Result, got.Detail, c.want, c.detail)
		}
	}
	r := &Report{Pages: pages(10_003, 5, 42)}
	r.Pages.Errors = []string{"page a: /demandes: 500"}
	r.Pages.FiguresComputed = &Stats{Name: "figures", Count: 50, P50Ms: 31, P90Ms: 35, P99Ms: 140, MaxMs: 150}
	r.Evaluate()
	if got := targets(r)[name]; got.Result != Miss {
		t.Errorf("a page that failed: %s (%s), want MISS", got.Result, got.Detail)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Web pages with 10003 applications in the database", "page b", "error: page a: /demandes: 500",
		"computing them afresh: p50 31.0 ms, p90 35.0 ms, p99 140.0 ms, max 150.0 ms over 50 computations"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, b.String())
		}
	}
}
