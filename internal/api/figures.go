package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/daect/expectct/internal/store"
)

// The programme's figures aggregate every application and the journal: tens
// of milliseconds at 10,000 applications, growing with the programme. DAECT
// reads them as a dashboard, where a minute's delay changes nothing, so they
// are kept that long, and their time (computed_at) is shown with them.
const (
	// figuresFresh is how long figures are served without recomputing.
	figuresFresh = time.Minute
	// figuresUsable is how long older figures are still served at once,
	// while one computation runs behind them; past it a request waits for
	// the computation, so a page opened after a quiet hour shows the hour's
	// figures. If that computation fails, the figures kept are served all
	// the same, with their time: old figures beat none while PostgreSQL is
	// down.
	figuresUsable = 15 * time.Minute
	// figuresRetry is how long after a failed computation the next may
	// start: an outage costs one attempt per interval, not one per request.
	figuresRetry = 10 * time.Second
	// figuresTimeout bounds one computation.
	figuresTimeout = 30 * time.Second
)

// figuresCache holds the last figures computed and runs at most one
// computation at a time, whoever asks. The figures it returns are shared by
// every reader: read them, never change them.
type figuresCache struct {
	mu       sync.Mutex
	value    store.Figures
	at       time.Time     // when the computation of value started; zero: none yet
	pending  chan struct{} // closed when the computation running ends; nil: none
	err      error         // the last computation's error; nil if it succeeded
	failedAt time.Time     // when the last computation failed
}

func (s *Server) figures(r *request) (int, any, error) {
	// The wall clock, not s.Now: tests freeze the latter for the business
	// rules, and frozen figures would never be computed again.
	f, err := s.figuresCache.get(r.Context(), time.Now, s.Store.Figures, s.Log)
	return http.StatusOK, f, err
}

// get returns the figures kept while younger than figuresFresh; past it, it
// starts a computation, and waits for it only when the figures kept are
// older than figuresUsable or there are none.
func (c *figuresCache) get(ctx context.Context, now func() time.Time, compute func(context.Context) (store.Figures, error), log *slog.Logger) (store.Figures, error) {
	c.mu.Lock()
	t := now()
	age := t.Sub(c.at)
	kept := !c.at.IsZero()
	if kept && age >= 0 && age < figuresFresh { // a clock set back makes them stale
		defer c.mu.Unlock()
		return c.value, nil
	}
	done := c.startLocked(t, now, compute, log)
	if kept && age >= 0 && age < figuresUsable {
		defer c.mu.Unlock()
		return c.value, nil
	}
	c.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return store.Figures{}, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil && c.at.IsZero() {
		return store.Figures{}, c.err
	}
	return c.value, nil
}

// startLocked starts a computation unless one is running or the last one
// failed less than figuresRetry ago, and returns the channel closed when the
// computation running ends (nil: none runs). The computation runs apart
// from the request that started it: the others wait for it, and it
// outlives a page closed meanwhile.
func (c *figuresCache) startLocked(t time.Time, now func() time.Time, compute func(context.Context) (store.Figures, error), log *slog.Logger) <-chan struct{} {
	if c.pending != nil {
		return c.pending
	}
	if c.err != nil && t.Sub(c.failedAt) >= 0 && t.Sub(c.failedAt) < figuresRetry {
		return nil
	}
	done := make(chan struct{})
	c.pending = done
	go func() {
		defer close(done)
		started := now()
		f, err := computeFigures(compute)
		c.mu.Lock()
		c.pending, c.err = nil, err
		if err == nil {
			c.value, c.at = f, started
		} else {
			c.failedAt = now()
		}
		c.mu.Unlock()
		if err != nil {
			log.Warn("programme figures not computed", "err", err, "retry_after", figuresRetry)
		}
	}()
	return done
}

// computeFigures runs one computation with its own deadline; a panic is
// turned into an error, since no HTTP handler is there to recover it.
func computeFigures(compute func(context.Context) (store.Figures, error)) (f store.Figures, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("programme figures: panic: %v", p)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), figuresTimeout)
	defer cancel()
	return compute(ctx)
}
