package api

import (
	"context"
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
	// figuresUsable is how long older figures are still served, at once,
	// while one refresh runs behind them; past it a request waits for the
	// refresh, so a page opened after a quiet hour shows the hour's figures.
	figuresUsable = 15 * time.Minute
	// figuresTimeout bounds one computation.
	figuresTimeout = 30 * time.Second
)

// figuresCache holds the last figures computed and runs at most one
// computation at a time, whoever asks.
type figuresCache struct {
	mu      sync.Mutex
	value   store.Figures
	at      time.Time     // when the computation of value started; zero: none yet
	pending chan struct{} // closed when the computation running ends; nil: none
	err     error         // the last computation's, nil once one succeeds
}

func (s *Server) figures(r *request) (int, any, error) {
	f, err := s.figuresCache.get(r.Context(), s.Now, s.Store.Figures, s.Log)
	return http.StatusOK, f, err
}

// get returns figures computed less than figuresUsable ago, recomputing them
// in the background past figuresFresh.
func (c *figuresCache) get(ctx context.Context, now func() time.Time, compute func(context.Context) (store.Figures, error), log *slog.Logger) (store.Figures, error) {
	c.mu.Lock()
	age := now().Sub(c.at)
	if !c.at.IsZero() && age < figuresFresh {
		defer c.mu.Unlock()
		return c.value, nil
	}
	done := c.startLocked(now, compute, log)
	if !c.at.IsZero() && age < figuresUsable {
		defer c.mu.Unlock()
		return c.value, nil
	}
	c.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return store.Figures{}, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return store.Figures{}, c.err
	}
	return c.value, nil
}

// startLocked starts a computation unless one is running, and returns the
// channel closed when it ends. It runs apart from the request that started
// it: the others wait for it, and it outlives a page closed meanwhile.
func (c *figuresCache) startLocked(now func() time.Time, compute func(context.Context) (store.Figures, error), log *slog.Logger) <-chan struct{} {
	if c.pending != nil {
		return c.pending
	}
	done := make(chan struct{})
	c.pending = done
	go func() {
		defer close(done)
		started := now()
		ctx, cancel := context.WithTimeout(context.Background(), figuresTimeout)
		f, err := compute(ctx)
		cancel()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.pending, c.err = nil, err
		if err != nil {
			log.Warn("programme figures not computed", "err", err)
			return
		}
		c.value, c.at = f, started
	}()
	return done
}
