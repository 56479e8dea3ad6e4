package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/outbox"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// queue records one transition per application with one e-mail each.
func queue(t *testing.T, st *store.Store, n int, to string) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("EXP-RELAY-%03d", i)
		key := id + "/1/acknowledgement/applicant"
		e := store.Entry{ApplicationID: id, Seq: 1, EventType: "submitted", Status: "submitted", ActorID: "a", ActorRole: "applicant",
			Payload: []byte(`{}`), OccurredAt: time.Now()}
		rm := store.ReadModel{Status: "submitted", SIREN: "213105554", Collectivite: "Ville", Country: "SN", MissionTitle: "M",
			RulesVersion: "x", Dossier: []byte(`{}`)}
		m := store.OutboxMail{DedupKey: key, Template: "acknowledgement", To: []string{to}, Subject: "Accusé " + id,
			Text: "Bonjour", HTML: "<p>Bonjour</p>", MessageID: mail.MessageID(key)}
		if _, err := st.RecordTransition(ctx, e, rm, []store.OutboxMail{m}); err != nil {
			t.Fatal(err)
		}
	}
}

// countingMailer delivers through the real sender and counts the sends of each key.
type countingMailer struct {
	next  outbox.Mailer
	mu    sync.Mutex
	sends map[string]int
}

func (c *countingMailer) Send(ctx context.Context, m mail.Message) error {
	c.mu.Lock()
	c.sends[m.Key]++
	c.mu.Unlock()
	return c.next.Send(ctx, m)
}

func sender(t *testing.T, mp *testenv.Mailpit) *mail.Sender {
	s, err := mail.NewSender(mp.SMTPConfig())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRelaysNeverSendARowTwice runs three relays over the same outbox at
// once: every row is sent exactly once and marked sent.
func TestRelaysNeverSendARowTwice(t *testing.T) {
	st, _ := testenv.Database(t)
	mp := testenv.StartMailpit(t)
	const rows = 60
	queue(t, st, rows, "contact@ville.example.fr")
	counter := &countingMailer{next: sender(t, mp), sends: map[string]int{}}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &outbox.Relay{Store: st, Mailer: counter, Batch: 4}
			for {
				n, err := r.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(counter.sends) != rows {
		t.Fatalf("%d rows sent, want %d", len(counter.sends), rows)
	}
	for key, n := range counter.sends {
		if n != 1 {
			t.Errorf("%s sent %d times by overlapping relays", key, n)
		}
	}
	if pending, err := st.OutboxCount(context.Background(), true); err != nil || pending != 0 {
		t.Fatalf("%d rows left unsent (%v)", pending, err)
	}
	mp.WaitFor(t, rows, 10*time.Second)
}

// TestMailRefusedForGood: a permanent refusal is kept, counted, listed for
// operators and never retried; a temporary one is retried after a backoff.
func TestMailRefusedForGood(t *testing.T) {
	st, _ := testenv.Database(t)
	mp := testenv.StartMailpit(t)
	ctx := context.Background()
	queue(t, st, 1, "contact@ville.example.fr")
	reg := prometheus.NewRegistry()
	r := &outbox.Relay{Store: st, Mailer: sender(t, mp)}
	r.Register(reg)

	// 451 on RCPT TO: temporary.
	mp.SetChaos(t, testenv.MailpitChaos{Recipient: testenv.MailpitTrigger{ErrorCode: 451, Probability: 100}})
	if n, err := r.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("first attempt: %d %v", n, err)
	}
	rows, err := st.MailOf(ctx, "EXP-RELAY-000")
	if err != nil || len(rows) != 1 || rows[0].SentAt != nil || rows[0].RefusedAt != nil || rows[0].LastError == "" {
		t.Fatalf("after a temporary failure: %+v %v", rows, err)
	}
	if n, _ := r.RunOnce(ctx); n != 0 {
		t.Fatal("a row that failed temporarily must wait for its backoff before the next attempt")
	}

	// Due again, now refused for good with 550.
	mp.SetChaos(t, testenv.MailpitChaos{Recipient: testenv.MailpitTrigger{ErrorCode: 550, Probability: 100}})
	if _, err := st.Pool.Exec(ctx, `UPDATE outbox SET next_attempt_at = now()`); err != nil {
		t.Fatal(err)
	}
	if n, err := r.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("second attempt: %d %v", n, err)
	}
	failed, err := st.FailedMail(ctx, 1000, 10)
	if err != nil || len(failed) != 1 || failed[0].RefusedAt == nil || failed[0].Attempts != 2 {
		t.Fatalf("refused e-mails listed for operators: %+v %v", failed, err)
	}
	if got := counterValue(t, reg, "expectct_mail_refused_total"); got != 1 {
		t.Fatalf("expectct_mail_refused_total = %v, want 1", got)
	}
	mp.SetChaos(t, testenv.MailpitChaos{})
	if _, err := st.Pool.Exec(ctx, `UPDATE outbox SET next_attempt_at = now()`); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.RunOnce(ctx); n != 0 {
		t.Fatal("a refused e-mail must never be tried again")
	}
	if mp.Count(t) != 0 {
		t.Fatal("nothing may have been delivered")
	}
}

// counterValue reads a registered counter as /metrics would show it.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func TestBackoffDoublesUpToFiveMinutes(t *testing.T) {
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := outbox.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

// TestExpiredLeaseRecordsNothing: a relay whose lease ran out cannot mark
// the row another relay has claimed since.
func TestExpiredLeaseRecordsNothing(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	queue(t, st, 1, "contact@ville.example.fr")
	slow, err := st.ClaimMail(ctx, 200*time.Millisecond, 1)
	if err != nil || len(slow) != 1 {
		t.Fatalf("first claim: %v %v", slow, err)
	}
	if again, _ := st.ClaimMail(ctx, time.Minute, 1); len(again) != 0 {
		t.Fatal("a leased row was claimed twice")
	}
	time.Sleep(300 * time.Millisecond)
	fresh, err := st.ClaimMail(ctx, time.Minute, 1)
	if err != nil || len(fresh) != 1 {
		t.Fatalf("claim after the lease ended: %v %v", fresh, err)
	}
	if ok, err := st.MarkSent(ctx, slow[0]); err != nil || ok {
		t.Fatalf("the expired lease marked the row: %v %v", ok, err)
	}
	if ok, err := st.MarkSent(ctx, fresh[0]); err != nil || !ok {
		t.Fatalf("the current lease could not mark the row: %v %v", ok, err)
	}
}

// fakeLetters renders a fixed file, or fails.
type fakeLetters struct{ err error }

func (f fakeLetters) Attachment(_ context.Context, id string, seq int, kind string) (string, []byte, error) {
	if f.err != nil {
		return "", nil, f.err
	}
	return fmt.Sprintf("%s-%d-%s.pdf", id, seq, kind), []byte("%PDF-1.3 " + kind), nil
}

// capturingMailer keeps what it is asked to send.
type capturingMailer struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (c *capturingMailer) Send(_ context.Context, m mail.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m)
	return nil
}

// TestRelayAttachesTheLetter: an e-mail that carries a letter leaves with
// the file rendered at send time; while the letter cannot be rendered it
// waits, retried, and never leaves without it.
func TestRelayAttachesTheLetter(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	e := store.Entry{ApplicationID: "EXP-LETTER", Seq: 1, EventType: "submitted", Status: "submitted", ActorID: "a", ActorRole: "applicant",
		Payload: []byte(`{}`), OccurredAt: time.Now()}
	rm := store.ReadModel{Status: "submitted", SIREN: "213105554", Collectivite: "Ville", Country: "SN", MissionTitle: "M",
		RulesVersion: "x", Dossier: []byte(`{}`)}
	m := store.OutboxMail{DedupKey: "EXP-LETTER/1/decision_approved/applicant", Template: "decision_approved", To: []string{"a@example.org"},
		Subject: "Décision", Text: "Bonjour", MessageID: mail.MessageID("k"), Letter: "approval"}
	if _, err := st.RecordTransition(ctx, e, rm, []store.OutboxMail{m}); err != nil {
		t.Fatal(err)
	}
	mailer := &capturingMailer{}
	failing := &outbox.Relay{Store: st, Mailer: mailer, Letters: fakeLetters{err: fmt.Errorf("journal unreachable")}, Lease: 5 * time.Second}
	if _, err := failing.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := st.MailOf(ctx, "EXP-LETTER")
	if err != nil {
		t.Fatal(err)
	}
	if len(mailer.sent) != 0 || rows[0].SentAt != nil || rows[0].LastError == "" || rows[0].Letter != "approval" {
		t.Fatalf("an e-mail whose letter failed: sent %d, row %+v", len(mailer.sent), rows[0])
	}
	if _, err := st.Pool.Exec(ctx, `UPDATE outbox SET next_attempt_at = now()`); err != nil {
		t.Fatal(err)
	}
	relay := &outbox.Relay{Store: st, Mailer: mailer, Letters: fakeLetters{}, Lease: 5 * time.Second}
	if _, err := relay.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(mailer.sent) != 1 || len(mailer.sent[0].Attachments) != 1 {
		t.Fatalf("sent %+v, want one e-mail with one attachment", mailer.sent)
	}
	if a := mailer.sent[0].Attachments[0]; a.Name != "EXP-LETTER-1-approval.pdf" || a.ContentType != "application/pdf" {
		t.Errorf("attachment %s (%s)", a.Name, a.ContentType)
	}
}
