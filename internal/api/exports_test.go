package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/exports"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// brokenSource yields rows, then fails.
type brokenSource struct{ rows int }

func (b brokenSource) EachForExport(_ context.Context, _ store.ExportFilter, fn func(*store.ExportRecord) error) error {
	rec := &store.ExportRecord{ID: "EXP-AAAAAAAAAAAAAAAA", Status: "under_review", SIREN: "214401093",
		Collectivite: "Commune de Saint-Étienne", Country: "SN", RulesVersion: "2026.1", RequestedCents: 350000,
		SubmittedAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	for range b.rows {
		if err := fn(rec); err != nil {
			return err
		}
	}
	if b.rows < 0 {
		return nil
	}
	return store.ErrUnavailable
}

// exportServer serves the export from src as the API does once the query
// is checked.
func exportServer(t *testing.T, src exports.Source, log *bytes.Buffer) *httptest.Server {
	s := &Server{Now: func() time.Time { return time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) },
		Log: slog.New(slog.NewTextHandler(log, nil))}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &request{Request: r, w: w, actor: lifecycle.Actor{ID: "auditeur.un", Role: lifecycle.RoleAuditor}}
		if err := s.streamExport(req, src, exports.CSV, exports.Filter{})(w); err != nil {
			writeProblem(w, fromError(err))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestExportStreamed(t *testing.T) {
	var log bytes.Buffer
	resp, err := http.Get(exportServer(t, brokenSource{rows: -1}, &log).URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if !bytes.HasPrefix(body, []byte("\uFEFFIdentifiant;")) {
		t.Errorf("body %q", body)
	}
	for k, v := range map[string]string{"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
		"Content-Disposition": "attachment; filename=expectct-dossiers-2026-12-04.csv"} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(log.String(), "applications exported") || !strings.Contains(log.String(), "actor=auditeur.un") {
		t.Errorf("log: %s", log.String())
	}
}

// TestExportFailingEarlyIsAProblem: a database that fails before the first
// chunk has left gets a 503 problem, not an empty file.
func TestExportFailingEarlyIsAProblem(t *testing.T) {
	var log bytes.Buffer
	resp, err := http.Get(exportServer(t, brokenSource{rows: 10}, &log).URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Content-Type") != "application/problem+json" ||
		resp.Header.Get("Content-Disposition") != "" {
		t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
}

// TestExportFailingLateBreaksOff: once rows have left, a failure must not
// end the answer as if it were complete: the connection is broken off and
// the client's read fails.
func TestExportFailingLateBreaksOff(t *testing.T) {
	var log bytes.Buffer
	resp, err := http.Get(exportServer(t, brokenSource{rows: 5000}, &log).URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK || err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("%d: read %d bytes, error %v; want the transfer cut", resp.StatusCode, n, err)
	}
	if n < exportChunk {
		t.Errorf("only %d bytes before the failure", n)
	}
	if !strings.Contains(log.String(), "export cut short") {
		t.Errorf("log: %s", log.String())
	}
}

// TestExportsAtOnce: past maxExports running, an export is refused with
// 429 and Retry-After, before anything is read; a slot freed serves again.
func TestExportsAtOnce(t *testing.T) {
	s := &Server{}
	s.Handler()
	req := func() *request {
		return &request{Request: httptest.NewRequest("GET", "/v1/exports/applications?format=csv", nil)}
	}
	for range maxExports {
		s.exportSlots <- struct{}{}
	}
	_, _, err := s.export(req())
	var p *Problem
	if !errors.As(err, &p) || p.Status != http.StatusTooManyRequests || p.retryAfter != 5 || !strings.Contains(p.Detail, "exports are already running") {
		t.Fatalf("export past the limit: %v", err)
	}
	<-s.exportSlots
	_, body, err := s.export(req())
	if _, ok := body.(streamed); err != nil || !ok {
		t.Errorf("export with a slot free: %T %v", body, err)
	}
	if len(s.exportSlots) != maxExports {
		t.Errorf("%d slots taken, want %d", len(s.exportSlots), maxExports)
	}
}
