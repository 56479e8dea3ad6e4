package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// The subscriber's position is kept per application, so an application
// whose row commits after a later one of another is still found; rows
// recorded before the subscription are not for it; a cursor never moves
// back; one round holds the lease at a time.
func TestWebhookCursorsBacklogsAndLease(t *testing.T) {
	st, url := testenv.Database(t)
	ctx := context.Background()
	sub, err := st.CreateWebhook(ctx, store.WebhookSubscription{ID: "WH-AAAAAAAAAAAAAAAA", URL: "https://hooks.example/x", CreatedBy: "admin.un"},
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	record := func(app string, seq int, at time.Time) {
		t.Helper()
		e := store.Entry{ApplicationID: app, Seq: seq, EventType: "submitted", Status: "submitted", ActorID: "a", ActorRole: "applicant",
			Payload: []byte(`{}`), OccurredAt: at}
		rm := store.ReadModel{Status: "submitted", SIREN: "213105554", Collectivite: "Ville", Country: "SN", MissionTitle: "M",
			Requested: 100, RulesVersion: "x", Dossier: []byte(`{}`)}
		if seq > 1 {
			rm = store.ReadModel{Status: "submitted"}
		}
		if _, err := st.RecordTransition(ctx, e, rm, nil); err != nil {
			t.Fatal(err)
		}
	}
	before, after := sub.CreatedAt.Add(-time.Hour), sub.CreatedAt.Add(time.Second)
	record("EXP-OLD", 1, before)                    // before the subscription: not for it
	record("EXP-BOTH", 1, before)                   // its first row is not, its second is
	record("EXP-BOTH", 2, after)                    //
	record("EXP-LATE", 1, after.Add(2*time.Second)) // committed first...
	record("EXP-EARLY", 1, after)                   // ...then one that occurred before it
	backlogs := func() map[string]int {
		t.Helper()
		list, err := st.WebhookBacklogs(ctx, sub.ID, sub.CreatedAt, 100)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, b := range list {
			m[b.ApplicationID] = b.DeliveredSeq
		}
		return m
	}
	if got := backlogs(); len(got) != 3 || got["EXP-BOTH"] != 0 || got["EXP-LATE"] != 0 || got["EXP-EARLY"] != 0 {
		t.Fatalf("backlogs %v, want EXP-BOTH, EXP-LATE and EXP-EARLY from the start", got)
	}
	rows, err := st.JournalAfter(ctx, "EXP-BOTH", 0, sub.CreatedAt, 100)
	if err != nil || len(rows) != 1 || rows[0].Seq != 2 {
		t.Fatalf("EXP-BOTH's rows for the subscriber: %+v %v, want seq 2 only", rows, err)
	}
	for _, app := range []string{"EXP-BOTH", "EXP-LATE"} {
		if err := st.AdvanceWebhookCursor(ctx, sub.ID, app, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AdvanceWebhookCursor(ctx, sub.ID, "EXP-BOTH", 1); err != nil {
		t.Fatal(err)
	}
	if got := backlogs(); len(got) != 1 || got["EXP-EARLY"] != 0 {
		t.Fatalf("backlogs after the cursors moved %v, want EXP-EARLY only", got)
	}
	record("EXP-BOTH", 3, after.Add(time.Minute))
	if got := backlogs(); got["EXP-BOTH"] != 2 {
		t.Fatalf("backlogs after a new row %v, want EXP-BOTH from seq 2", got)
	}

	if ok, err := st.LeaseWebhook(ctx, sub.ID, "round-1", time.Minute); err != nil || !ok {
		t.Fatalf("first lease: %v %v", ok, err)
	}
	if ok, _ := st.LeaseWebhook(ctx, sub.ID, "round-2", time.Minute); ok {
		t.Fatal("a second round got the lease while the first holds it")
	}
	if ok, _ := st.LeaseWebhook(ctx, sub.ID, "round-1", time.Minute); !ok {
		t.Fatal("the holder could not renew its lease")
	}
	if err := st.ReleaseWebhook(ctx, sub.ID, "round-2"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.LeaseWebhook(ctx, sub.ID, "round-2", time.Minute); ok {
		t.Fatal("a round released a lease it did not hold")
	}
	if err := st.ReleaseWebhook(ctx, sub.ID, "round-1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.LeaseWebhook(ctx, sub.ID, "round-2", time.Minute); !ok {
		t.Fatal("the lease was not free after its release")
	}

	// Attempts are facts: the application may add them, never change them;
	// subscriptions are disabled, never deleted.
	if err := st.RecordWebhookDelivery(ctx, store.WebhookDelivery{SubscriptionID: sub.ID, ApplicationID: "EXP-BOTH", Seq: 2,
		EventType: "submitted", MessageID: "msg_EXP-BOTH_2", Attempt: 1, AttemptedAt: time.Now(), Outcome: store.WebhookFailed,
		HTTPStatus: 500, Error: strings.Repeat("é", 800)}); err != nil {
		t.Fatal(err)
	}
	if n, first, err := st.WebhookAttempts(ctx, sub.ID, "EXP-BOTH", 2); err != nil || n != 1 || first.IsZero() {
		t.Fatalf("attempts: %d %v %v", n, first, err)
	}
	for _, sql := range []string{`UPDATE webhook_deliveries SET outcome = 'delivered'`, `DELETE FROM webhook_deliveries`,
		`DELETE FROM webhook_subscriptions`, `DELETE FROM webhook_cursors`, `TRUNCATE webhook_deliveries`} {
		if _, err := st.Pool.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "(SQLSTATE 42501)") {
			t.Errorf("the application: %s: %v, want insufficient_privilege", sql, err)
		}
	}
	var public bool
	if err := testenv.Owner(t, url).Pool.QueryRow(ctx, `SELECT has_column_privilege('public', 'webhook_subscriptions', 'secret', 'SELECT')`).Scan(&public); err != nil || public {
		t.Errorf("PUBLIC may read the secrets: %v %v", public, err)
	}
	disabled, err := st.DisableWebhook(ctx, sub.ID, "admin.un")
	if err != nil || disabled.DisabledAt == nil || disabled.DisabledBy != "admin.un" {
		t.Fatalf("disable: %+v %v", disabled, err)
	}
	if again, err := st.DisableWebhook(ctx, sub.ID, "admin.deux"); err != nil || again.DisabledBy != "admin.un" || !again.DisabledAt.Equal(*disabled.DisabledAt) {
		t.Errorf("disabling again: %+v %v, want it unchanged", again, err)
	}
	if _, err := st.DisableWebhook(ctx, "WH-BBBBBBBBBBBBBBBB", "admin.un"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("disabling an unknown subscription: %v", err)
	}
}
