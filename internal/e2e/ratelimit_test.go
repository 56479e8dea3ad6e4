package e2e_test

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/testenv"
)

// TestRateLimits: an address flooding without a valid token gets 429 with
// Retry-After while another address, and a person signed in from the same
// address, go on; a person's burst of writes gets 429 while another person
// goes on; a limited request writes nothing: no journal line, no attempts
// row, no update in the workflow's history. The rates are so low that no
// token comes back during the test.
func TestRateLimits(t *testing.T) {
	// No reminder may write to the journal while the test watches it.
	slow := testenv.FastRules()
	slow.Timers.EmbassyReminder, slow.Timers.EmbassyDeadline = rules.Duration(time.Hour), rules.Duration(2*time.Hour)
	s := testenv.NewStack(t, testenv.StackOptions{Rules: &slow, RateLimits: api.RateLimits{
		Anonymous: 0.01, AnonymousBurst: 3, Writes: 0.01, WritesBurst: 2,
		// The test's requests come from the loopback: it plays the proxy.
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}})
	id := s.Submit(testenv.ExampleDossier(t)) // the applicant's first write
	s.WaitStatus(id, lifecycle.StatusEmbassyConsultation, 15*time.Second)
	// The state may be read from the workflow before its transition is in
	// the journal: wait for the journal too, so it holds still.
	for deadline := time.Now().Add(15 * time.Second); !slices.Contains(s.Journal(id), lifecycle.EventEmbassyConsulted); {
		if time.Now().After(deadline) {
			t.Fatalf("journal of %s: %v, no %s", id, s.Journal(id), lifecycle.EventEmbassyConsulted)
		}
		time.Sleep(100 * time.Millisecond)
	}
	journal, attempts, updates := s.Journal(id), lastAttemptID(t, s), acceptedUpdates(t, s, id)
	withdrawal := map[string]string{"reason": "no longer needed"}
	from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }

	t.Run("anonymous flood", func(t *testing.T) {
		for i := range 3 {
			if r := s.Do(nil, "POST", "/v1/applications/"+id+"/withdrawal", withdrawal, from("203.0.113.9")...); r.Status != http.StatusUnauthorized {
				t.Fatalf("anonymous request %d: %d %s, want 401", i+1, r.Status, r.Body)
			}
		}
		for _, headers := range [][]string{nil, {"Authorization", "Bearer not-a-token"}} {
			r := s.Do(nil, "POST", "/v1/applications/"+id+"/withdrawal", withdrawal, append(headers, from("203.0.113.9")...)...)
			assertLimited(t, r)
		}
		if r := s.Do(nil, "GET", "/v1/auth/config", nil, from("203.0.113.9")...); r.Status != http.StatusTooManyRequests {
			t.Errorf("public route from the spent address: %d, want 429", r.Status)
		}
		if r := s.Do(nil, "POST", "/v1/applications/"+id+"/withdrawal", withdrawal, from("198.51.100.7")...); r.Status != http.StatusUnauthorized {
			t.Errorf("another address: %d %s, want 401", r.Status, r.Body)
		}
		if r := s.Do(&testenv.Instructor, "GET", "/v1/applications/"+id, nil, from("203.0.113.9")...); r.Status != http.StatusOK {
			t.Errorf("a person signed in from the spent address: %d %s, want 200", r.Status, r.Body)
		}
	})

	t.Run("a person's burst of writes", func(t *testing.T) {
		s.Submit(testenv.ExampleDossier(t)) // the applicant's second write: the burst is spent
		// A withdrawal that would be accepted, and a step the applicant may
		// not take (which would be a 403 and an attempts row): both 429.
		assertLimited(t, s.Do(&testenv.Applicant, "POST", "/v1/applications/"+id+"/withdrawal", withdrawal))
		assertLimited(t, s.Do(&testenv.Applicant, "POST", "/v1/applications/"+id+"/opinion",
			map[string]string{"opinion": "favorable", "comment": "ok"}))
		if r := s.Do(&testenv.Applicant, "GET", "/v1/applications/"+id, nil); r.Status != http.StatusOK {
			t.Errorf("the applicant's read: %d %s, want 200 (reads are not writes)", r.Status, r.Body)
		}
	})

	t.Run("nothing written by a limited request", func(t *testing.T) {
		if got := s.Journal(id); !slices.Equal(got, journal) {
			t.Errorf("journal of %s: %v, was %v", id, got, journal)
		}
		if got := attemptsSince(t, s, attempts); len(got) != 0 {
			t.Errorf("attempts rows written by limited requests: %+v", got)
		}
		if got := acceptedUpdates(t, s, id); !slices.Equal(got, updates) {
			t.Errorf("updates of %s: %v, was %v", id, got, updates)
		}
		if st := s.State(id); st.Status != lifecycle.StatusEmbassyConsultation {
			t.Errorf("%s is %s, want still %s", id, st.Status, lifecycle.StatusEmbassyConsultation)
		}
	})

	t.Run("another person unaffected", func(t *testing.T) {
		r := s.Do(&testenv.EmbassySN, "POST", "/v1/applications/"+id+"/opinion", map[string]string{"opinion": "favorable", "comment": "ok"})
		if r.Status != http.StatusOK {
			t.Fatalf("the embassy's opinion: %d %s, want 200", r.Status, r.Body)
		}
	})
}

// assertLimited checks a 429: Retry-After in seconds (at most 1/0.01 s)
// and the bilingual problem.
func assertLimited(t *testing.T, r testenv.Response) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("%d %s, want 429", r.Status, r.Body)
	}
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 100 {
		t.Errorf("Retry-After %q, want 1 to 100 seconds", r.Header.Get("Retry-After"))
	}
	var p api.Problem
	r.JSON(t, &p)
	if p.Status != http.StatusTooManyRequests || p.Title != "Trop de requêtes / Too many requests" {
		t.Errorf("problem %+v", p)
	}
}
