package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daect/expectct/internal/apiclient"
	"github.com/daect/expectct/internal/lifecycle"
)

// ScaleOptions shape a scale run.
type ScaleOptions struct {
	// Applications to submit and leave waiting for the embassy.
	Applications int
	Concurrency  int
	// Reads is the number of list queries, and of status reads, timed once
	// every application is open.
	Reads           int
	ReadConcurrency int
	// Timeout bounds the wait for every application to reach the embassy.
	Timeout time.Duration
	// WorkerPID, when known, is read for the worker's memory.
	WorkerPID int
	// WorkerMetrics, when known, is the worker's /metrics: its Go runtime
	// figures break the resident set down.
	WorkerMetrics string
	Progress      io.Writer
}

// Scale is the outcome of a scale run.
type Scale struct {
	Applications  int     `json:"applications"`
	Submitted     int     `json:"submitted"`
	Failed        int     `json:"failed"`
	Consulted     int     `json:"consulted"`
	SubmitSeconds float64 `json:"submit_seconds"`
	// OpenSeconds is the time from the first submission until every
	// application waits for the embassy with its e-mails sent.
	OpenSeconds float64 `json:"open_seconds"`
	Submit      Stats   `json:"submit"`
	// Worker memory before the run, once all are open, and after the reads.
	WorkerBefore *Memory `json:"worker_before,omitempty"`
	WorkerOpen   *Memory `json:"worker_open,omitempty"`
	WorkerAfter  *Memory `json:"worker_after_reads,omitempty"`
	// WorkerRuntime is the worker's Go runtime once all are open.
	WorkerRuntime *GoRuntime `json:"worker_runtime,omitempty"`
	// List is GET /v1/applications?status=embassy_consultation&country=SN&limit=50.
	List     Stats `json:"list"`
	ListRows int   `json:"list_rows"`
	// Status is GET /v1/applications/{id} of a random open application.
	Status Stats    `json:"status"`
	Errors []string `json:"errors,omitempty"`
}

// WorkerRSS is the largest resident set seen with every application open.
func (s *Scale) WorkerRSS() (int64, bool) {
	var rss int64
	var ok bool
	for _, m := range []*Memory{s.WorkerOpen, s.WorkerAfter} {
		if m != nil {
			rss, ok = max(rss, m.RSSBytes), true
		}
	}
	return rss, ok
}

// RunScale submits the applications, waits until all of them wait for the
// embassy (read from the database), then times list and status reads.
func RunScale(ctx context.Context, d *EngineDriver, apiURL string, signIn *SignIn, databaseURL string, hc *http.Client, o ScaleOptions) (*Scale, error) {
	o.Concurrency = max(o.Concurrency, 1)
	o.ReadConcurrency = max(o.ReadConcurrency, 1)
	if o.Timeout <= 0 {
		o.Timeout = time.Hour
	}
	db, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database (to follow the scale run): %w", err)
	}
	defer db.Close()
	res := &Scale{Applications: o.Applications}
	res.WorkerBefore = workerMemory(o.WorkerPID)

	ids := make([]string, o.Applications)
	rec := newRecorder()
	var next, submitted, failed atomic.Int64
	var consulted atomic.Int64
	var mu sync.Mutex
	fail := func(err error) {
		failed.Add(1)
		mu.Lock()
		if len(res.Errors) < maxErrors {
			res.Errors = append(res.Errors, err.Error())
		}
		mu.Unlock()
	}
	start := time.Now()
	stop := progressEvery(o.Progress, 10*time.Second, func() string {
		line := fmt.Sprintf("scale: %d/%d submitted, %d waiting for the embassy, %d failed, %.0f s",
			submitted.Load(), o.Applications, consulted.Load(), failed.Load(), time.Since(start).Seconds())
		if m := workerMemory(o.WorkerPID); m != nil {
			line += fmt.Sprintf(", worker RSS %s", MiB(m.RSSBytes))
		}
		return line
	})
	defer stop()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= o.Applications || ctx.Err() != nil {
					return
				}
				t := time.Now()
				id, err := d.Start(ctx, 2_000_000+i)
				if err != nil {
					fail(err)
					continue
				}
				rec.add(StepSubmit, time.Since(t))
				ids[i] = id
				submitted.Add(1)
			}
		})
	}
	wg.Wait()
	res.SubmitSeconds = round2(time.Since(start).Seconds())
	res.Submitted, res.Failed = int(submitted.Load()), int(failed.Load())
	res.Submit = rec.stats(StepSubmit)[0]
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	open := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			open = append(open, id)
		}
	}
	if len(open) == 0 {
		return res, fmt.Errorf("scale: no submission succeeded: %v", res.Errors)
	}

	// Wait until every application waits for the embassy and its e-mails
	// are out, so the worker holds them all and is idle.
	deadline := time.Now().Add(o.Timeout)
	for {
		var n, unsent int64
		err := db.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM applications WHERE id = ANY($1) AND status = $2),
			(SELECT count(*) FROM outbox WHERE sent_at IS NULL AND application_id = ANY($1))`,
			open, string(lifecycle.StatusEmbassyConsultation)).Scan(&n, &unsent)
		if err != nil {
			return nil, fmt.Errorf("scale: count open applications: %w", err)
		}
		consulted.Store(n)
		if int(n) == len(open) && unsent == 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("scale: %d of %d applications wait for the embassy after %v", n, len(open), o.Timeout)
		}
		if err := sleep(ctx, time.Second); err != nil {
			return nil, err
		}
	}
	stop()
	res.Consulted = int(consulted.Load())
	res.OpenSeconds = round2(time.Since(start).Seconds())
	res.WorkerOpen = workerMemory(o.WorkerPID)
	if o.WorkerMetrics != "" {
		if g, err := readGoRuntime(ctx, hc, o.WorkerMetrics); err == nil {
			res.WorkerRuntime = g
		}
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "scale: %d applications wait for the embassy after %.0f s; timing %d list and %d status reads\n",
			res.Consulted, res.OpenSeconds, o.Reads, o.Reads)
	}

	instructor, err := actorClient(ctx, apiURL, signIn, hc, Instructor)
	if err != nil {
		return nil, err
	}
	list := apiclient.ListParams{Status: string(lifecycle.StatusEmbassyConsultation), Country: "SN", Limit: 50}
	var rowsMu sync.Mutex
	listTimes, errs := timeRequests(ctx, o.Reads, o.ReadConcurrency, func(int) error {
		r, err := instructor.List(ctx, list)
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		rowsMu.Lock()
		res.ListRows = len(r.Value.Items)
		rowsMu.Unlock()
		return nil
	})
	res.List = Summarize("list", listTimes)
	res.Errors = appendErrors(res.Errors, errs)
	statusTimes, errs := timeRequests(ctx, o.Reads, o.ReadConcurrency, func(int) error {
		id := open[rand.IntN(len(open))]
		if _, err := instructor.Status(ctx, id); err != nil {
			return fmt.Errorf("status of %s: %w", id, err)
		}
		return nil
	})
	res.Status = Summarize("status", statusTimes)
	res.Errors = appendErrors(res.Errors, errs)
	res.WorkerAfter = workerMemory(o.WorkerPID)
	return res, ctx.Err()
}

func actorClient(ctx context.Context, apiURL string, signIn *SignIn, hc *http.Client, a lifecycle.Actor) (*apiclient.Client, error) {
	tok, err := signIn.Token(ctx, a)
	if err != nil {
		return nil, err
	}
	return &apiclient.Client{BaseURL: apiURL, Token: tok, HTTP: hc}, nil
}

// timeRequests runs fn n times with conc clients and returns the latencies
// of the calls that succeeded and the first errors.
func timeRequests(ctx context.Context, n, conc int, fn func(i int) error) ([]time.Duration, []string) {
	rec := newRecorder()
	var next atomic.Int64
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	for range min(conc, max(n, 1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				if err := fn(i); err != nil {
					mu.Lock()
					if len(errs) < maxErrors {
						errs = append(errs, err.Error())
					}
					mu.Unlock()
					continue
				}
				rec.add("t", time.Since(t))
			}
		})
	}
	wg.Wait()
	return rec.samples["t"], errs
}

func appendErrors(to, more []string) []string {
	for _, e := range more {
		if len(to) >= 2*maxErrors {
			break
		}
		to = append(to, e)
	}
	return to
}

func workerMemory(pid int) *Memory {
	if pid <= 0 {
		return nil
	}
	m, err := ReadMemory("worker", pid)
	if err != nil {
		return nil
	}
	return &m
}
