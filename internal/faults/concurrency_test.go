package faults_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daect/expectct/internal/faults"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// TestConcurrentSubmissionAndDecisions sends the same dossier with the same
// Idempotency-Key from 20 clients at once: one application, one workflow,
// one read-model row, and every client is told its ID (201 once, 200 for
// the others). Then, on three applications, two deciders decide at the same
// instant, one to approve and one to refuse: one decision is taken (200),
// the other refused (409), and one decision letter goes out.
func TestConcurrentSubmissionAndDecisions(t *testing.T) {
	t.Parallel()
	s := testenv.NewStack(t, testenv.StackOptions{Rules: steadyRules()})
	a := newAPI(s)
	phase := phases(t)

	var apps []string
	dumpHistoriesOnFailure(t, s.Temporal, func() []string { return apps })

	const clients = 20
	key := newKey()
	answers := make([]answer, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i].r, answers[i].err = a.submit(key)
		}()
	}
	close(start)
	wg.Wait()
	statuses := map[int]int{}
	ids := map[string]int{}
	for i, ans := range answers {
		expect(t, fmt.Sprintf("submission %d", i), ans.r, ans.err, 201, 200)
		statuses[ans.r.Status]++
		var res struct {
			ApplicationID string `json:"application_id"`
			Created       bool   `json:"created"`
		}
		ans.r.JSON(t, &res)
		ids[res.ApplicationID]++
		if res.Created != (ans.r.Status == http.StatusCreated) {
			t.Errorf("submission %d answered %d with created=%v", i, ans.r.Status, res.Created)
		}
	}
	if statuses[201] != 1 || statuses[200] != clients-1 {
		t.Errorf("%d identical submissions answered %v, want one 201 and %d 200", clients, statuses, clients-1)
	}
	if len(ids) != 1 {
		t.Fatalf("%d identical submissions gave the application IDs %v, want one", clients, ids)
	}
	first := submittedID(t, answers[0].r)
	waitStatuses(t, s.Store, []string{first}, lifecycle.StatusEmbassyConsultation, time.Minute)
	if n := count(t, s.Store, `SELECT count(*) FROM applications`); n != 1 {
		t.Errorf("%d read-model rows after %d identical submissions, want 1", n, clients)
	}
	if n := count(t, s.Store, `SELECT count(*) FROM journal WHERE event_type = $1`, lifecycle.EventSubmitted); n != 1 {
		t.Errorf("%d submissions journaled, want 1", n)
	}
	phase("identical submissions")

	// Two valid decisions at once, on three applications.
	apps = append(apps, first)
	for range 2 {
		r, err := a.submit(newKey())
		expect(t, "submit", r, err, 201)
		apps = append(apps, submittedID(t, r))
	}
	waitStatuses(t, s.Store, apps, lifecycle.StatusEmbassyConsultation, time.Minute)
	for _, id := range apps {
		r, err := a.opinion(id)
		expect(t, "opinion", r, err, 200)
		r, err = a.recommend(id, true)
		expect(t, "recommendation", r, err, 200)
	}
	want := map[string]lifecycle.Status{}
	for _, id := range apps {
		var approve, reject answer
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); <-start; approve.r, approve.err = a.decide(testenv.Decider, id, true) }()
		go func() { defer wg.Done(); <-start; reject.r, reject.err = a.decide(otherDecider, id, false) }()
		close(start)
		wg.Wait()
		expect(t, "approval racing a refusal", approve.r, approve.err, 200, 409)
		expect(t, "refusal racing an approval", reject.r, reject.err, 200, 409)
		got := []int{approve.r.Status, reject.r.Status}
		switch {
		case slices.Equal(got, []int{200, 409}):
			want[id] = lifecycle.StatusApproved
		case slices.Equal(got, []int{409, 200}):
			want[id] = lifecycle.StatusRejected
		default:
			t.Errorf("%s: approval %d, refusal %d: want exactly one taken (200) and the other refused (409)", id, got[0], got[1])
		}
		loser := approve.r
		if approve.r.Status == http.StatusOK {
			loser = reject.r
		}
		if !strings.Contains(string(loser.Body), "not allowed while the application is") {
			t.Errorf("%s: the refused decision says %s, want the state that forbids it", id, loser.Body)
		}
	}
	states := waitClosed(t, s, apps, time.Minute)
	phase("conflicting decisions")

	for _, id := range apps {
		if states[id].Status != want[id] {
			t.Errorf("%s ended %s, the decision answered 200 was %s", id, states[id].Status, want[id])
		}
		path := approvedPath
		if want[id] == lifecycle.StatusRejected {
			path = rejectedPath
		}
		checkJournal(t, s.Store, id, path)
		letters := count(t, s.Store, `SELECT count(*) FROM outbox WHERE application_id = $1 AND template LIKE 'decision_%'`, id)
		if letters != 1 {
			t.Errorf("%s: %d decision letters queued, want 1", id, letters)
		}
	}
	msgs := s.Mailpit.WaitFor(t, len(apps)*mailsPerApplication, 30*time.Second)
	letters := 0
	for _, m := range msgs {
		if k := strings.Join(m.Headers["X-Expectct-Key"], ""); strings.Contains(k, "/decision_") {
			letters++
		}
	}
	if letters != len(apps) || len(msgs) != len(apps)*mailsPerApplication {
		t.Errorf("Mailpit received %d e-mails with %d decision letters, want %d with %d", len(msgs), letters,
			len(apps)*mailsPerApplication, len(apps))
	}
	faults.CheckInvariants(t, faults.System{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.TaskQueue, Mailpit: s.Mailpit})
}
