package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

func TestMigrationsFromEmptyAreIdempotent(t *testing.T) {
	st, url := testenv.Database(t)
	ctx := context.Background()
	schema := func() string {
		var s string
		if err := st.Pool.QueryRow(ctx, `SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, ordinal_position)
			FROM information_schema.columns WHERE table_schema = 'public'`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := schema()
	var versions int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if after := schema(); after != before {
		t.Fatalf("schema changed on second migrate:\n%s\n%s", before, after)
	}
	var again int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version`).Scan(&again); err != nil {
		t.Fatal(err)
	}
	if again != versions {
		t.Fatalf("migration versions %d then %d", versions, again)
	}
	list, err := st.Embassies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 40 {
		t.Fatalf("embassy directory seeded with %d countries, want Latin America, the Caribbean and a dozen others", len(list))
	}
}

func entry(seq int, event string) store.Entry {
	return store.Entry{ApplicationID: "EXP-TEST", Seq: seq, EventType: event, Status: "submitted",
		ActorID: "a", ActorRole: "applicant", Payload: []byte(`{"k": "v"}`), OccurredAt: time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)}
}

func TestRecordTransitionIsIdempotentAndChained(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	rm := store.ReadModel{Status: "submitted", SIREN: "213105554", Collectivite: "Ville", Country: "SN", MissionTitle: "M",
		Requested: 100, RulesVersion: "x", Dossier: []byte(`{}`)}
	mail := store.OutboxMail{DedupKey: "EXP-TEST/1/ack", Template: "ack", To: []string{"a@example.org"}, Subject: "s", Text: "t", HTML: "h", MessageID: "<m@x>"}
	for range 2 {
		if _, err := st.RecordTransition(ctx, entry(1, "submitted"), rm, []store.OutboxMail{mail}); err != nil {
			t.Fatal(err)
		}
	}
	rm.Dossier = nil
	rm.Status = "embassy_consultation"
	if ok, err := st.RecordTransition(ctx, entry(2, "embassy_consulted"), rm, nil); err != nil || !ok {
		t.Fatalf("second transition: %v %v", ok, err)
	}
	if _, err := st.RecordTransition(ctx, entry(2, "withdrawn"), rm, nil); err == nil {
		t.Fatal("a different event under a recorded seq must be refused")
	}
	if _, err := st.RecordTransition(ctx, entry(4, "withdrawn"), rm, nil); err == nil {
		t.Fatal("a gap in the sequence must be refused")
	}
	j, err := st.Journal(ctx, "EXP-TEST")
	if err != nil {
		t.Fatal(err)
	}
	if len(j) != 2 || j[0].EventType != "submitted" || j[1].PrevHash != j[0].Hash {
		t.Fatalf("journal = %+v", j)
	}
	if breaks := store.VerifyChain(j); len(breaks) != 0 {
		t.Fatalf("fresh chain broken: %+v", breaks)
	}
	if n, _ := st.OutboxCount(ctx, false); n != 1 {
		t.Fatalf("outbox has %d rows, want 1", n)
	}
	a, err := st.Application(ctx, "EXP-TEST")
	if err != nil || a.Status != "embassy_consultation" || a.LastSeq != 2 {
		t.Fatalf("read model = %+v, %v", a, err)
	}
	if _, err := st.Pool.Exec(ctx, `UPDATE journal SET payload = '{"k":"w"}' WHERE seq = 1`); err == nil {
		t.Fatal("journal rows must be append-only")
	}
}

// TestBindIdempotencyKey: the first fingerprint sent with a key is the one
// it keeps, even when many requests race for it; another application or
// step is another key.
func TestBindIdempotencyKey(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	a, b := []byte("fingerprint-a"), []byte("fingerprint-b")

	const racers = 20
	type answer struct {
		fingerprint string
		same        bool
		err         error
	}
	answers := make(chan answer, racers)
	for i := range racers {
		go func() {
			fp := a
			if i%2 == 1 {
				fp = b
			}
			same, err := st.BindIdempotencyKey(ctx, "EXP-1", "decide", "K", fp)
			answers <- answer{string(fp), same, err}
		}()
	}
	accepted := map[string]int{}
	for range racers {
		ans := <-answers
		if ans.err != nil {
			t.Fatal(ans.err)
		}
		if ans.same {
			accepted[ans.fingerprint]++
		}
	}
	// One fingerprint won: every request that sent it is accepted, every
	// other one refused.
	if len(accepted) != 1 || (accepted[string(a)] != racers/2 && accepted[string(b)] != racers/2) {
		t.Errorf("accepted %v, want one fingerprint %d times", accepted, racers/2)
	}
	for _, other := range []struct{ app, step string }{{"EXP-2", "decide"}, {"EXP-1", "opinion"}} {
		if same, err := st.BindIdempotencyKey(ctx, other.app, other.step, "K", b); err != nil || !same {
			t.Errorf("%s/%s: same %v, err %v, want a fresh key", other.app, other.step, same, err)
		}
	}
}
