package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daect/expectct/internal/store"
)

// figuresSource counts its computations; each one waits for the gate when
// there is one, and answers Opinions = its rank.
type figuresSource struct {
	calls atomic.Int64
	gate  chan struct{}
	fail  atomic.Bool
}

func (f *figuresSource) compute(ctx context.Context) (store.Figures, error) {
	n := f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	if f.fail.Load() {
		return store.Figures{}, errors.New("PostgreSQL unreachable")
	}
	return store.Figures{Opinions: int(n)}, nil
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// figuresHarness is a cache read through a fake source on a fake clock.
type figuresHarness struct {
	c     figuresCache
	src   figuresSource
	clock testClock
}

func newFiguresHarness() *figuresHarness {
	return &figuresHarness{clock: testClock{t: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}}
}

var discardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func (h *figuresHarness) get() (store.Figures, error) {
	return h.c.get(context.Background(), h.clock.now, h.src.compute, discardLog)
}

// waitPending waits for the computation running, if any.
func (h *figuresHarness) waitPending() {
	h.c.mu.Lock()
	p := h.c.pending
	h.c.mu.Unlock()
	if p != nil {
		<-p
	}
}

// The figures are computed once a minute at most, served at once while
// younger than figuresUsable, and waited for past it.
func TestFiguresCache(t *testing.T) {
	h := newFiguresHarness()
	get, waitPending, src, clock := h.get, h.waitPending, &h.src, &h.clock
	if f, err := get(); err != nil || f.Opinions != 1 {
		t.Fatalf("first read: %+v %v, want the first computation", f, err)
	}
	clock.add(figuresFresh - time.Second)
	if f, _ := get(); f.Opinions != 1 || src.calls.Load() != 1 {
		t.Errorf("fresh: %+v after %d computations, want the kept figures, 1", f, src.calls.Load())
	}

	// Past a minute: the kept figures at once, the refresh behind them.
	clock.add(2 * time.Second)
	src.gate = make(chan struct{})
	if f, _ := get(); f.Opinions != 1 {
		t.Errorf("stale: %+v, want the kept figures while the refresh runs", f)
	}
	if f, _ := get(); f.Opinions != 1 {
		t.Errorf("stale again: %+v", f)
	}
	close(src.gate)
	waitPending()
	src.gate = nil
	if f, _ := get(); f.Opinions != 2 || src.calls.Load() != 2 {
		t.Errorf("after the refresh: %+v after %d computations, want the second, one refresh for two reads", f, src.calls.Load())
	}

	// Past figuresUsable: every reader waits for the same computation.
	clock.add(figuresUsable)
	src.gate = make(chan struct{})
	results := make(chan int, 8)
	for range 8 {
		go func() {
			f, _ := get()
			results <- f.Opinions
		}()
	}
	for src.calls.Load() < 3 { // the computation has started; it waits for the gate
		time.Sleep(time.Millisecond)
	}
	select {
	case n := <-results:
		t.Fatalf("a reader got %d without waiting for figures too old to show", n)
	default:
	}
	close(src.gate)
	for range 8 {
		if n := <-results; n != 3 {
			t.Errorf("a waiting reader got %d, want the third computation", n)
		}
	}
	if n := src.calls.Load(); n != 3 {
		t.Errorf("%d computations, want 3: one for the 8 readers", n)
	}
	src.gate = nil

	// A failed computation keeps the figures, even past figuresUsable (they
	// carry their time), and the next waits figuresRetry.
	clock.add(2 * figuresFresh)
	src.fail.Store(true)
	if f, err := get(); err != nil || f.Opinions != 3 {
		t.Errorf("stale while the database is down: %+v %v, want the kept figures", f, err)
	}
	waitPending()
	clock.add(figuresUsable)
	if f, err := get(); err != nil || f.Opinions != 3 || src.calls.Load() != 5 {
		t.Errorf("too old while the database is down: %+v %v after %d computations, want the kept figures after a 5th", f, err, src.calls.Load())
	}
	if f, err := get(); err != nil || f.Opinions != 3 || src.calls.Load() != 5 {
		t.Errorf("right after a failure: %+v %v after %d computations, want the kept figures and no 6th", f, err, src.calls.Load())
	}
	src.fail.Store(false)
	clock.add(figuresRetry)
	if f, err := get(); err != nil || f.Opinions != 6 {
		t.Errorf("database back: %+v %v, want the sixth computation", f, err)
	}
}

// Without figures kept, a failure is an error, and the next computation
// waits figuresRetry.
func TestFiguresCacheNoneYet(t *testing.T) {
	h := newFiguresHarness()
	get, src, clock := h.get, &h.src, &h.clock
	src.fail.Store(true)
	for range 3 {
		if _, err := get(); err == nil {
			t.Fatal("no figures and the database down: no error")
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("%d computations within figuresRetry of a failure, want 1", n)
	}
	src.fail.Store(false)
	clock.add(figuresRetry)
	if f, err := get(); err != nil || f.Opinions != 2 {
		t.Errorf("after figuresRetry: %+v %v, want the second computation", f, err)
	}
}

// A computation that panics fails like any other instead of taking the
// API down.
func TestFiguresCachePanic(t *testing.T) {
	var c figuresCache
	_, err := c.get(context.Background(), time.Now, func(context.Context) (store.Figures, error) { panic("boom") }, discardLog)
	if err == nil {
		t.Error("a computation that panicked: no error")
	}
}

// A reader whose request ends does not wait, and the computation goes on.
func TestFiguresCacheReaderGone(t *testing.T) {
	var c figuresCache
	src := &figuresSource{gate: make(chan struct{})}
	log := discardLog
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.get(ctx, time.Now, src.compute, log); !errors.Is(err, context.Canceled) {
		t.Errorf("reader gone: %v, want context.Canceled", err)
	}
	close(src.gate)
	c.mu.Lock()
	p := c.pending
	c.mu.Unlock()
	if p != nil {
		<-p
	}
	if f, err := c.get(context.Background(), time.Now, src.compute, log); err != nil || f.Opinions != 1 {
		t.Errorf("next reader: %+v %v, want the computation the first one started", f, err)
	}
}
