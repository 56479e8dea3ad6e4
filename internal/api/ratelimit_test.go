package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestAnonymousLimitPerAddress: requests without a token are counted per
// client address (the trusted proxy's X-Forwarded-For, else the peer); the
// one past the burst gets 429 with Retry-After and the bilingual problem,
// counted in the metric, while other addresses and /healthz go on. The
// clock stands still, so no token comes back during the test.
func TestAnonymousLimitPerAddress(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s := &Server{Registry: prometheus.NewRegistry(), Now: func() time.Time { return now },
		RateLimits: RateLimits{Anonymous: 0.25, AnonymousBurst: 2,
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	h := s.Handler()
	do := func(path, peer, forwarded string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = peer + ":41000"
		if forwarded != "" {
			req.Header.Set("X-Forwarded-For", forwarded)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i, want := range []int{401, 401, 429, 429} {
		if rec := do("/v1/applications", "192.0.2.1", ""); rec.Code != want {
			t.Fatalf("request %d from 192.0.2.1: %d %s, want %d", i+1, rec.Code, rec.Body, want)
		}
	}
	rec := do("/v1/auth/config", "192.0.2.1", "")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "4" {
		t.Errorf("public route from a spent address: %d, Retry-After %q, want 429 and 4 (one request at 0.25/s)",
			rec.Code, rec.Header().Get("Retry-After"))
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != 429 || p.Type != problemBase+"too-many-requests" || p.Title != "Trop de requêtes / Too many requests" ||
		p.Detail != "réessayez dans 4 s / retry in 4 s" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("problem: %+v (%s)", p, rec.Header().Get("Content-Type"))
	}
	if rec := do("/healthz", "192.0.2.1", ""); rec.Code != http.StatusOK {
		t.Errorf("/healthz from a spent address: %d", rec.Code)
	}
	// An untrusted peer cannot borrow another address's allowance.
	if rec := do("/v1/applications", "192.0.2.1", "203.0.113.9"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("X-Forwarded-For from an untrusted peer was believed: %d", rec.Code)
	}
	// Other clients are unaffected: another peer, and a client behind the
	// trusted proxy, even one claiming the spent address further left.
	if rec := do("/v1/applications", "198.51.100.7", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("another address: %d, want 401", rec.Code)
	}
	if rec := do("/v1/applications", "10.1.2.3", "192.0.2.1, 203.0.113.9"); rec.Code != http.StatusUnauthorized {
		t.Errorf("client 203.0.113.9 behind the proxy: %d, want 401", rec.Code)
	}
	if got := testutil.ToFloat64(s.m.limited.WithLabelValues(limitAnonymous)); got != 4 {
		t.Errorf("expectct_rate_limited_total{limit=anonymous} = %v, want 4", got)
	}
	if got := testutil.ToFloat64(s.m.requests.WithLabelValues("GET /v1/applications", "429")); got != 3 {
		t.Errorf("requests answered 429 on GET /v1/applications: %v, want 3", got)
	}
}

func TestClientKey(t *testing.T) {
	l := &limiters{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	for _, tc := range []struct {
		peer      string
		forwarded []string
		want      string
	}{
		{"192.0.2.1:5000", nil, "192.0.2.1"},
		{"192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"10.0.0.2:5000", nil, "10.0.0.2"},
		{"10.0.0.2:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		// The rightmost untrusted hop: what the client wrote on the left is ignored.
		{"10.0.0.2:5000", []string{"198.51.100.1, 203.0.113.9, 10.0.0.7"}, "203.0.113.9"},
		{"10.0.0.2:5000", []string{"198.51.100.1", "203.0.113.9"}, "203.0.113.9"},
		// A garbled hop stops the walk at the last trusted one.
		{"10.0.0.2:5000", []string{"203.0.113.9, not-an-ip"}, "10.0.0.2"},
		{"[::ffff:10.0.0.2]:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		// IPv6 clients by their /64.
		{"[2001:db8:1:2:3:4:5:6]:5000", nil, "2001:db8:1:2::/64"},
		{"[fd00::1]:5000", []string{"2001:db8:1:2::99"}, "2001:db8:1:2::/64"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.peer
		for _, f := range tc.forwarded {
			req.Header.Add("X-Forwarded-For", f)
		}
		if got := l.clientKey(req); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: key %q, want %q", tc.peer, tc.forwarded, got, tc.want)
		}
	}
}

// TestIdleLimitersAreForgotten: a bucket full again is dropped, a spent one
// is kept (forgetting it would hand its client a fresh burst).
func TestIdleLimitersAreForgotten(t *testing.T) {
	tab := newLimiterTable(1, 2) // full again 2 s after being emptied
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 50 {
		tab.allow(fmt.Sprint("idle-", i), t0)
	}
	for range 2 {
		tab.allow("busy", t0.Add(time.Second))
	}
	if n := len(tab.buckets); n != 51 {
		t.Fatalf("%d buckets, want 51", n)
	}
	// At t0+2s the sweep runs: the idle buckets are full again, busy has
	// one token back, which it spends; the next is a second away.
	if ok, _ := tab.allow("busy", t0.Add(2*time.Second)); !ok {
		t.Fatal("busy at t0+2s refused its one token back")
	}
	if ok, wait := tab.allow("busy", t0.Add(2*time.Second)); ok || wait != time.Second {
		t.Fatalf("busy again at t0+2s: ok %v wait %v, want refused for 1s", ok, wait)
	}
	if _, ok := tab.buckets["busy"]; !ok || len(tab.buckets) != 1 {
		t.Errorf("after the sweep: %d buckets (busy kept: %v), want only busy", len(tab.buckets), ok)
	}
}
