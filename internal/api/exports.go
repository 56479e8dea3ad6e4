package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/daect/expectct/internal/exports"
)

// streamed is the answer of a handler that writes its own body, too large
// to hold: it returns an error only while nothing has been sent, which the
// API then answers as a problem.
type streamed func(w http.ResponseWriter) error

// exportChunk is how much of an export is gathered before it is sent.
const exportChunk = 64 << 10

// exportWriteTime is how long the client has to take each chunk: the
// server's write timeout, meant for JSON answers, would cut a long export.
const exportWriteTime = 2 * time.Minute

// maxExports bounds the exports one API process streams at once: each
// holds a database connection for as long as its client takes to read it,
// and the pool (16 connections) must still serve everything else.
const maxExports = 4

// exportRetry is when a refused export may try again.
const exportRetry = 5 * time.Second

// export streams the applications the query selects as CSV or JSON lines.
func (s *Server) export(r *request) (int, any, error) {
	format, f, err := exports.ParseQuery(r.URL.Query(), s.Now())
	if err != nil {
		return 0, nil, err
	}
	select {
	case s.exportSlots <- struct{}{}:
	default:
		s.m.rateLimited("exports")
		p := errTooManyRequests(exportRetry)
		p.Detail = fmt.Sprintf("%d exports sont déjà en cours : réessayez dans %d s / %d exports are already running: retry in %d s",
			maxExports, int(exportRetry.Seconds()), maxExports, int(exportRetry.Seconds()))
		return 0, nil, p
	}
	write := s.streamExport(r, s.Store, format, f)
	return http.StatusOK, streamed(func(w http.ResponseWriter) error {
		defer func() { <-s.exportSlots }()
		return write(w)
	}), nil
}

// streamExport writes the export from src as it is read. A failure before
// the first chunk is sent is returned, and answered as a problem; after it,
// the connection is broken off.
func (s *Server) streamExport(r *request, src exports.Source, format exports.Format, f exports.Filter) streamed {
	return func(w http.ResponseWriter) error {
		out := &startOnWrite{w: w, rc: http.NewResponseController(w), start: func(h http.Header) {
			h.Set("Content-Type", format.ContentType())
			h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": format.FileName(s.Now())}))
			h.Set("Cache-Control", "no-store")
			h.Set("X-Content-Type-Options", "nosniff")
		}}
		buf := bufio.NewWriterSize(out, exportChunk)
		n, err := exports.Export(r.Context(), src, format, f, buf)
		if err == nil {
			err = buf.Flush()
		}
		log := s.Log.With("actor", r.actor.ID, "role", r.actor.Role, "format", format, "status", f.Status,
			"country", f.Country, "year", f.Year, "siren", f.SIREN, "rows", n)
		switch {
		case err == nil:
			if !out.started {
				// Flush wrote nothing: an empty JSON lines file.
				out.begin()
			}
			log.Info("applications exported")
			return nil
		case !out.started:
			return err
		case errors.Is(err, context.Canceled):
			log.Warn("export interrupted: the client went away")
		default:
			log.Error("export cut short", "error", err)
		}
		// The status line is gone: breaking the connection is the only way
		// left to tell the client the file is incomplete (no final chunk).
		panic(http.ErrAbortHandler)
	}
}

// startOnWrite sends the headers with the first bytes of the body, so that
// an export that fails before them is still answered with a problem.
type startOnWrite struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	start   func(http.Header)
	started bool
}

func (o *startOnWrite) begin() {
	o.start(o.w.Header())
	o.w.WriteHeader(http.StatusOK)
	o.started = true
}

func (o *startOnWrite) Write(p []byte) (int, error) {
	if !o.started {
		o.begin()
	}
	// Not every server supports deadlines (httptest does not): no error.
	_ = o.rc.SetWriteDeadline(time.Now().Add(exportWriteTime))
	n, err := o.w.Write(p)
	if err == nil {
		err = o.rc.Flush()
		if errors.Is(err, http.ErrNotSupported) {
			err = nil
		}
	}
	return n, err
}
