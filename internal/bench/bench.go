// Package bench measures the engine against bare Temporal on the same
// server: complete application lifecycles through the HTTP API beside a
// no-op workflow of the same shape driven with the Temporal client, the
// memory of the worker and API processes, and, in a scale run, thousands of
// applications held open while list and status reads are timed.
// `expectct bench` runs it; BENCHMARKS.md records the figures.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/metrics"
)

// Options are everything a benchmark run needs.
type Options struct {
	// Standalone starts a stack of its own (Stack); otherwise the run goes
	// against the running system named below.
	Standalone bool
	Stack      StackOptions

	API string
	// SignIn signs the bench's people in (the actors of engine.go); in a
	// running stack they must hold their roles already, as `expectct dev`'s
	// ready-made people do.
	SignIn          *SignIn
	TemporalAddress string
	Namespace       string
	// TaskQueue is the engine's; the bare workflow gets a queue of its own.
	TaskQueue   string
	DatabaseURL string
	WorkerPID   int
	APIPID      int
	// WorkerMetrics is the worker's /metrics URL, APIMetrics the API's, when known.
	WorkerMetrics string
	APIMetrics    string

	Lifecycles  int
	Concurrency int
	Warmup      int
	Poll        time.Duration
	// Rounds splits the lifecycles into turns of bare and engine runs.
	Rounds int
	// EngineFirst runs the engine before the bare workflow.
	EngineFirst bool

	Scale int
	// Seed writes that many applications straight into the database (Seed)
	// before the page timings.
	Seed            int
	Reads           int
	ReadConcurrency int
	ScaleTimeout    time.Duration

	// Progress receives progress lines (stderr); nil for none.
	Progress io.Writer
}

// Execute runs the benchmark and returns its report, targets evaluated.
func Execute(ctx context.Context, o Options) (*Report, error) {
	o.Concurrency = max(o.Concurrency, 1)
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	rep := &Report{Machine: ThisMachine(), Mode: "running stack", Lifecycles: o.Lifecycles,
		Concurrency: o.Concurrency, Warmup: o.Warmup, PollMs: float64(o.Poll) / float64(time.Millisecond)}
	if o.Lifecycles == 0 {
		rep.Warmup = 0
	}
	rep.Machine.LoadBefore = LoadAverage()

	if o.Standalone {
		rep.Mode = "standalone stack (Temporal dev server on a SQLite file)"
		if o.Stack.TemporalInMemory {
			rep.Mode = "standalone stack (Temporal dev server in memory)"
		}
		rep.WorkerEnv = o.Stack.WorkerEnv
		progress("starting the standalone stack: Temporal dev server, Mailpit, database, worker and API")
		s, err := StartStack(ctx, o.Stack)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := s.Stop(); err != nil {
				progress("stopping the standalone stack: %v", err)
			}
		}()
		o.API, o.SignIn, o.TemporalAddress, o.Namespace = s.APIURL, s.SignIn, s.Temporal.Address(), "default"
		o.TaskQueue, o.DatabaseURL = s.TaskQueue, s.DBURL
		o.WorkerPID, o.APIPID, o.WorkerMetrics, o.APIMetrics = s.Worker.PID(), s.API.PID(), s.MetricsURL, s.APIMetricsURL
		progress("stack ready in %s: Temporal %s, API %s, worker pid %d, api pid %d", s.Dir, o.TemporalAddress, o.API, o.WorkerPID, o.APIPID)
		if o.Stack.Keep {
			progress("kept after the run: %s and the database %s", s.Dir, s.DatabaseName())
		}
	}
	rep.Temporal, rep.API = o.TemporalAddress, o.API

	// The bare worker's SDK metrics, served on a loopback port of ours so
	// they are read like the engine worker's.
	reg := prometheus.NewRegistry()
	bareMetrics, stopMetrics, err := serveMetrics(reg)
	if err != nil {
		return nil, err
	}
	defer stopMetrics()
	tc, err := client.DialContext(ctx, client.Options{HostPort: o.TemporalAddress, Namespace: o.Namespace,
		Logger:         sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		MetricsHandler: metrics.NewTemporalHandler(reg)})
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s: %w", o.TemporalAddress, err)
	}
	defer tc.Close()
	hc := NewHTTPClient(max(o.Concurrency, o.ReadConcurrency))
	if err := checkStack(ctx, tc, hc, o); err != nil {
		return nil, err
	}
	run := randomHex(4)
	probe, closeProbe := newCPUProbe(ctx, o)
	defer closeProbe()

	if o.Lifecycles > 0 {
		if err := lifecycleRuns(ctx, tc, bareMetrics, hc, o, run, probe, rep, progress); err != nil {
			return nil, err
		}
		rep.Memory = processMemory(o)
	}

	if o.Scale > 0 {
		d, err := NewEngineDriver(ctx, o.API, o.SignIn, hc, "bench-scale-"+run)
		if err != nil {
			return nil, err
		}
		if !o.Standalone {
			progress("scale: the %d applications stay open in this stack's database and Temporal; prefer --standalone", o.Scale)
		}
		progress("scale: submitting %d applications with %d clients", o.Scale, o.Concurrency)
		rep.Scale, err = RunScale(ctx, d, o.API, o.SignIn, o.DatabaseURL, hc, ScaleOptions{
			Applications: o.Scale, Concurrency: o.Concurrency, Reads: o.Reads, ReadConcurrency: o.ReadConcurrency,
			Timeout: o.ScaleTimeout, WorkerPID: o.WorkerPID, WorkerMetrics: o.WorkerMetrics, Progress: o.Progress})
		if err != nil {
			return nil, err
		}
		if rep.Memory == nil {
			rep.Memory = processMemory(o)
		}
	}
	if o.Seed > 0 {
		progress("seed: writing %d applications into the database as the worker records them", o.Seed)
		if _, err := Seed(ctx, o.DatabaseURL, o.Seed, o.Concurrency, o.Progress); err != nil {
			return nil, err
		}
	}
	if o.Scale > 0 || o.Seed > 0 {
		if rep.Pages, err = pageTimings(ctx, hc, o, run); err != nil {
			return nil, err
		}
	}
	rep.Machine.LoadAfter = LoadAverage()
	rep.Evaluate()
	return rep, nil
}

// pageDossiers is how many applications the run submits for the dossier
// pages: real ones, with a workflow and a history to show.
const pageDossiers = 3

// pageTimings submits the dossiers the pages show, waits for them and for
// the outbox to be empty (the seed's e-mails), then times the pages.
func pageTimings(ctx context.Context, hc *http.Client, o Options, run string) (*Pages, error) {
	d, err := NewEngineDriver(ctx, o.API, o.SignIn, hc, "bench-pages-"+run)
	if err != nil {
		return nil, err
	}
	var ids []string
	var reads atomic.Int64
	for i := range pageDossiers {
		id, err := d.Start(ctx, i)
		if err != nil {
			return nil, err
		}
		if err := waitConsulted(ctx, d, id, o.Poll, &reads, newRecorder()); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return RunPages(ctx, hc, ids, PagesOptions{Site: o.API, Password: o.SignIn.Password, DatabaseURL: o.DatabaseURL,
		Reads: o.Reads, Concurrency: o.ReadConcurrency, Progress: o.Progress})
}

// lifecycleRuns warms both systems up, then runs the engine and the bare
// workflow in turns: Rounds rounds, each giving both a share of the
// lifecycles, the first in the order of the previous round's last (bare,
// engine | engine, bare | ...), so a server or machine that speeds up or
// slows down over the run weighs on both alike.
func lifecycleRuns(ctx context.Context, tc client.Client, bareMetrics string, hc *http.Client, o Options, run string,
	probe *cpuProbe, rep *Report, progress func(string, ...any)) error {
	queue := o.TaskQueue + "-bare-" + run
	w := NewBareWorker(tc, queue)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start the bare worker: %w", err)
	}
	defer w.Stop()
	ed, err := NewEngineDriver(ctx, o.API, o.SignIn, hc, "bench-"+run)
	if err != nil {
		return err
	}
	mp := &metricsProbe{hc: hc, sources: map[string]string{}}
	if o.APIMetrics != "" {
		mp.sources["api"] = o.APIMetrics
	}
	if o.WorkerMetrics != "" {
		mp.sources["worker"] = o.WorkerMetrics
	}
	ro := RunOptions{Concurrency: o.Concurrency, Poll: o.Poll, Progress: o.Progress, cpu: probe}
	if bareMetrics != "" {
		ro.metrics = &metricsProbe{hc: hc, sources: map[string]string{"bare worker": bareMetrics}}
	}
	bare := NewSession("bare", &BareDriver{Client: tc, TaskQueue: queue, Prefix: "bench-bare-" + run}, ro)
	ro.metrics = mp
	engine := NewSession("engine", ed, ro)

	sessions := []*Session{bare, engine}
	if o.EngineFirst {
		sessions = []*Session{engine, bare}
	}
	rounds := min(max(o.Rounds, 1), o.Lifecycles)
	rep.Rounds = rounds
	progress("warm-up: %d lifecycles each, not counted", o.Warmup)
	for _, s := range sessions {
		if err := s.Warmup(ctx, o.Warmup); err != nil {
			return err
		}
	}
	var order []string
	for r := range rounds {
		n := o.Lifecycles / rounds
		if r == rounds-1 {
			n = o.Lifecycles - n*(rounds-1)
		}
		for _, s := range sessions {
			if err := sleep(ctx, 2*time.Second); err != nil {
				return err
			}
			progress("round %d/%d: %s, %d lifecycles, %d clients", r+1, rounds, s.system, n, o.Concurrency)
			if err := s.Round(ctx, n); err != nil {
				return err
			}
			order = append(order, s.system)
		}
		slices.Reverse(sessions)
	}
	rep.Order = strings.Join(order, ", ")
	rep.Bare, rep.Engine = bare.Result(), engine.Result()
	for _, x := range []struct {
		s *Session
		r *Run
	}{{bare, rep.Bare}, {engine, rep.Engine}} {
		if id := x.s.LastID(); id != "" {
			// The last update answered; the bare workflow closes just
			// after, the engine's goes on to wait for the mission's end.
			if err := waitSettled(ctx, tc, id); err != nil {
				progress("history of %s: %v", id, err)
				continue
			}
			h, err := historyShape(ctx, tc, id)
			if err != nil {
				progress("%v", err)
				continue
			}
			x.r.History = h
		}
	}
	for _, r := range []*Run{rep.Bare, rep.Engine} {
		progress("%s: %d/%d in %.1f s, %.2f lifecycles/s", r.System, r.Completed, r.Lifecycles, r.WallSeconds, r.PerSecond)
	}
	return nil
}

// serveMetrics serves the registry on a free loopback port.
func serveMetrics(reg *prometheus.Registry) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/metrics", func() { _ = srv.Close() }, nil
}

// waitSettled waits up to 30 s for a workflow to close or settle.
func waitSettled(ctx context.Context, c client.Client, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return devstack.WaitSettled(ctx, c, id)
}

// newCPUProbe follows the processes of the run: the worker and the API when
// their pids are known, the Temporal dev server and Mailpit when they are
// our children, this process, and the database's PostgreSQL backends.
func newCPUProbe(ctx context.Context, o Options) (*cpuProbe, func()) {
	p := &cpuProbe{procs: map[string]int{"bench (bare worker, clients)": os.Getpid()}}
	if o.WorkerPID > 0 {
		p.procs["worker"] = o.WorkerPID
	}
	if o.APIPID > 0 {
		p.procs["api"] = o.APIPID
	}
	for _, name := range []string{"temporal", "mailpit"} {
		if pids := childrenNamed(name); len(pids) == 1 {
			p.procs[name] = pids[0]
		}
	}
	if u, err := url.Parse(o.DatabaseURL); err == nil && o.DatabaseURL != "" {
		if db, err := pgxpool.New(ctx, o.DatabaseURL); err == nil {
			p.db, p.dbName = db, strings.TrimPrefix(u.Path, "/")
			return p, db.Close
		}
	}
	return p, func() {}
}

// checkStack fails early, with the fix, when the API or the worker is missing.
func checkStack(ctx context.Context, tc client.Client, hc *http.Client, o Options) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.API+"/readyz", nil)
	if err != nil {
		return fmt.Errorf("--api %q: %w", o.API, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("the API at %s does not answer (%v): start the stack (expectct dev) or use --standalone", o.API, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the API at %s is not ready: GET /readyz answered %s", o.API, resp.Status)
	}
	if o.Standalone {
		return nil
	}
	tq, err := tc.DescribeTaskQueue(ctx, o.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return fmt.Errorf("describe task queue %s: %w", o.TaskQueue, err)
	}
	if len(tq.GetPollers()) == 0 {
		return fmt.Errorf("no worker polls task queue %q on %s: start `expectct worker` or pass --task-queue", o.TaskQueue, o.TemporalAddress)
	}
	return nil
}

// processMemory reads the worker's and the API's memory, when their process
// IDs are known, and the bench process's own.
func processMemory(o Options) []Memory {
	var out []Memory
	for _, p := range []struct {
		name string
		pid  int
	}{{"worker", o.WorkerPID}, {"api", o.APIPID}, {"bench (bare worker, clients)", os.Getpid()}} {
		if p.pid <= 0 {
			continue
		}
		if m, err := ReadMemory(p.name, p.pid); err == nil {
			out = append(out, m)
		} else if o.Progress != nil {
			fmt.Fprintln(o.Progress, err)
		}
	}
	return out
}
