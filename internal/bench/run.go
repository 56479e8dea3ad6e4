package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Steps of a lifecycle, as the report names them. For the bare workflow,
// submit is the workflow start and the human steps are Updates.
const (
	StepSubmit         = "submit"
	StepStatusRead     = "status_read"
	StepConsultWait    = "consult_wait"
	StepOpinion        = "opinion"
	StepRecommendation = "recommendation"
	StepDecision       = "decision"
	StepLifecycle      = "lifecycle"
)

// reportedSteps are the steps a run reports, in lifecycle order.
var reportedSteps = []string{StepSubmit, StepStatusRead, StepConsultWait, StepOpinion, StepRecommendation, StepDecision, StepLifecycle}

// humanSteps are the three steps that go through an Update.
var humanSteps = []string{StepOpinion, StepRecommendation, StepDecision}

// Driver runs the steps of one lifecycle against a system: the engine through
// its HTTP API, or the bare workflow through the Temporal client.
type Driver interface {
	// Start submits application number i and returns its ID.
	Start(ctx context.Context, i int) (string, error)
	// Consulted tells whether the embassy has been consulted, so the
	// opinion may be given.
	Consulted(ctx context.Context, id string) (bool, error)
	// Step performs one human step. notReady reports the opinion refused
	// because the consultation is not recorded yet (409): try again.
	Step(ctx context.Context, id, step string) (notReady bool, err error)
}

// RunOptions shape a lifecycle run.
type RunOptions struct {
	Lifecycles  int
	Concurrency int
	// Warmup lifecycles run first and are left out of the figures.
	Warmup int
	// Poll is the interval between two status reads while waiting for the
	// embassy consultation.
	Poll time.Duration
	// Progress, when set, receives a line every few seconds.
	Progress io.Writer
	// cpu, when set, measures the processes' CPU time over the counted run.
	cpu *cpuProbe
	// metrics, when set, reads the engine's own latency histograms.
	metrics *metricsProbe
}

// Run is the outcome of a lifecycle run.
type Run struct {
	System      string  `json:"system"`
	Lifecycles  int     `json:"lifecycles"`
	Completed   int     `json:"completed"`
	Failed      int     `json:"failed"`
	WallSeconds float64 `json:"wall_seconds"`
	// PerSecond is completed lifecycles per second of wall time.
	PerSecond float64 `json:"lifecycles_per_second"`
	// CPU is the processor time each process used during the counted run.
	CPU []CPUShare `json:"cpu,omitempty"`
	// Server are the means the processes measured themselves.
	Server []ServerTime `json:"server_times,omitempty"`
	// History is the Temporal history of one lifecycle up to the decision
	// (the engine's workflow then waits for the mission; the bare one ends).
	History *HistoryShape `json:"history,omitempty"`
	// StatusReads is the mean number of status reads per lifecycle while
	// waiting for the consultation (their load weighs on the run).
	StatusReads float64  `json:"status_reads_per_lifecycle"`
	Steps       []Stats  `json:"steps"`
	Errors      []string `json:"errors,omitempty"`
}

// Step returns the statistics of the named step.
func (r *Run) Step(name string) Stats {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	return Stats{Name: name}
}

const maxErrors = 5

// RunLifecycles runs the warm-up, then the lifecycles, with Concurrency
// clients each taking the next application number until all are done.
func RunLifecycles(ctx context.Context, system string, d Driver, o RunOptions) (*Run, error) {
	s := NewSession(system, d, o)
	if err := s.Warmup(ctx, o.Warmup); err != nil {
		return nil, err
	}
	if err := s.Round(ctx, o.Lifecycles); err != nil {
		return nil, err
	}
	return s.Result(), nil
}

// Session accumulates the measured rounds of one system, so the engine and
// the bare workflow can take turns on the same server (drift in the server
// or in the machine's other load then weighs on both alike).
type Session struct {
	system string
	d      Driver
	o      RunOptions
	rec    *recorder
	// next is the next application number: unique across rounds.
	next       int
	lifecycles int
	completed  int
	failed     int
	reads      int64
	wall       time.Duration
	errs       []string
	cpu        map[string]float64 // seconds per process
	hist       map[string]histSums
	// lastID is the last application that went through, for its history.
	lastID string
}

// LastID is the ID of the last lifecycle completed.
func (s *Session) LastID() string { return s.lastID }

// NewSession prepares the rounds of one system.
func NewSession(system string, d Driver, o RunOptions) *Session {
	o.Concurrency = max(o.Concurrency, 1)
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	return &Session{system: system, d: d, o: o, rec: newRecorder(), cpu: map[string]float64{}, hist: map[string]histSums{}}
}

// Warmup runs n lifecycles left out of the figures; any failure is an error.
func (s *Session) Warmup(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	var reads atomic.Int64
	r := s.batch(ctx, n, newRecorder(), &reads, nil)
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.failed > 0 {
		return fmt.Errorf("%s warm-up: %d of %d lifecycles failed: %v", s.system, r.failed, n, r.errs)
	}
	return nil
}

// Round runs n measured lifecycles and adds them to the session.
func (s *Session) Round(ctx context.Context, n int) error {
	var hist map[string]histSums
	var cpu cpuSnapshot
	if s.o.metrics != nil {
		hist = s.o.metrics.snapshot(ctx)
	}
	if s.o.cpu != nil {
		cpu = s.o.cpu.snapshot(ctx)
	}
	var reads atomic.Int64
	r := s.batch(ctx, n, s.rec, &reads, s.o.Progress)
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.o.cpu != nil {
		for _, c := range s.o.cpu.snapshot(ctx).since(cpu, 0) {
			s.cpu[c.Process] += c.Seconds
		}
	}
	if s.o.metrics != nil {
		addHistDiff(s.hist, s.o.metrics.snapshot(ctx), hist)
	}
	s.lifecycles += n
	s.completed += r.completed
	s.failed += r.failed
	s.reads += reads.Load()
	s.wall += r.wall
	for _, e := range r.errs {
		if len(s.errs) < maxErrors {
			s.errs = append(s.errs, e)
		}
	}
	return nil
}

// Result is the session's figures over all its measured rounds.
func (s *Session) Result() *Run {
	r := &Run{System: s.system, Lifecycles: s.lifecycles, Completed: s.completed, Failed: s.failed,
		WallSeconds: round2(s.wall.Seconds()), Steps: s.rec.stats(reportedSteps...), Errors: s.errs}
	if s.wall > 0 {
		r.PerSecond = round2(float64(s.completed) / s.wall.Seconds())
	}
	if s.lifecycles > 0 {
		r.StatusReads = round2(float64(s.reads) / float64(s.lifecycles))
	}
	if s.o.cpu != nil {
		snap := cpuSnapshot{}
		for name, sec := range s.cpu {
			snap[name] = map[int]int64{0: int64(math.Round(sec * clockTicks))}
		}
		r.CPU = snap.since(nil, s.completed)
	}
	if s.o.metrics != nil {
		r.Server = since(s.hist, nil)
	}
	return r
}

type batchResult struct {
	completed, failed int
	wall              time.Duration
	errs              []string
}

// batch runs n lifecycles with the session's clients.
func (s *Session) batch(ctx context.Context, n int, rec *recorder, reads *atomic.Int64, progress io.Writer) batchResult {
	base := s.next
	s.next += n
	var next, done, failed atomic.Int64
	var mu sync.Mutex
	var errs []string
	fail := func(err error) {
		failed.Add(1)
		mu.Lock()
		if len(errs) < maxErrors {
			errs = append(errs, err.Error())
		}
		mu.Unlock()
	}
	start := time.Now()
	stopProgress := progressEvery(progress, 5*time.Second, func() string {
		return fmt.Sprintf("%s: %d/%d lifecycles done, %d failed, %.0f s", s.system, done.Load(), n,
			failed.Load(), time.Since(start).Seconds())
	})
	var wg sync.WaitGroup
	for range min(s.o.Concurrency, max(n, 1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				id, err := runOne(ctx, s.d, base+i, s.o.Poll, rec, reads)
				if err != nil {
					fail(err)
					continue
				}
				done.Add(1)
				mu.Lock()
				s.lastID = id
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	stopProgress()
	return batchResult{completed: int(done.Load()), failed: int(failed.Load()), wall: wall, errs: errs}
}

// runOne runs one application from submission to decision.
func runOne(ctx context.Context, d Driver, i int, poll time.Duration, rec *recorder, reads *atomic.Int64) (string, error) {
	began := time.Now()
	id, err := d.Start(ctx, i)
	if err != nil {
		return "", err
	}
	rec.add(StepSubmit, time.Since(began))

	waitFrom := time.Now()
	if err := waitConsulted(ctx, d, id, poll, reads, rec); err != nil {
		return id, err
	}
	for _, step := range humanSteps {
		for {
			t := time.Now()
			notReady, err := d.Step(ctx, id, step)
			if err != nil {
				return id, err
			}
			if !notReady {
				if step == StepOpinion {
					// consult_wait ends where the accepted opinion began: a
					// refused early attempt counts as waiting.
					rec.add(StepConsultWait, t.Sub(waitFrom))
				}
				rec.add(step, time.Since(t))
				break
			}
			if err := sleep(ctx, poll); err != nil {
				return id, err
			}
		}
	}
	rec.add(StepLifecycle, time.Since(began))
	return id, nil
}

// waitConsulted polls the status until the embassy is consulted. A failed
// read (a query timing out under load) is retried: it is part of waiting.
func waitConsulted(ctx context.Context, d Driver, id string, poll time.Duration, reads *atomic.Int64, rec *recorder) error {
	deadline := time.Now().Add(5 * time.Minute)
	var lastErr error
	for {
		if err := sleep(ctx, poll); err != nil {
			return err
		}
		reads.Add(1)
		t := time.Now()
		ok, err := d.Consulted(ctx, id)
		if err == nil {
			rec.add(StepStatusRead, time.Since(t))
		}
		if ok && err == nil {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				return fmt.Errorf("%s: embassy not consulted after 5 minutes; last read failed: %w", id, lastErr)
			}
			return fmt.Errorf("%s: embassy not consulted after 5 minutes", id)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// progressEvery writes line() every interval until the returned stop is
// called (once or more).
func progressEvery(w io.Writer, interval time.Duration, line func() string) (stop func()) {
	if w == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				fmt.Fprintln(w, line())
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(quit); wg.Wait() }) }
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
