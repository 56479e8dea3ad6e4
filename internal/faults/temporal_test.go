package faults_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/daect/expectct/internal/faults"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// TestTemporalServerKilled SIGKILLs the Temporal server while decisions and
// submissions are in flight, restarts it on its file store and the same
// port, and checks that the stack's clients (the API's and the worker's)
// reconnect by themselves, that a step or submission lost in the crash can
// be sent again safely, and that every application completes with nothing
// recorded or sent twice.
func TestTemporalServerKilled(t *testing.T) {
	t.Parallel()
	srv := testenv.OwnTemporal(t)
	s := testenv.NewStackOn(t, testenv.StackOptions{Rules: steadyRules()}, testenv.Servers{Temporal: srv})
	a := newAPI(s)
	phase := phases(t)

	// Six applications taken to the decision; the first four to be approved.
	keys := map[string]string{}
	var ids []string
	dumpHistoriesOnFailure(t, s.Temporal, func() []string { return ids })
	for range 6 {
		key := newKey()
		r, err := a.submit(key)
		expect(t, "submit", r, err, 201)
		id := submittedID(t, r)
		ids, keys[id] = append(ids, id), key
	}
	waitStatuses(t, s.Store, ids, lifecycle.StatusEmbassyConsultation, time.Minute)
	for i, id := range ids {
		r, err := a.opinion(id)
		expect(t, "opinion", r, err, 200)
		r, err = a.recommend(id, i < 4)
		expect(t, "recommendation", r, err, 200)
	}
	phase("setup")

	// The decisions race the crash; two submissions are sent while the
	// server is down.
	decisions := make([]chan answer, len(ids))
	for i, id := range ids {
		decisions[i] = make(chan answer, 1)
		go func() { r, err := a.decide(testenv.Decider, id, i < 4); decisions[i] <- answer{r, err} }()
	}
	// Kill as soon as the first decision is committed: the others are then
	// in every stage, from the API to the journal.
	deadline := time.Now().Add(30 * time.Second)
	for count(t, s.Store, `SELECT count(*) FROM journal WHERE seq = $1`, len(approvedPath)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no decision committed after 30s: %s", progress(t, s.Store, ids))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.Kill(); err != nil {
		t.Fatalf("kill the Temporal server: %v", err)
	}
	t.Logf("Temporal server killed: %s", progress(t, s.Store, ids))
	// While it is down: readiness says so, the list (the read model) is
	// served, and a read, which queries the workflow, answers 503 or waits
	// for the server; never a 500.
	down := time.Now()
	r := a.must(t, nil, "GET", "/readyz", nil)
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Temporal down: %d %s, want 503", r.Status, r.Body)
	}
	r = a.must(t, &testenv.Instructor, "GET", "/v1/applications", nil)
	expect(t, "list with Temporal down", r, nil, 200)
	newKeys := []string{newKey(), newKey()}
	submissions := make([]chan answer, len(newKeys))
	for i, key := range newKeys {
		submissions[i] = make(chan answer, 1)
		go func() { r, err := a.submit(key); submissions[i] <- answer{r, err} }()
	}
	read := make(chan answer, 1)
	go func() {
		start := time.Now()
		r, err := a.do(&testenv.Instructor, "GET", "/v1/applications/"+ids[0], nil)
		t.Logf("read with Temporal down answered %d after %s", r.Status, time.Since(start).Round(10*time.Millisecond))
		read <- answer{r, err}
	}()
	time.Sleep(2*time.Second - time.Since(down))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := srv.Restart(ctx); err != nil {
		t.Fatalf("restart the Temporal server: %v", err)
	}
	phase("crash and restart")

	// The API's client reconnects on its own: /readyz checks Temporal.
	waitFor(t, time.Minute, "the API to reach Temporal again", func() (bool, string) {
		r, err := a.do(nil, "GET", "/readyz", nil)
		if err != nil {
			return false, err.Error()
		}
		return r.Status == http.StatusOK, string(r.Body)
	})
	phase("API reconnected")
	ans := <-read
	expect(t, "read with Temporal down", ans.r, ans.err, 200, 503)

	// Whatever the crash cut short answered 503 and is sent again: a
	// decision already recorded is refused (409), otherwise it is taken;
	// a submission sent again with its key is the same application.
	for i, id := range ids {
		ans := <-decisions[i]
		expect(t, "decision during the crash", ans.r, ans.err, 200, 202, 503)
		t.Logf("decision on %s sent during the crash answered %d", id, ans.r.Status)
		if ans.r.Status == http.StatusOK {
			continue
		}
		t.Logf("decision on %s answered 503 during the crash; sending it again", id)
		r, err := a.decide(testenv.Decider, id, i < 4)
		expect(t, "decision sent again", r, err, 200, 409)
	}
	for i, key := range newKeys {
		ans := <-submissions[i]
		expect(t, "submission while the server was down", ans.r, ans.err, 201, 503)
		t.Logf("submission sent while the server was down answered %d", ans.r.Status)
		if ans.r.Status == http.StatusServiceUnavailable {
			t.Logf("submission answered 503 during the crash; sending it again with its key")
			ans.r, ans.err = a.submit(key)
			expect(t, "submission sent again", ans.r, ans.err, 201, 200)
		}
		id := submittedID(t, ans.r)
		ids, keys[id] = append(ids, id), key
		// Sending it once more is the same application.
		r, err := a.submit(key)
		expect(t, "submission sent once more", r, err, 200)
		if again := submittedID(t, r); again != id {
			t.Errorf("the same key gave %s then %s", id, again)
		}
	}
	phase("answers")

	// The new applications go through to their decision on the restarted server.
	waitStatuses(t, s.Store, ids[6:], lifecycle.StatusEmbassyConsultation, time.Minute)
	for _, id := range ids[6:] {
		r, err := a.opinion(id)
		expect(t, "opinion", r, err, 200)
		r, err = a.recommend(id, true)
		expect(t, "recommendation", r, err, 200)
		r, err = a.decide(testenv.Decider, id, true)
		expect(t, "decision", r, err, 200)
	}

	states := waitClosed(t, s, ids, 2*time.Minute)
	phase("completion")
	for i, id := range ids {
		want, path := lifecycle.StatusApproved, approvedPath
		if i == 4 || i == 5 {
			want, path = lifecycle.StatusRejected, rejectedPath
		}
		if states[id].Status != want {
			t.Errorf("%s ended %s, want %s", id, states[id].Status, want)
		}
		checkJournal(t, s.Store, id, path)
	}
	s.Mailpit.WaitFor(t, len(ids)*mailsPerApplication, 30*time.Second)
	if n := s.Mailpit.Count(t); n != len(ids)*mailsPerApplication {
		t.Errorf("Mailpit received %d e-mails, want %d", n, len(ids)*mailsPerApplication)
	}
	faults.CheckInvariants(t, faults.System{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.TaskQueue, Mailpit: s.Mailpit})
}
