package faults_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/daect/expectct/internal/faults"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
	"github.com/daect/expectct/workflows"
)

// TestStepsWhileTheMailServerStalls pauses Mailpit (SIGSTOP: it accepts
// connections and never answers) after the embassy is consulted. Four steps
// then answer 200 in order, each recorded before it answers; the journal,
// the read model and the search attribute follow the order of the steps;
// the e-mails arrive once Mailpit goes on.
func TestStepsWhileTheMailServerStalls(t *testing.T) {
	t.Parallel()
	s := testenv.NewStack(t, testenv.StackOptions{Rules: steadyRules()})
	a := newAPI(s)
	r, err := a.submit(newKey())
	expect(t, "submit", r, err, 201)
	id := submittedID(t, r)
	s.Mailpit.WaitFor(t, 3, time.Minute) // acknowledgement, notice, consultation

	s.Mailpit.Pause(t)
	base := "/v1/applications/" + id + "/"
	steps := []struct {
		actor lifecycle.Actor
		path  string
		body  any
		want  lifecycle.Status
	}{
		{testenv.EmbassySN, "opinion", map[string]string{"opinion": "favorable", "comment": "Partenariat actif."}, lifecycle.StatusUnderReview},
		{testenv.Instructor, "complements-request", map[string]string{"message": "Précisez le programme."}, lifecycle.StatusAwaitingComplements},
		{testenv.Applicant, "complements", map[string]any{"dossier": json.RawMessage(a.dossier), "comment": "Programme joint."}, lifecycle.StatusUnderReview},
		{testenv.Applicant, "withdrawal", map[string]string{"reason": "Mission annulée par le partenaire."}, lifecycle.StatusWithdrawn},
	}
	for _, st := range steps {
		r := a.must(t, &st.actor, "POST", base+st.path, st.body)
		if r.Status != 200 {
			t.Fatalf("%s while the mail server stalls: %d %s, want 200 (recording never waits for e-mail)", st.path, r.Status, r.Body)
		}
		var state lifecycle.State
		if err := json.Unmarshal(r.Body, &state); err != nil || state.Status != st.want {
			t.Fatalf("%s answered status %q (%v), want %s", st.path, state.Status, err, st.want)
		}
	}
	checkJournal(t, s.Store, id, []string{lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted, lifecycle.EventOpinionGiven,
		lifecycle.EventComplementsRequested, lifecycle.EventComplementsReceived, lifecycle.EventWithdrawn})
	if got := readStatus(s.Store, id); got != string(lifecycle.StatusWithdrawn) {
		t.Errorf("read model says %s, want withdrawn", got)
	}
	waitFor(t, 30*time.Second, "the search attribute", func() (bool, string) {
		got := searchStatus(t, s, id)
		return got == string(lifecycle.StatusWithdrawn), "ExpectctStatus = " + got
	})
	// Mailpit's API is paused too: ask the outbox what left.
	if n := count(t, s.Store, `SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL`); n != 3 {
		t.Fatalf("%d e-mails marked sent while the mail server stalls, want the 3 sent before", n)
	}

	s.Mailpit.Resume(t)
	// complements request, complements received, withdrawal
	s.Mailpit.WaitFor(t, 6, 2*time.Minute)
	waitClosed(t, s, []string{id}, time.Minute)
	faults.CheckInvariants(t, faults.System{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.TaskQueue, Mailpit: s.Mailpit})
}

// searchStatus reads the workflow's ExpectctStatus search attribute.
func searchStatus(t testing.TB, s *testenv.Stack, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := s.Temporal.DescribeWorkflow(ctx, id, "")
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	status, _ := d.TypedSearchAttributes.GetKeyword(workflows.StatusKey)
	return status
}

// TestWorkerKilledAroundDelivery kills the worker (and its outbox relay)
// again and again while e-mails are being delivered, with Mailpit keeping
// every copy. Delivery is at least once: every e-mail arrives, and the
// copies, if any, are at most one per kill.
func TestWorkerKilledAroundDelivery(t *testing.T) {
	t.Parallel()
	s := testenv.NewStack(t, testenv.StackOptions{NoWorker: true, Rules: steadyRules(),
		Mailpit: testenv.MailpitOptions{KeepDuplicates: true}})
	a := newAPI(s)
	w := faults.StartWorkerProcess(t, faults.Binary(t), faults.WorkerConfig{
		DatabaseURL:     s.DBURL,
		TemporalAddress: testenv.Temporal(t).Address(),
		TaskQueue:       s.TaskQueue,
		SMTPHost:        "127.0.0.1",
		SMTPPort:        s.Mailpit.SMTPPort,
		Secretariat:     testenv.Secretariat,
		// A killed relay's claimed e-mails go to the next one soon.
		MailLease: 3 * time.Second,
	})
	const apps = 8
	var ids []string
	for range apps {
		r, err := a.submit(newKey())
		expect(t, "submit", r, err, 201)
		ids = append(ids, submittedID(t, r))
	}
	total := apps * 3 // acknowledgement, secretariat notice, consultation
	sent := func() int { return count(t, s.Store, `SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL`) }
	const kills = 4
	killed := 0
	for k := range kills {
		// Kill as soon as more e-mails went out: the relay is mid-batch.
		before := sent()
		if before >= total {
			break
		}
		deadline := time.Now().Add(time.Minute)
		for sent() == before && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		w.Kill(t)
		killed++
		t.Logf("kill %d after %d of %d e-mails marked sent", k+1, sent(), total)
		w.Start(t)
	}
	waitFor(t, 2*time.Minute, "every e-mail marked sent", func() (bool, string) {
		n := sent()
		return n == total, fmt.Sprintf("sent %d of %d", n, total)
	})
	msgs := s.Mailpit.WaitFor(t, total, time.Minute)
	copies := map[string]int{}
	for _, m := range msgs {
		copies[m.MessageID]++
	}
	snap := faults.CheckRecords(t, s.Store)
	duplicates := len(msgs) - len(copies)
	for _, o := range snap.Outbox {
		if copies[o.MessageID] == 0 {
			t.Errorf("e-mail %s (%s) marked sent but never delivered: lost", o.DedupKey, o.MessageID)
		}
	}
	if len(copies) != total {
		t.Errorf("Mailpit holds %d distinct e-mails, want %d", len(copies), total)
	}
	t.Logf("at-least-once delivery: %d kills, %d e-mails, %d extra copies", killed, total, duplicates)
	if duplicates > killed {
		t.Errorf("%d extra copies for %d kills: a relay resent more than the row it was sending", duplicates, killed)
	}
	waitStatuses(t, s.Store, ids, lifecycle.StatusEmbassyConsultation, time.Minute)
	faults.CheckInvariants(t, faults.System{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.TaskQueue})
}
