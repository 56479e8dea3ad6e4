package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/audit"
	"github.com/daect/expectct/internal/codec"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// System is what CheckInvariants looks at.
type System struct {
	Temporal client.Client
	// Store reaches the database directly (not through a test's proxy).
	Store *store.Store
	// TaskQueue, when set, is the only task queue of the test's workflows:
	// every workflow on it must have its journal, and no journal may lack
	// its workflow.
	TaskQueue string
	// Codec, when set, is the one the stack's Temporal clients seal with.
	Codec *codec.Codec
	// Mailpit, when set, received every e-mail of the test: each outbox row
	// must be there exactly once, to its recipients, and nothing else.
	Mailpit *testenv.Mailpit
}

// OutboxRow is one row of the outbox as stored.
type OutboxRow struct {
	ID            int64
	DedupKey      string
	ApplicationID string
	Seq           int
	Template      string
	To, Cc        []string
	MessageID     string
	Attempts      int
	LastError     *string
	SentAt        *time.Time
}

const outboxQuery = `SELECT id, dedup_key, application_id, seq, template, recipients, cc, message_id,
	attempts, last_error, sent_at FROM outbox ORDER BY id`

func scanOutbox(r pgx.CollectableRow) (OutboxRow, error) {
	var o OutboxRow
	err := r.Scan(&o.ID, &o.DedupKey, &o.ApplicationID, &o.Seq, &o.Template, &o.To, &o.Cc, &o.MessageID,
		&o.Attempts, &o.LastError, &o.SentAt)
	return o, err
}

// Snapshot is the database's state at one instant.
type Snapshot struct {
	Journals  map[string][]store.Entry // by application, in seq order
	ReadModel map[string]store.Application
	Outbox    []OutboxRow // in insertion order
}

// IDs are the applications with a journal, sorted.
func (s Snapshot) IDs() []string { return slices.Sorted(maps.Keys(s.Journals)) }

// TakeSnapshot reads the journal, the read model and the outbox in one
// repeatable-read transaction, so a check of them is meaningful while
// transitions are still being committed.
func TakeSnapshot(ctx context.Context, st *store.Store) (Snapshot, error) {
	snap := Snapshot{Journals: map[string][]store.Entry{}, ReadModel: map[string]store.Application{}}
	err := pgx.BeginTxFunc(ctx, st.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT application_id, seq, event_type, status, actor_id, actor_role, payload::text,
			occurred_at, prev_hash, hash FROM journal ORDER BY application_id, seq`)
		if err != nil {
			return err
		}
		entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Entry, error) {
			var e store.Entry
			var payload string
			err := r.Scan(&e.ApplicationID, &e.Seq, &e.EventType, &e.Status, &e.ActorID, &e.ActorRole, &payload,
				&e.OccurredAt, &e.PrevHash, &e.Hash)
			e.Payload, e.OccurredAt = []byte(payload), e.OccurredAt.UTC()
			return e, err
		})
		if err != nil {
			return fmt.Errorf("read the journal: %w", err)
		}
		for _, e := range entries {
			snap.Journals[e.ApplicationID] = append(snap.Journals[e.ApplicationID], e)
		}
		rows, err = tx.Query(ctx, `SELECT id, status, last_seq FROM applications`)
		if err != nil {
			return err
		}
		apps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Application, error) {
			var a store.Application
			err := r.Scan(&a.ID, &a.Status, &a.LastSeq)
			return a, err
		})
		if err != nil {
			return fmt.Errorf("read the applications: %w", err)
		}
		for _, a := range apps {
			snap.ReadModel[a.ID] = a
		}
		rows, err = tx.Query(ctx, outboxQuery)
		if err != nil {
			return err
		}
		if snap.Outbox, err = pgx.CollectRows(rows, scanOutbox); err != nil {
			return fmt.Errorf("read the outbox: %w", err)
		}
		return nil
	})
	return snap, err
}

// CheckRecords checks what must hold at any instant, even while transitions
// are being committed or the database was just cut off, since each
// transition is one transaction: every journal is a valid hash chain
// (store.VerifyChain); the read model has one row per journal, with the
// status and last_seq of its last entry; the outbox holds, for each journal
// entry, exactly the e-mails its event queues (lifecycle.MailsOf), plus
// any to its followers, once each (no two
// rows share a key, a Message-ID, or an application, seq, template and
// recipients) and nothing for a transition not in the journal. Undelivered
// e-mails are allowed here. It returns the snapshot it checked.
func CheckRecords(t testing.TB, st *store.Store) Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	snap, err := TakeSnapshot(ctx, st)
	if err != nil {
		t.Fatalf("invariant: %v", err)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("invariant: "+format, args...)
	}

	ids := snap.IDs()
	if rm := slices.Sorted(maps.Keys(snap.ReadModel)); !slices.Equal(ids, rm) {
		fail("applications with a journal %v, with a read-model row %v: they must be the same", ids, rm)
	}
	for _, id := range ids {
		entries := snap.Journals[id]
		for _, b := range store.VerifyChain(entries) {
			fail("%s seq %d: hash chain broken: %s", b.ApplicationID, b.Seq, b.Problem)
		}
		last := entries[len(entries)-1]
		if a, ok := snap.ReadModel[id]; ok && (a.Status != last.Status || a.LastSeq != last.Seq) {
			fail("%s: read model says %s at seq %d, the journal's last entry %s at seq %d (%s)",
				id, a.Status, a.LastSeq, last.Status, last.Seq, last.EventType)
		}
	}

	byKey := map[string]OutboxRow{}
	byMessageID := map[string]OutboxRow{}
	byContent := map[string]OutboxRow{}
	queued := map[string][]string{} // application/seq -> templates
	for _, o := range snap.Outbox {
		if prev, dup := byKey[o.DedupKey]; dup {
			fail("outbox rows %d and %d share the key %s", prev.ID, o.ID, o.DedupKey)
		}
		byKey[o.DedupKey] = o
		if prev, dup := byMessageID[o.MessageID]; dup {
			fail("outbox rows %d and %d share the Message-ID %s", prev.ID, o.ID, o.MessageID)
		}
		byMessageID[o.MessageID] = o
		content := fmt.Sprintf("%s|%d|%s|%v|%v", o.ApplicationID, o.Seq, o.Template, sorted(o.To), sorted(o.Cc))
		if prev, dup := byContent[content]; dup {
			fail("outbox rows %d and %d are the same e-mail (%s seq %d %s to %v)", prev.ID, o.ID, o.ApplicationID, o.Seq, o.Template, o.To)
		}
		byContent[content] = o
		if o.MessageID != mail.MessageID(o.DedupKey) {
			fail("outbox row %d: Message-ID %s is not the one of its key %s", o.ID, o.MessageID, o.DedupKey)
		}
		k := fmt.Sprintf("%s/%d", o.ApplicationID, o.Seq)
		if o.Template == lifecycle.MailFollowedStep {
			// Followers are not the event's: it must only be a step's.
			if _, ok := snap.Journals[o.ApplicationID]; !ok || o.Seq > len(snap.Journals[o.ApplicationID]) {
				fail("outbox row %d tells followers of %s, which has no journal entry", o.ID, k)
			}
			continue
		}
		queued[k] = append(queued[k], o.Template)
	}
	for _, id := range ids {
		for _, e := range snap.Journals[id] {
			k := fmt.Sprintf("%s/%d", id, e.Seq)
			var want []string
			for _, spec := range lifecycle.MailsOf(e.EventType) {
				want = append(want, spec.Template)
			}
			got := queued[k]
			delete(queued, k)
			if !slices.Contains(lifecycle.AllEvents, e.EventType) {
				fail("%s seq %d: unknown event %q", id, e.Seq, e.EventType)
				continue
			}
			if !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
				fail("%s seq %d (%s): outbox has %v, the event queues %v", id, e.Seq, e.EventType, got, want)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(queued)) {
		fail("outbox rows %v for %s, which has no journal entry (a half-written transition)", queued[k], k)
	}
	return snap
}

// CheckInvariants checks the whole system once the applications have
// settled, and reports every violation as a test error: CheckRecords, plus
//   - the journal agrees with the workflow histories (audit.Verify);
//   - every outbox row was sent;
//   - with System.TaskQueue, the workflows on it and the journals match one
//     for one (no workflow started twice, none without its journal);
//   - with System.Mailpit, each outbox row was delivered exactly once, to its
//     recipients, and Mailpit holds nothing else.
func CheckInvariants(t testing.TB, sys System) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitOutboxSettled(ctx, t, sys.Store)
	snap := CheckRecords(t, sys.Store)
	ids := snap.IDs()

	rep, err := audit.Verify(ctx, sys.Temporal, sys.Codec, sys.Store, "")
	if err != nil {
		t.Fatalf("invariant: audit.Verify: %v", err)
	}
	if rep.Checked != len(ids) {
		t.Errorf("invariant: audit.Verify checked %d applications, the journal has %d", rep.Checked, len(ids))
	}
	for _, p := range rep.Problems {
		t.Errorf("invariant: audit: %s seq %d: %s", p.ApplicationID, p.Seq, p.Problem)
	}

	for _, o := range snap.Outbox {
		if o.SentAt == nil {
			last := ""
			if o.LastError != nil {
				last = *o.LastError
			}
			t.Errorf("invariant: outbox row %d (%s) never sent after %d attempt(s): %s", o.ID, o.DedupKey, o.Attempts, last)
		}
	}

	if sys.TaskQueue != "" {
		checkWorkflows(ctx, t, sys, ids)
	}
	if sys.Mailpit != nil {
		checkDelivered(t, sys.Mailpit, snap.Outbox)
	}
}

// checkWorkflows matches the workflows on the test's task queue with the
// journals. Visibility is eventually consistent: it is polled until they
// match or 20 seconds pass.
func checkWorkflows(ctx context.Context, t testing.TB, sys System, journalIDs []string) {
	t.Helper()
	var got []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		got = got[:0]
		var token []byte
		for {
			resp, err := sys.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Query:         fmt.Sprintf("TaskQueue = %q", sys.TaskQueue),
				NextPageToken: token,
			})
			if err != nil {
				t.Fatalf("invariant: list the workflows on %s: %v", sys.TaskQueue, err)
			}
			for _, ex := range resp.GetExecutions() {
				got = append(got, ex.GetExecution().GetWorkflowId())
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
		slices.Sort(got)
		if slices.Equal(got, journalIDs) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !slices.Equal(got, journalIDs) {
		t.Errorf("invariant: workflow executions on %s %v, journals %v: one workflow per application, each with its journal",
			sys.TaskQueue, got, journalIDs)
	}
}

// checkDelivered matches Mailpit's messages with the outbox. Mailpit drops a
// second message with a Message-ID it has seen (--ignore-duplicate-ids), so
// a resend shows in the outbox, not here; this proves each e-mail arrived,
// once, to the right people.
func checkDelivered(t testing.TB, mp *testenv.Mailpit, outbox []OutboxRow) {
	t.Helper()
	byMessageID := map[string][]testenv.MailpitMessage{}
	for _, m := range mp.Messages(t) {
		byMessageID[m.MessageID] = append(byMessageID[m.MessageID], m)
	}
	for _, o := range outbox {
		got := byMessageID[o.MessageID]
		delete(byMessageID, o.MessageID)
		if len(got) != 1 {
			t.Errorf("invariant: %s (%s) delivered %d times, want once", o.DedupKey, o.MessageID, len(got))
			continue
		}
		m := got[0]
		if !slices.Equal(sorted(m.To), sorted(o.To)) || !slices.Equal(sorted(m.Cc), sorted(o.Cc)) {
			t.Errorf("invariant: %s delivered to %v cc %v, the outbox says %v cc %v", o.DedupKey, m.To, m.Cc, o.To, o.Cc)
		}
		if key := strings.Join(m.Headers[mail.HeaderKey], ","); key != o.DedupKey {
			t.Errorf("invariant: %s delivered with %s %q", o.DedupKey, mail.HeaderKey, key)
		}
	}
	for id, ms := range byMessageID {
		t.Errorf("invariant: Mailpit holds %d message(s) %s (%q) that no outbox row queued", len(ms), id, ms[0].Subject)
	}
	// A resend after a crash between delivery and MarkSent carries the same
	// Message-ID, which Mailpit drops: by design, so only reported.
	var info struct {
		RuntimeStats struct{ SMTPAccepted, SMTPIgnored uint64 }
	}
	resp, err := http.Get(mp.URL() + "/api/v1/info")
	if err == nil {
		err = json.NewDecoder(resp.Body).Decode(&info)
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Logf("Mailpit's statistics: %v", err)
		return
	}
	t.Logf("Mailpit accepted %d e-mail(s) and dropped %d resend(s) of a Message-ID it had",
		info.RuntimeStats.SMTPAccepted, info.RuntimeStats.SMTPIgnored)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return out
}

// waitOutboxSettled gives the relay up to 30 s to mark what it is sending:
// a row is marked sent a moment after the mail server takes it, so a test
// that saw the e-mail arrive may look before the mark.
func waitOutboxSettled(ctx context.Context, t testing.TB, st *store.Store) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var pending int
		if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL AND refused_at IS NULL`).Scan(&pending); err != nil {
			t.Fatalf("invariant: outbox: %v", err)
		}
		if pending == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
