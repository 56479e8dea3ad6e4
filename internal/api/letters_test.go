package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestLetterVerifyIsPublicAndLimited: the verify endpoint needs no token,
// answers a code of the wrong form 404 with the field and rule, before any
// look-up, and goes through the anonymous limit per address like every
// request that names nobody.
func TestLetterVerifyIsPublicAndLimited(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	s := &Server{Registry: prometheus.NewRegistry(), Now: func() time.Time { return now },
		RateLimits: RateLimits{Anonymous: 0.25, AnonymousBurst: 2}}
	h := s.Handler()
	do := func(path, peer string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = peer + ":41000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, code := range []string{"ABCD", "ABCD-EFGH-IJKL-MN01"} {
		rec := do("/v1/letters/verify/"+code, "192.0.2.7")
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if rec.Code != http.StatusNotFound || len(p.Errors) != 1 || p.Errors[0].Field != "code" || p.Errors[0].Rule != "letter_code" ||
			p.Errors[0].MessageFR == "" || p.Errors[0].MessageEN == "" {
			t.Errorf("verify %s: %d %s, want 404 naming the field code and the rule letter_code", code, rec.Code, rec.Body)
		}
	}
	if rec := do("/v1/letters/verify/ABCD-EFGH-IJKL-MNOP", "192.0.2.7"); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("verify from a spent address: %d, want 429 with Retry-After", rec.Code)
	}
}
