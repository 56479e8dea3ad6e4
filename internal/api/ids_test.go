package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// Every ID the API makes, random or derived from an idempotency key, has the
// form the paths are checked against.
func TestApplicationIDForm(t *testing.T) {
	for i := range 200 {
		for _, id := range []string{applicationID("214401093", ""), applicationID("214401093", "key-"+strconv.Itoa(i))} {
			if !validApplicationID(id) {
				t.Fatalf("generated ID %q refused", id)
			}
		}
	}
	for _, id := range []string{
		"", "EXP-", "nope", "EXP-AAAAAAAAAAAAAAA", "EXP-AAAAAAAAAAAAAAAAA", "exp-AAAAAAAAAAAAAAAA",
		"EXP-aaaaaaaaaaaaaaaa", "EXP-AAAAAAAAAAAAAAA1", "EXP-AAAAAAAAAAAAAAA8", "EXP-AAAAAAAAAAAAAAA=",
		"EXP-AAAAAAAA\nAAAAAAA", "EXP-AAAAAAAAAAAAAAA\x00", "EXP-AAAAAAAAAAAAAAÉ", "../AAAAAAAAAAAAAAAA",
	} {
		if validApplicationID(id) {
			t.Errorf("ID %q accepted", id)
		}
	}
}

// failingBody fails the test if anyone reads it.
type failingBody struct{ t *testing.T }

func (b failingBody) Read([]byte) (int, error) {
	b.t.Error("the body was read before the path ID was checked")
	return 0, errors.New("read")
}

// A path ID that no application can have is answered 404 naming the field
// and the rule before the token or the body are looked at: no token here,
// and no Temporal or database behind the server.
func TestBadPathIDBeforeAnything(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := s.Handler()
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/applications/nope"},
		{"GET", "/v1/applications/EXP-aaaaaaaaaaaaaaaa/history"},
		{"POST", "/v1/applications/EXP-AAAAAAAAAAAAAAA%00/withdrawal"},
		{"POST", "/v1/applications/EXP-AAAAAAAAAAAAAAAA%0A/decision"},
	} {
		method, path := c.method, c.path
		req := httptest.NewRequest(method, path, failingBody{t})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body)
			continue
		}
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Errors) != 1 || p.Errors[0].Field != "id" || p.Errors[0].Rule != ruleApplicationID ||
			p.Errors[0].MessageFR == "" || p.Errors[0].MessageEN == "" {
			t.Errorf("%s %s: problem %+v", method, path, p)
		}
	}
}
