package api

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimits bound what one client may ask. A zero rate turns a limit off.
//
// Anonymous applies per client address to every request that names nobody:
// no token, a token that does not verify, a malformed application ID, and
// the public routes but /healthz. A request with a valid token is judged
// on its person only, so people behind the same NAT as a flood are not
// shut out with it.
//
// Writes applies per person (their directory ID) to every request that
// changes something: submissions, steps, grants and revocations, embassy
// contacts. It is checked as soon as the person is known, before their
// role, so a flood of forbidden writes cannot fill the attempts table.
type RateLimits struct {
	Anonymous      rate.Limit
	AnonymousBurst int
	Writes         rate.Limit
	WritesBurst    int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed; any other peer is the client itself.
	TrustedProxies []netip.Prefix
}

// maxLimiters caps each table of limiters. Past it, a new key goes
// unlimited rather than refused: an attacker with that many addresses is
// beyond a per-address limit anyway, and refusing newcomers would do the
// attacker's work.
const maxLimiters = 100_000

// limiterTable holds one token bucket per key (an address or a person).
// A bucket idle long enough to be full again is forgotten: a fresh one
// behaves the same, so memory follows the clients active in that window.
type limiterTable struct {
	limit rate.Limit
	burst int
	// fullAfter is how long an emptied bucket takes to fill up again.
	fullAfter time.Duration

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

func newLimiterTable(limit rate.Limit, burst int) *limiterTable {
	if limit <= 0 {
		return nil
	}
	burst = max(burst, 1)
	return &limiterTable{limit: limit, burst: burst, buckets: map[string]*rate.Limiter{},
		fullAfter: time.Duration(float64(burst) / float64(limit) * float64(time.Second))}
}

// allow takes one token from key's bucket; when there is none it says how
// long until there is. A nil table allows everything.
func (t *limiterTable) allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if t == nil {
		return true, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastSweep) >= max(t.fullAfter, time.Second) || len(t.buckets) >= maxLimiters {
		t.sweep(now)
	}
	lim, found := t.buckets[key]
	if !found {
		lim = rate.NewLimiter(t.limit, t.burst)
		if len(t.buckets) < maxLimiters {
			t.buckets[key] = lim
		}
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets the buckets that are full again.
func (t *limiterTable) sweep(now time.Time) {
	for k, lim := range t.buckets {
		if lim.TokensAt(now) >= float64(t.burst) {
			delete(t.buckets, k)
		}
	}
	t.lastSweep = now
}

// limiters are the server's two tables and how it finds a client's address.
type limiters struct {
	anonymous, writes *limiterTable
	trusted           []netip.Prefix
}

func newLimiters(rl RateLimits) *limiters {
	return &limiters{anonymous: newLimiterTable(rl.Anonymous, rl.AnonymousBurst),
		writes: newLimiterTable(rl.Writes, rl.WritesBurst), trusted: rl.TrustedProxies}
}

// Which limit refused a request, for the metric.
const (
	limitAnonymous = "anonymous"
	limitWrites    = "writes"
)

// allowAnonymous counts a request that names nobody against its address.
func (s *Server) allowAnonymous(r *http.Request) *Problem {
	return s.allowed(s.limits.anonymous, limitAnonymous, s.limits.clientKey(r))
}

// allowWrite counts a write against the person who sends it.
func (s *Server) allowWrite(personID string) *Problem {
	return s.allowed(s.limits.writes, limitWrites, personID)
}

func (s *Server) allowed(t *limiterTable, limit, key string) *Problem {
	ok, wait := t.allow(key, s.Now())
	if ok {
		return nil
	}
	s.m.rateLimited(limit)
	return errTooManyRequests(wait)
}

// limitedPublic applies the anonymous limit to a public route.
func (s *Server) limitedPublic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := s.allowAnonymous(r); p != nil {
			s.Log.Debug("request limited", "route", r.Pattern, "status", p.Status, "reason", p.Detail)
			writeProblem(w, p)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errTooManyRequests answers a spent limit; Retry-After is in whole seconds.
func errTooManyRequests(wait time.Duration) *Problem {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	p := problem(http.StatusTooManyRequests, "too-many-requests", "Trop de requêtes / Too many requests",
		fmt.Sprintf("réessayez dans %d s / retry in %d s", secs, secs))
	p.retryAfter = secs
	return p
}

// clientKey is the client's address as the limits see it: the TCP peer,
// or, when the peer is a trusted proxy, the last address of
// X-Forwarded-For that is not one. IPv6 clients are keyed by their /64, the
// block one subscriber usually holds.
func (l *limiters) clientKey(r *http.Request) string {
	addr := peerAddr(r.RemoteAddr)
	if l.isTrusted(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a forged or garbled hop: stop at the last one we trust
			}
			addr = hop.Unmap()
			if !l.isTrusted(addr) {
				break
			}
		}
	}
	if !addr.IsValid() {
		return r.RemoteAddr
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (l *limiters) isTrusted(a netip.Addr) bool {
	for _, p := range l.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
