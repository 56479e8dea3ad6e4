package store_test

import (
	"context"
	"strings"
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
	owner := testenv.Owner(t, url)
	var versions int
	if err := owner.Pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, testenv.OwnerURL(t, url)); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if after := schema(); after != before {
		t.Fatalf("schema changed on second migrate:\n%s\n%s", before, after)
	}
	var again int
	if err := owner.Pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version`).Scan(&again); err != nil {
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

// TestApplicationRoleCannotRewriteTheJournals connects as the application's
// role (testenv.Database's) and tries every way a rewrite could go: the
// database refuses each, naming why. The owner is refused by the trigger,
// which no longer honours a bypass setting.
func TestApplicationRoleCannotRewriteTheJournals(t *testing.T) {
	st, url := testenv.Database(t)
	ctx := context.Background()
	rm := store.ReadModel{Status: "submitted", SIREN: "213105554", Collectivite: "Ville", Country: "SN", MissionTitle: "M",
		Requested: 100, RulesVersion: "x", Dossier: []byte(`{}`)}
	if _, err := st.RecordTransition(ctx, entry(1, "submitted"), rm, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GrantRole(ctx, "operator", store.Person{ID: "p1", Issuer: "https://issuer.example", Kind: "person"},
		store.Grant{Role: "auditor"}, "test"); err != nil {
		t.Fatal(err)
	}

	var super, owner bool
	if err := st.Pool.QueryRow(ctx, `SELECT rolsuper, pg_has_role(current_user, (SELECT tableowner FROM pg_tables WHERE tablename = 'journal'), 'MEMBER')
		FROM pg_roles WHERE rolname = current_user`).Scan(&super, &owner); err != nil {
		t.Fatal(err)
	}
	if super || owner {
		t.Fatalf("the application's role: superuser %v, owner of the journal %v", super, owner)
	}

	refused := func(who string, db *store.Store, sql, want string) {
		t.Helper()
		_, err := db.Pool.Exec(ctx, sql)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %s: %v, want %q", who, sql, err, want)
		}
	}
	for _, sql := range []string{
		`UPDATE journal SET payload = '{"k":"w"}' WHERE seq = 1`,
		`DELETE FROM journal WHERE seq = 1`,
		`TRUNCATE journal`,
		`UPDATE directory_journal SET reason = 'x'`,
		`DELETE FROM directory_journal`,
		`TRUNCATE directory_journal`,
		`ALTER TABLE journal DISABLE TRIGGER journal_append_only`,
		`DROP TRIGGER journal_append_only ON journal`,
		`SET session_replication_role = replica`,
		`DELETE FROM applications`,
		`DELETE FROM outbox`,
		`DELETE FROM attempts`,
	} {
		refused("the application", st, sql, "(SQLSTATE 42501)") // insufficient_privilege
	}
	// The former escape hatch opens nothing.
	err := pgxBegin(ctx, st, func(exec func(string) error) error {
		if err := exec(`SET LOCAL expectct.allow_journal_rewrite = 'on'`); err != nil {
			return err
		}
		return exec(`UPDATE journal SET payload = '{"k":"w"}' WHERE seq = 1`)
	})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the application with expectct.allow_journal_rewrite: %v, want permission denied", err)
	}
	admin := testenv.Owner(t, url)
	err = pgxBegin(ctx, admin, func(exec func(string) error) error {
		if err := exec(`SET LOCAL expectct.allow_journal_rewrite = 'on'`); err != nil {
			return err
		}
		return exec(`UPDATE journal SET payload = '{"k":"w"}' WHERE seq = 1`)
	})
	if err == nil || !strings.Contains(err.Error(), "journal is append-only") {
		t.Errorf("the owner with expectct.allow_journal_rewrite: %v, want the trigger's refusal", err)
	}
	refused("the owner", admin, `TRUNCATE journal`, "journal is append-only")
	refused("the owner", admin, `TRUNCATE directory_journal`, "directory journal is append-only")
	if j, err := st.Journal(ctx, "EXP-TEST"); err != nil || len(j) != 1 || string(j[0].Payload) != `{"k": "v"}` {
		t.Errorf("journal after the attempts: %+v, %v", j, err)
	}
}

// pgxBegin runs statements in one transaction, rolled back afterwards.
func pgxBegin(ctx context.Context, st *store.Store, f func(exec func(string) error) error) error {
	tx, err := st.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	return f(func(sql string) error { _, err := tx.Exec(ctx, sql); return err })
}

// TestGrantAppRefusesRolesTheGrantsCannotLimit: the superuser, or a role
// that may create roles, as DATABASE_URL would make the grants moot.
func TestGrantAppRefusesRolesTheGrantsCannotLimit(t *testing.T) {
	_, appURL := testenv.Database(t)
	ctx := context.Background()
	owner := testenv.OwnerURL(t, appURL)
	if err := store.GrantApp(ctx, owner, owner); err == nil || !strings.Contains(err.Error(), "a superuser") {
		t.Errorf("the superuser as the application: %v", err)
	}
	admin := testenv.Owner(t, appURL)
	role := "expectct_test_cr_" + strings.ReplaceAll(strings.TrimPrefix(appURL[strings.LastIndex(appURL, "/")+1:], "expectct_test_"), "?sslmode=disable", "")
	if _, err := admin.Pool.Exec(ctx, `CREATE ROLE `+role+` LOGIN CREATEROLE`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Pool.Exec(context.Background(), `DROP ROLE `+role) })
	creator := strings.Replace(appURL, testenv.AppRole+"@", role+"@", 1)
	if err := store.GrantApp(ctx, owner, creator); err == nil || !strings.Contains(err.Error(), "may create roles") {
		t.Errorf("a role that may create roles as the application: %v", err)
	}
	// The test role itself is let in, again and again.
	if err := store.GrantApp(ctx, owner, appURL); err != nil {
		t.Errorf("the application's role a second time: %v", err)
	}
}

// TestLettersAreAppendOnly: a letter is recorded once, at its first
// rendering; a second recording finds the first (its signer stands); the
// application's role may read and insert letters, never change them, and
// the owner's rewrite is refused by the trigger.
func TestLettersAreAppendOnly(t *testing.T) {
	st, url := testenv.Database(t)
	ctx := context.Background()
	l := store.Letter{Code: "AAAA-BBBB-CCCC-DDDD", ApplicationID: "EXP-TEST", Kind: "approval", Seq: 2, JournalHash: "h", SignedBy: "Anne Leroy"}
	first, err := st.IssueLetter(ctx, l)
	if err != nil || first.SignedBy != "Anne Leroy" || first.FirstIssuedAt.IsZero() {
		t.Fatalf("first issue: %+v, %v", first, err)
	}
	l.SignedBy = "Someone Else"
	again, err := st.IssueLetter(ctx, l)
	if err != nil || again != first {
		t.Fatalf("second issue: %+v, %v; want the first %+v", again, err, first)
	}
	if got, err := st.LetterByCode(ctx, l.Code); err != nil || got != first {
		t.Errorf("by code: %+v, %v", got, err)
	}
	if _, err := st.LetterByCode(ctx, "ZZZZ-ZZZZ-ZZZZ-ZZZZ"); err != store.ErrNotFound {
		t.Errorf("an unknown code: %v, want ErrNotFound", err)
	}
	owner := testenv.Owner(t, url)
	for _, sql := range []string{`UPDATE letters SET signed_by = 'x'`, `DELETE FROM letters`, `TRUNCATE letters`} {
		if _, err := st.Pool.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "(SQLSTATE 42501)") {
			t.Errorf("the application: %s: %v, want insufficient_privilege", sql, err)
		}
		if _, err := owner.Pool.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "letters are append-only") {
			t.Errorf("the owner: %s: %v, want the trigger's refusal", sql, err)
		}
	}
}
