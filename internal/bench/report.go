package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// Targets the engine is held to.
const (
	TargetThroughputRatio = 0.85      // engine lifecycles/s ≥ 0.85 × bare
	TargetStepP99Ratio    = 1.5       // human step p99 ≤ 1.5 × bare update p99
	TargetHistoryRatio    = 2.0       // one lifecycle's history ≤ 2 × bare's bytes
	TargetScaleApps       = 10_000    // open applications for the memory target
	TargetWorkerRSS       = 512 << 20 // bytes
	TargetReadP99Ms       = 50.0      // list and status reads
)

// Machine describes where the figures were measured.
type Machine struct {
	CPUs      int    `json:"cpus"`
	MemTotal  int64  `json:"mem_total_bytes,omitempty"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	// Load averages (1 min) when the run began and ended: other work on
	// the machine shows here, and weighs on every figure.
	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`
}

// Report is everything one `expectct bench` prints.
type Report struct {
	Machine Machine `json:"machine"`
	Mode    string  `json:"mode"` // standalone or stack
	// WorkerEnv is what --worker-env added to the worker's environment.
	WorkerEnv   []string `json:"worker_env,omitempty"`
	Temporal    string   `json:"temporal_address"`
	API         string   `json:"api"`
	Lifecycles  int      `json:"lifecycles"`
	Concurrency int      `json:"concurrency"`
	Warmup      int      `json:"warmup"`
	PollMs      float64  `json:"poll_interval_ms"`
	Rounds      int      `json:"rounds,omitempty"`
	Order       string   `json:"order,omitempty"`

	Engine *Run `json:"engine,omitempty"`
	Bare   *Run `json:"bare,omitempty"`
	// Ratios are engine/bare: throughput, then p99 per step.
	Ratios *Ratios `json:"ratios,omitempty"`
	// Memory of the engine's processes (and of the bench process, which
	// runs the bare worker and every client) after the lifecycle run.
	Memory []Memory `json:"memory,omitempty"`

	Scale   *Scale   `json:"scale,omitempty"`
	Pages   *Pages   `json:"pages,omitempty"`
	Targets []Target `json:"targets"`
}

// Ratios compare the engine with the bare workflow.
type Ratios struct {
	Throughput float64            `json:"throughput"`
	P99        map[string]float64 `json:"p99"`
}

// Target is one objective, met or not.
type Target struct {
	Name string `json:"name"`
	// Result is PASS, MISS or SKIP (not measured in this run).
	Result string `json:"result"`
	Detail string `json:"detail"`
}

// Results of a target.
const (
	Pass = "PASS"
	Miss = "MISS"
	Skip = "SKIP"
)

// ratioSteps are the steps compared between the engine and the bare workflow.
var ratioSteps = []string{StepSubmit, StepOpinion, StepRecommendation, StepDecision}

// Evaluate computes the ratios and the targets from the runs.
func (r *Report) Evaluate() {
	r.Ratios = nil
	if r.Engine != nil && r.Bare != nil {
		r.Ratios = &Ratios{Throughput: ratio(r.Engine.PerSecond, r.Bare.PerSecond), P99: map[string]float64{}}
		for _, s := range ratioSteps {
			r.Ratios.P99[s] = ratio(r.Engine.Step(s).P99Ms, r.Bare.Step(s).P99Ms)
		}
	}
	r.Targets = nil
	add := func(name, result, detail string) {
		r.Targets = append(r.Targets, Target{Name: name, Result: result, Detail: detail})
	}
	verdict := func(ok bool) string {
		if ok {
			return Pass
		}
		return Miss
	}

	name := fmt.Sprintf("engine lifecycles/s ≥ %.2f × bare", TargetThroughputRatio)
	if r.Ratios == nil || r.Bare.PerSecond == 0 {
		add(name, Skip, "needs both lifecycle runs (-n > 0)")
	} else {
		ok := r.Engine.Failed == 0 && r.Ratios.Throughput >= TargetThroughputRatio
		detail := fmt.Sprintf("%.2f × (%.2f vs %.2f /s)", r.Ratios.Throughput, r.Engine.PerSecond, r.Bare.PerSecond)
		if r.Engine.Failed > 0 {
			detail += fmt.Sprintf("; %d engine lifecycles failed", r.Engine.Failed)
		}
		add(name, verdict(ok), detail)
	}
	for _, s := range humanSteps {
		name := fmt.Sprintf("%s p99 ≤ %.1f × bare update p99", s, TargetStepP99Ratio)
		if r.Ratios == nil || r.Bare.Step(s).Count == 0 || r.Engine.Step(s).Count == 0 {
			add(name, Skip, "needs both lifecycle runs (-n > 0)")
			continue
		}
		e, b := r.Engine.Step(s).P99Ms, r.Bare.Step(s).P99Ms
		add(name, verdict(e <= TargetStepP99Ratio*b),
			fmt.Sprintf("%.2f × (%s vs %s)", r.Ratios.P99[s], fmtMs(e), fmtMs(b)))
	}

	name = fmt.Sprintf("history of one lifecycle ≤ %.0f × bare's bytes", TargetHistoryRatio)
	if r.Engine == nil || r.Bare == nil || r.Engine.History == nil || r.Bare.History == nil || r.Bare.History.Bytes == 0 {
		add(name, Skip, "needs a completed lifecycle of each (-n > 0)")
	} else {
		ratio := float64(r.Engine.History.Bytes) / float64(r.Bare.History.Bytes)
		e, b := r.Engine.History, r.Bare.History
		add(name, verdict(ratio <= TargetHistoryRatio), fmt.Sprintf("%.2f × (%s vs %s)", ratio, KiB(e.Bytes), KiB(b.Bytes)))
	}

	name = fmt.Sprintf("worker RSS < %s with %d open applications", MiB(TargetWorkerRSS), TargetScaleApps)
	switch rss, ok := r.scaleRSS(); {
	case r.Scale == nil:
		add(name, Skip, "scale run not requested (--scale 10000)")
	case !ok:
		add(name, Skip, "worker memory unknown (--worker-pid)")
	case r.Scale.Consulted < TargetScaleApps:
		add(name, Skip, fmt.Sprintf("only %d open applications (RSS %s)", r.Scale.Consulted, MiB(rss)))
	default:
		add(name, verdict(rss < TargetWorkerRSS), fmt.Sprintf("%s with %d open", MiB(rss), r.Scale.Consulted))
	}
	for _, q := range []struct {
		name string
		get  func(*Scale) Stats
	}{
		{"list query", func(s *Scale) Stats { return s.List }},
		{"status read", func(s *Scale) Stats { return s.Status }},
	} {
		name := fmt.Sprintf("%s p99 < %.0f ms", q.name, TargetReadP99Ms)
		if r.Scale == nil || q.get(r.Scale).Count == 0 {
			add(name, Skip, "scale run not requested (--scale N)")
			continue
		}
		st := q.get(r.Scale)
		add(name, verdict(st.P99Ms < TargetReadP99Ms),
			fmt.Sprintf("p99 %s, p50 %s over %d requests with %d open", fmtMs(st.P99Ms), fmtMs(st.P50Ms), st.Count, r.Scale.Consulted))
	}
	r.evaluatePages(add, verdict)
}

// evaluatePages holds every page to TargetPageP99Ms, once the database has
// TargetScaleApps applications.
func (r *Report) evaluatePages(add func(name, result, detail string), verdict func(bool) string) {
	name := fmt.Sprintf("every web page p99 < %.0f ms with %d applications", TargetPageP99Ms, TargetScaleApps)
	switch p := r.Pages; {
	case p == nil || len(p.Pages) == 0:
		add(name, Skip, "pages not timed (--seed 10000 or --scale 10000)")
	case p.Applications < TargetScaleApps:
		add(name, Skip, fmt.Sprintf("only %d applications in the database", p.Applications))
	default:
		slowest := p.Pages[0]
		ok := true
		for _, st := range p.Pages {
			ok = ok && st.Count > 0 && st.P99Ms < TargetPageP99Ms
			if st.P99Ms > slowest.P99Ms {
				slowest = st
			}
		}
		add(name, verdict(ok && len(p.Errors) == 0), fmt.Sprintf("slowest %q p99 %s over %d requests; %d errors",
			slowest.Name, fmtMs(slowest.P99Ms), slowest.Count, len(p.Errors)))
	}
}

func (r *Report) scaleRSS() (int64, bool) {
	if r.Scale == nil {
		return 0, false
	}
	return r.Scale.WorkerRSS()
}

// Missed tells whether a measured target was missed.
func (r *Report) Missed() bool {
	for _, t := range r.Targets {
		if t.Result == Miss {
			return true
		}
	}
	return false
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// stepLabels name the steps in the text table.
var stepLabels = map[string]string{
	StepSubmit:         "submit / start",
	StepStatusRead:     "status read (polling)",
	StepConsultWait:    "wait for consultation",
	StepOpinion:        "opinion",
	StepRecommendation: "recommendation",
	StepDecision:       "decision",
	StepLifecycle:      "whole lifecycle",
}

// WriteText writes the report as plain-text tables.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "expectct bench: %s, Temporal %s, API %s\n", r.Mode, r.Temporal, r.API)
	if len(r.WorkerEnv) > 0 {
		fmt.Fprintf(&b, "worker environment: %s\n", strings.Join(r.WorkerEnv, " "))
	}
	fmt.Fprintf(&b, "machine: %d CPUs, %s RAM, %s, %s; load average %.2f before, %.2f after\n", r.Machine.CPUs,
		GiB(r.Machine.MemTotal), r.Machine.GoVersion, r.Machine.OS, r.Machine.LoadBefore, r.Machine.LoadAfter)

	if r.Engine != nil || r.Bare != nil {
		fmt.Fprintf(&b, "\nLifecycle run: %d lifecycles each, %d concurrent clients, %d warm-up lifecycles each not counted, status polled every %s\n",
			r.Lifecycles, r.Concurrency, r.Warmup, fmtMs(r.PollMs))
		if r.Rounds > 0 {
			fmt.Fprintf(&b, "  %d rounds on the same server, in turns: %s\n", r.Rounds, r.Order)
		}
		fmt.Fprintln(&b, "  engine = HTTP API + worker + PostgreSQL + Mailpit; bare = Temporal client + no-op workflow (start, 3 updates, 6 activities)")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tengine\tbare\tengine/bare\t")
		fmt.Fprintf(tw, "completed\t%s\t%s\t\t\n", completed(r.Engine), completed(r.Bare))
		fmt.Fprintf(tw, "wall time\t%s\t%s\t\t\n", wall(r.Engine), wall(r.Bare))
		var tr string
		if r.Ratios != nil {
			tr = fmt.Sprintf("%.2f", r.Ratios.Throughput)
		}
		fmt.Fprintf(tw, "lifecycles/s\t%s\t%s\t%s\t\n", perSec(r.Engine), perSec(r.Bare), tr)
		fmt.Fprintf(tw, "status reads per lifecycle\t%s\t%s\t\t\n", reads(r.Engine), reads(r.Bare))
		for _, s := range reportedSteps {
			var ratioP99 string
			if r.Ratios != nil {
				if v, ok := r.Ratios.P99[s]; ok {
					ratioP99 = fmt.Sprintf("%.2f", v)
				}
			}
			fmt.Fprintf(tw, "%s p50\t%s\t%s\t\t\n", stepLabels[s], p50(r.Engine, s), p50(r.Bare, s))
			fmt.Fprintf(tw, "%s p99\t%s\t%s\t%s\t\n", stepLabels[s], p99(r.Engine, s), p99(r.Bare, s), ratioP99)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, run := range []*Run{r.Engine, r.Bare} {
			if run != nil && len(run.Errors) > 0 {
				fmt.Fprintf(&b, "  %s errors (first %d):\n", run.System, len(run.Errors))
				for _, e := range run.Errors {
					fmt.Fprintf(&b, "    %s\n", oneLine(e))
				}
			}
		}
	}

	if r.Engine != nil && r.Bare != nil && (len(r.Engine.CPU) > 0 || len(r.Bare.CPU) > 0) {
		fmt.Fprintln(&b, "\nCPU time per lifecycle, by process (utime+stime over the counted run)")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "process\tengine\tbare\t")
		var te, tb float64
		for _, name := range cpuNames(r.Engine.CPU, r.Bare.CPU) {
			e, bb := cpuOf(r.Engine.CPU, name), cpuOf(r.Bare.CPU, name)
			te, tb = te+e, tb+bb
			fmt.Fprintf(tw, "%s\t%.1f ms\t%.1f ms\t\n", name, e, bb)
		}
		fmt.Fprintf(tw, "total\t%.1f ms\t%.1f ms\t\n", te, tb)
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if r.Engine != nil && r.Bare != nil {
		if err := writeServerTimes(&b, r.Engine, r.Bare); err != nil {
			return err
		}
		if err := writeHistories(&b, r.Engine.History, r.Bare.History); err != nil {
			return err
		}
	}

	if len(r.Memory) > 0 {
		if r.Engine != nil {
			fmt.Fprintln(&b, "\nMemory after the lifecycle run")
		} else {
			fmt.Fprintln(&b, "\nMemory after the scale run")
		}
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "process\tpid\tpeak (VmHWM)\tresident (VmRSS)\t")
		for _, m := range r.Memory {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t\n", m.Process, m.PID, MiB(m.PeakBytes), MiB(m.RSSBytes))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if s := r.Scale; s != nil {
		fmt.Fprintf(&b, "\nScale run: %d applications submitted (%d failed) in %.1f s; %d waiting for the embassy after %.1f s\n",
			s.Submitted, s.Failed, s.SubmitSeconds, s.Consulted, s.OpenSeconds)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tp50\tp90\tp99\tmax\trequests\t")
		for _, st := range []struct {
			label string
			s     Stats
		}{{"submit", s.Submit}, {"list (status+country, limit 50)", s.List}, {"status read", s.Status}} {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t\n", st.label, fmtMs(st.s.P50Ms), fmtMs(st.s.P90Ms), fmtMs(st.s.P99Ms), fmtMs(st.s.MaxMs), st.s.Count)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(&b, "  list pages held %d rows\n", s.ListRows)
		for _, m := range []struct {
			label string
			m     *Memory
		}{{"before the scale run", s.WorkerBefore}, {"all open", s.WorkerOpen}, {"after the reads", s.WorkerAfter}} {
			if m.m != nil {
				fmt.Fprintf(&b, "  worker %-22s VmRSS %s, VmHWM %s\n", m.label, MiB(m.m.RSSBytes), MiB(m.m.PeakBytes))
			}
		}
		if g := s.WorkerRuntime; g != nil {
			per := func(v int64) string {
				if s.Consulted == 0 {
					return ""
				}
				return fmt.Sprintf(" (%.1f KiB per open application)", float64(v)/1024/float64(s.Consulted))
			}
			fmt.Fprintf(&b, "  worker Go runtime, all open: %d goroutines, %d workflows in the sticky cache\n", g.Goroutines, g.StickyCached)
			fmt.Fprintf(&b, "    heap allocated %s%s, heap in use %s, heap idle %s (%s returned to the OS)\n",
				MiB(g.HeapAlloc), per(g.HeapAlloc), MiB(g.HeapInuse), MiB(g.HeapIdle), MiB(g.HeapReleased))
			fmt.Fprintf(&b, "    goroutine stacks %s%s, next GC at %s heap, runtime total %s\n",
				MiB(g.StackInuse), per(g.StackInuse), MiB(g.NextGC), MiB(g.Sys))
		}
		for _, e := range s.Errors {
			fmt.Fprintf(&b, "  error: %s\n", oneLine(e))
		}
	}

	if p := r.Pages; p != nil {
		fmt.Fprintf(&b, "\nWeb pages with %d applications in the database (dossier pages of %d submitted for the run)\n",
			p.Applications, p.Dossiers)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tp50\tp90\tp99\tmax\trequests\t")
		for _, st := range p.Pages {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t\n", st.Name, fmtMs(st.P50Ms), fmtMs(st.P90Ms), fmtMs(st.P99Ms), fmtMs(st.MaxMs), st.Count)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if st := p.FiguresComputed; st != nil {
			fmt.Fprintf(&b, "  The figures page serves figures kept a minute; computing them afresh: p50 %s, p90 %s, p99 %s, max %s over %d computations\n",
				fmtMs(st.P50Ms), fmtMs(st.P90Ms), fmtMs(st.P99Ms), fmtMs(st.MaxMs), st.Count)
		}
		for _, e := range p.Errors {
			fmt.Fprintf(&b, "  error: %s\n", oneLine(e))
		}
	}

	fmt.Fprintln(&b, "\nTargets")
	width := 0
	for _, t := range r.Targets {
		width = max(width, utf8.RuneCountInString(t.Name))
	}
	for _, t := range r.Targets {
		pad := strings.Repeat(" ", width-utf8.RuneCountInString(t.Name))
		fmt.Fprintf(&b, "  %-4s  %s%s  %s\n", t.Result, t.Name, pad, t.Detail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeServerTimes prints the latencies the processes measured themselves:
// the API's requests, then the SDK's task latencies of both workers.
func writeServerTimes(b *strings.Builder, engine, bare *Run) error {
	var api []ServerTime
	sdk := map[string][2]*ServerTime{}
	var names []string
	for i, run := range []*Run{engine, bare} {
		for _, t := range run.Server {
			if t.Source == "api" {
				api = append(api, t)
				continue
			}
			v := sdk[t.Name]
			if v[0] == nil && v[1] == nil {
				names = append(names, t.Name)
			}
			v[i] = &t
			sdk[t.Name] = v
		}
	}
	if len(api) > 0 {
		fmt.Fprintln(b, "\nAPI requests during the engine run, as the API timed them")
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "route\tper lifecycle\tmean\t")
		for _, t := range api {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", strings.TrimPrefix(t.Name, "http_request_duration "), perLifecycle(t.Count, engine), fmtMs(t.MeanMs))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		fmt.Fprintln(b, "\nTemporal SDK latencies, as each worker timed them (means)")
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tengine per lifecycle\tengine mean\tbare per lifecycle\tbare mean\t")
		for _, n := range names {
			v := sdk[n]
			cells := []string{"-", "-", "-", "-"}
			for i, run := range []*Run{engine, bare} {
				if v[i] != nil {
					cells[2*i], cells[2*i+1] = perLifecycle(v[i].Count, run), fmtMs(v[i].MeanMs)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t\n", strings.ReplaceAll(n, "_", " "), strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func perLifecycle(count int64, r *Run) string {
	if r.Completed == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(count)/float64(r.Completed))
}

// writeHistories compares the Temporal histories of one lifecycle each.
func writeHistories(b *strings.Builder, engine, bare *HistoryShape) error {
	if engine == nil && bare == nil {
		return nil
	}
	fmt.Fprintln(b, "\nTemporal history of one lifecycle, from the submission to the decision")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tengine\tbare\t")
	cell := func(h *HistoryShape, f func(*HistoryShape) string) string {
		if h == nil {
			return "-"
		}
		return f(h)
	}
	fmt.Fprintf(tw, "events\t%s\t%s\t\n", cell(engine, func(h *HistoryShape) string { return fmt.Sprint(h.Events) }),
		cell(bare, func(h *HistoryShape) string { return fmt.Sprint(h.Events) }))
	fmt.Fprintf(tw, "size\t%s\t%s\t\n", cell(engine, func(h *HistoryShape) string { return KiB(h.Bytes) }),
		cell(bare, func(h *HistoryShape) string { return KiB(h.Bytes) }))
	for _, t := range historyTypes(engine, bare) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", strings.TrimPrefix(t, "EVENT_TYPE_"),
			cell(engine, func(h *HistoryShape) string { return fmt.Sprint(h.ByType[t]) }),
			cell(bare, func(h *HistoryShape) string { return fmt.Sprint(h.ByType[t]) }))
	}
	return tw.Flush()
}

func cpuNames(lists ...[]CPUShare) []string {
	var names []string
	for _, l := range lists {
		for _, c := range l {
			if !slices.Contains(names, c.Process) {
				names = append(names, c.Process)
			}
		}
	}
	return names
}

func cpuOf(l []CPUShare, name string) float64 {
	for _, c := range l {
		if c.Process == name {
			return c.PerLifecycleMs
		}
	}
	return 0
}

func completed(r *Run) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d", r.Completed, r.Lifecycles)
}

func wall(r *Run) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f s", r.WallSeconds)
}

func perSec(r *Run) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", r.PerSecond)
}

func reads(r *Run) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.StatusReads)
}

func p50(r *Run, step string) string {
	if r == nil || r.Step(step).Count == 0 {
		return "-"
	}
	return fmtMs(r.Step(step).P50Ms)
}

func p99(r *Run, step string) string {
	if r == nil || r.Step(step).Count == 0 {
		return "-"
	}
	return fmtMs(r.Step(step).P99Ms)
}

func fmtMs(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return round2(a / b)
}

// MiB formats a byte count in mebibytes.
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// KiB formats a byte count in kibibytes.
func KiB(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10)) }

// GiB formats a byte count in gibibytes.
func GiB(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
