package apiclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ExportParams choose an export's format and filters; empty ones are not
// sent (the API's defaults: CSV, every application).
type ExportParams struct {
	Format  string
	Status  string
	Country string
	Year    string
	SIREN   string
}

// Export streams the export of applications the parameters select to w, as
// the API sends it, and returns how many bytes it wrote. The API has
// HeaderTimeout to start answering; the body then takes as long as it
// takes (the context bounds it). An answer cut short is an error: what w
// received is then incomplete.
func (c *Client) Export(ctx context.Context, p ExportParams, w io.Writer) (int64, error) {
	q := url.Values{}
	for k, v := range map[string]string{"format": p.Format, "status": p.Status, "country": p.Country, "year": p.Year, "siren": p.SIREN} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u, err := c.url("/v1/exports/applications", q)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/csv, application/x-ndjson, application/problem+json")
	req.Header.Set("User-Agent", UserAgent)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	// The client's overall timeout would cut a large export: only the
	// wait for the answer to start is bounded.
	hc := http.Client{}
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.Timeout = 0
	waited := time.AfterFunc(HeaderTimeout, cancel)
	resp, err := hc.Do(req)
	if !waited.Stop() && err != nil {
		return 0, &UnreachableError{URL: c.BaseURL, Err: fmt.Errorf("no answer within %v", HeaderTimeout)}
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, &UnreachableError{URL: c.BaseURL, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return 0, problemOf(resp, raw)
	}
	n, err := io.Copy(&sink{w}, resp.Body)
	if err != nil {
		var werr *writeError
		if errors.As(err, &werr) {
			return n, werr.err
		}
		return n, fmt.Errorf("the export was cut short after %d bytes, and is incomplete: %w", n, err)
	}
	return n, nil
}

// HeaderTimeout bounds the wait for an export to start.
var HeaderTimeout = DefaultTimeout

// sink marks the errors of the destination, to tell a full disk from an
// answer cut short.
type sink struct{ w io.Writer }

func (s *sink) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
