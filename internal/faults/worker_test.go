package faults_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daect/expectct/internal/faults"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

type answer struct {
	r   testenv.Response
	err error
}

// TestWorkerKilled runs the real `expectct worker` as a child process and
// SIGKILLs it at four points of the applications' lives: while submissions
// are being recorded, while the applications wait for a human (a step is
// sent while no worker runs), after a decision is committed while its letter
// cannot be delivered (Mailpit refuses with 451, the relay is retrying),
// and the moment a decision is committed. After each restart the applications carry on; at the end
// each has exactly its journal and its e-mails, once.
func TestWorkerKilled(t *testing.T) {
	t.Parallel()
	s := testenv.NewStack(t, testenv.StackOptions{NoWorker: true, Rules: steadyRules()})
	a := newAPI(s)
	phase := phases(t)
	w := faults.StartWorkerProcess(t, faults.Binary(t), faults.WorkerConfig{
		DatabaseURL:     s.DBURL,
		TemporalAddress: testenv.Temporal(t).Address(),
		TaskQueue:       s.TaskQueue,
		SMTPHost:        "127.0.0.1",
		SMTPPort:        s.Mailpit.SMTPPort,
		Secretariat:     testenv.Secretariat,
	})

	var ids []string
	dumpHistoriesOnFailure(t, s.Temporal, func() []string { return ids })

	// 1. Killed while the submissions are being recorded and acknowledged.
	for range 3 {
		r, err := a.submit(newKey())
		expect(t, "submit", r, err, 201)
		ids = append(ids, submittedID(t, r))
	}
	// Kill as soon as the first transition is committed: the others are
	// still being recorded or delivered.
	waitFor(t, 30*time.Second, "a first transition", func() (bool, string) {
		return count(t, s.Store, `SELECT count(*) FROM journal`) > 0, "no journal entry"
	})
	w.Kill(t)
	t.Logf("kill 1, submissions in flight: %s", progress(t, s.Store, ids))
	w.Start(t)
	waitStatuses(t, s.Store, ids, lifecycle.StatusEmbassyConsultation, 90*time.Second)
	phase("kill 1")

	// 2. Killed while the applications wait for the embassy. An opinion sent
	// meanwhile waits for a worker to validate it, then is accepted. (Were a
	// transition's activity cut short here, the workflow would wait for its
	// 30 s timeout before taking the opinion, past the API's update timeout.)
	waitIdle(t, s.Temporal, ids, time.Minute)
	w.Kill(t)
	done := make(chan answer, 2)
	go func() { r, err := a.opinion(ids[0]); done <- answer{r, err} }()
	select {
	case ans := <-done:
		t.Fatalf("opinion answered with no worker running: %d %s (%v)", ans.r.Status, ans.r.Body, ans.err)
	case <-time.After(time.Second):
	}
	w.Start(t)
	ans := <-done
	expect(t, "opinion sent while no worker ran", ans.r, ans.err, 200)
	for i, id := range ids {
		if i > 0 {
			r, err := a.opinion(id)
			expect(t, "opinion", r, err, 200)
		}
		r, err := a.recommend(id, i < 2)
		expect(t, "recommendation", r, err, 200)
	}
	phase("kill 2")

	// 3. Killed after the decision on the first application is committed,
	// while Mailpit refuses its letter (451): the outbox relay is retrying
	// the e-mail. Then the mail server recovers and a new worker takes over.
	s.Mailpit.SetChaos(t, testenv.MailpitChaos{Recipient: testenv.MailpitTrigger{ErrorCode: 451, Probability: 100}})
	go func() { r, err := a.decide(testenv.Decider, ids[0], true); done <- answer{r, err} }()
	letter := fmt.Sprintf("%s/%d/%s/applicant", ids[0], len(approvedPath), lifecycle.MailDecisionApproved)
	waitFor(t, 30*time.Second, "the decision committed and its letter refused", func() (bool, string) {
		row, err := outboxRow(s.Store, letter)
		if err != nil {
			return false, err.Error()
		}
		return row.Attempts >= 1 && row.SentAt == nil, fmt.Sprintf("%d attempt(s), sent at %v", row.Attempts, row.SentAt)
	})
	// Let the failed attempt be recorded; the relay then waits 5 s before
	// the next one: the kill lands between two attempts.
	time.Sleep(150 * time.Millisecond)
	w.Kill(t)
	if got := journalEvents(t, s.Store, ids[0]); len(got) != len(approvedPath) || got[len(got)-1] != lifecycle.EventApproved {
		t.Fatalf("journal at the kill %v: the decision should be committed", got)
	}
	for _, m := range s.Mailpit.Messages(t) {
		if m.MessageID == mail.MessageID(letter) {
			t.Fatalf("the letter %s was delivered while Mailpit refused it", letter)
		}
	}
	t.Logf("kill 3, decision committed, letter pending: %s", progress(t, s.Store, ids[:1]))
	s.Mailpit.SetChaos(t, testenv.MailpitChaos{})
	w.Start(t)
	ans = <-done
	// The decision was recorded before the kill (its letter waits in the
	// outbox); a slow recovery may still exceed the API's update timeout.
	expect(t, "decision whose letter was pending at the kill", ans.r, ans.err, 200, 202, 503)
	t.Logf("decision answered %d across the kill", ans.r.Status)
	phase("kill 3")

	// 4. Killed the moment the second decision is committed: between the
	// write and the e-mail, or just after it.
	go func() { r, err := a.decide(testenv.Decider, ids[1], true); done <- answer{r, err} }()
	go func() { r, err := a.decide(testenv.Decider, ids[2], false); done <- answer{r, err} }()
	deadline := time.Now().Add(30 * time.Second)
	for len(journalEvents(t, s.Store, ids[1])) < len(approvedPath) {
		if time.Now().After(deadline) {
			t.Fatalf("decision on %s not committed after 30s: %s", ids[1], progress(t, s.Store, ids[1:2]))
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.Kill(t)
	t.Logf("kill 4, decision just committed: %s", progress(t, s.Store, ids[1:]))
	w.Start(t)
	for range 2 {
		ans := <-done
		expect(t, "decision across the kill", ans.r, ans.err, 200, 202, 503)
	}

	states := waitClosed(t, s, ids, 2*time.Minute)
	phase("kill 4")
	for i, id := range ids {
		want, path := lifecycle.StatusApproved, approvedPath
		if i == 2 {
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
	if row, err := outboxRow(s.Store, letter); err != nil || row.Attempts < 2 || row.LastError != nil {
		t.Errorf("the letter refused then delivered: %+v %v, want at least 2 attempts and no error left", row, err)
	}
	faults.CheckInvariants(t, faults.System{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.TaskQueue, Mailpit: s.Mailpit})
}

// outboxRow reads one outbox row by its key.
func outboxRow(st *store.Store, key string) (faults.OutboxRow, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var o faults.OutboxRow
	err := st.Pool.QueryRow(ctx, `SELECT id, dedup_key, application_id, seq, template, attempts, last_error, sent_at
		FROM outbox WHERE dedup_key = $1`, key).
		Scan(&o.ID, &o.DedupKey, &o.ApplicationID, &o.Seq, &o.Template, &o.Attempts, &o.LastError, &o.SentAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, fmt.Errorf("no outbox row %s yet", key)
	}
	return o, err
}

// progress says where each application stood: journal length and e-mails
// sent out of those queued.
func progress(t testing.TB, st *store.Store, ids []string) string {
	t.Helper()
	var parts []string
	for _, id := range ids {
		j := count(t, st, `SELECT count(*) FROM journal WHERE application_id = $1`, id)
		queued := count(t, st, `SELECT count(*) FROM outbox WHERE application_id = $1`, id)
		sent := count(t, st, `SELECT count(*) FROM outbox WHERE application_id = $1 AND sent_at IS NOT NULL`, id)
		parts = append(parts, fmt.Sprintf("%s: %d journal entries, %d/%d e-mails sent", id, j, sent, queued))
	}
	return strings.Join(parts, "; ")
}
