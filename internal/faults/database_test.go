package faults_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/faults"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// outage is how long PostgreSQL stays unreachable.
const outage = 8 * time.Second

// TestDatabaseUnreachable puts a TCP proxy between PostgreSQL and the stack
// (worker and API), then cuts it off for a while, the moment a decision is
// committed: every connection is reset and new ones refused. Meanwhile the
// API answers 503 problems for what needs the database, and never a 500; a
// submission, which needs only Temporal, is accepted. Once the database is
// back the activities' retries record every transition, once, and the
// applications complete. At the cut and at the end, every committed
// transition has its read model and its e-mails: none is half-written.
func TestDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	var proxy *faults.Proxy
	var direct string
	s := testenv.NewStackOn(t, testenv.StackOptions{Rules: steadyRules()}, testenv.Servers{
		DatabaseURL: func(u string) string {
			var through string
			direct = u
			proxy, through = faults.ProxyDatabase(t, u)
			return through
		},
	})
	// The test reads the database directly, never through the proxy.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	a := newAPI(s)
	phase := phases(t)

	var ids []string
	dumpHistoriesOnFailure(t, s.Temporal, func() []string { return ids })
	for range 4 {
		r, err := a.submit(newKey())
		expect(t, "submit", r, err, 201)
		ids = append(ids, submittedID(t, r))
	}
	waitStatuses(t, db, ids, lifecycle.StatusEmbassyConsultation, time.Minute)
	for _, id := range ids {
		r, err := a.opinion(id)
		expect(t, "opinion", r, err, 200)
		r, err = a.recommend(id, true)
		expect(t, "recommendation", r, err, 200)
	}
	phase("setup")

	// Two decisions race the cut, which comes as soon as one is committed.
	decisions := make([]chan answer, 2)
	for i := range decisions {
		decisions[i] = make(chan answer, 1)
		go func() { r, err := a.decide(testenv.Decider, ids[i], i == 0); decisions[i] <- answer{r, err} }()
	}
	deadline := time.Now().Add(30 * time.Second)
	for count(t, db, `SELECT count(*) FROM journal WHERE seq = $1`, len(approvedPath)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no decision committed after 30s: %s", progress(t, db, ids))
		}
		time.Sleep(5 * time.Millisecond)
	}
	proxy.Block()
	cut := time.Now()
	t.Logf("PostgreSQL cut off: %s", progress(t, db, ids))
	faults.CheckRecords(t, db)

	// While it is cut off, the API refuses what needs it with a 503
	// problem, and takes what does not.
	var late []string
	for i := range 2 {
		r, err := a.submit(newKey())
		expect(t, "submission while PostgreSQL is unreachable", r, err, 201)
		late = append(late, submittedID(t, r))
		ids = append(ids, late[i])
	}
	probes := []struct {
		name   string
		actor  *lifecycle.Actor
		method string
		path   string
		body   any
		want   int
	}{
		{"list", &testenv.Instructor, "GET", "/v1/applications", nil, 503},
		{"list as the applicant", &testenv.Applicant, "GET", "/v1/applications?status=awaiting_decision", nil, 503},
		{"read", &testenv.Instructor, "GET", "/v1/applications/" + ids[2], nil, 503},
		{"read a new application", &testenv.Applicant, "GET", "/v1/applications/" + late[0], nil, 503},
		{"history", &testenv.Auditor, "GET", "/v1/applications/" + ids[2] + "/history", nil, 503},
		{"audit", &testenv.Auditor, "GET", "/v1/audit/verify", nil, 503},
		{"embassies", &testenv.Instructor, "GET", "/v1/embassies", nil, 503},
		{"decision", &testenv.Decider, "POST", "/v1/applications/" + ids[2] + "/decision",
			map[string]string{"decision": "approve", "amount": "3000.00"}, 503},
		{"withdrawal", &testenv.Applicant, "POST", "/v1/applications/" + ids[3] + "/withdrawal",
			map[string]string{"reason": "test"}, 503},
		{"no token", nil, "GET", "/v1/applications", nil, 401},
		{"malformed step", &testenv.Decider, "POST", "/v1/applications/" + ids[2] + "/decision", []byte("{"), 400},
		{"readiness", nil, "GET", "/readyz", nil, 503},
	}
	rounds := 0
	for time.Since(cut) < outage {
		for _, p := range probes {
			r, err := a.do(p.actor, p.method, p.path, p.body)
			if err != nil {
				t.Fatalf("%s while PostgreSQL is unreachable: %v", p.name, err)
			}
			if r.Status != p.want {
				t.Errorf("%s while PostgreSQL is unreachable: %d %s, want %d", p.name, r.Status, r.Body, p.want)
			}
			if r.Status >= 400 && p.path != "/readyz" {
				expectProblem(t, p.name, r)
			}
		}
		rounds++
		time.Sleep(300 * time.Millisecond)
	}
	if refused := proxy.Refused(); refused == 0 {
		t.Errorf("no connection was refused during the outage: was the stack using the proxy?")
	}
	t.Logf("%d round(s) of %d probes answered as expected; %d connection(s) refused", rounds, len(probes), proxy.Refused())
	if n := count(t, db, `SELECT count(*) FROM journal WHERE application_id = ANY($1)`, late); n != 0 {
		t.Errorf("%d journal entries for applications submitted while PostgreSQL was unreachable", n)
	}
	faults.CheckRecords(t, db)
	proxy.Unblock()
	phase("outage")

	waitFor(t, time.Minute, "the API to reach PostgreSQL again", func() (bool, string) {
		r, err := a.do(nil, "GET", "/readyz", nil)
		if err != nil {
			return false, err.Error()
		}
		return r.Status == http.StatusOK, string(r.Body)
	})
	// A decision cut short (503) is sent again: taken, or refused (409)
	// when the workflow had already accepted it.
	for i := range decisions {
		ans := <-decisions[i]
		expect(t, "decision racing the cut", ans.r, ans.err, 200, 202, 503)
		t.Logf("decision on %s racing the cut answered %d", ids[i], ans.r.Status)
		if ans.r.Status == http.StatusServiceUnavailable {
			r, err := a.decide(testenv.Decider, ids[i], i == 0)
			expect(t, "decision sent again", r, err, 200, 409)
		}
	}
	waitStatuses(t, db, late, lifecycle.StatusEmbassyConsultation, time.Minute)
	for _, id := range ids[2:] {
		if slices.Contains(late, id) {
			r, err := a.opinion(id)
			expect(t, "opinion", r, err, 200)
			r, err = a.recommend(id, true)
			expect(t, "recommendation", r, err, 200)
		}
		r, err := a.decide(testenv.Decider, id, true)
		expect(t, "decision", r, err, 200)
	}
	states := waitClosed(t, s, ids, 2*time.Minute)
	phase("recovery")

	for i, id := range ids {
		want, path := lifecycle.StatusApproved, approvedPath
		if i == 1 {
			want, path = lifecycle.StatusRejected, rejectedPath
		}
		if states[id].Status != want {
			t.Errorf("%s ended %s, want %s", id, states[id].Status, want)
		}
		checkJournal(t, db, id, path)
	}
	s.Mailpit.WaitFor(t, len(ids)*mailsPerApplication, 30*time.Second)
	if n := s.Mailpit.Count(t); n != len(ids)*mailsPerApplication {
		t.Errorf("Mailpit received %d e-mails, want %d", n, len(ids)*mailsPerApplication)
	}
	faults.CheckInvariants(t, faults.System{Temporal: s.Temporal, Store: db, TaskQueue: s.TaskQueue, Mailpit: s.Mailpit})
	if t.Failed() {
		t.Logf("outbox errors: %s", outboxErrors(t, db))
	}
}

// outboxErrors lists the delivery errors the outbox recorded.
func outboxErrors(t testing.TB, st *store.Store) string {
	t.Helper()
	rows, err := st.Pool.Query(context.Background(), `SELECT dedup_key, attempts, COALESCE(last_error, '') FROM outbox WHERE attempts > 1 OR last_error IS NOT NULL`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var key, last string
		var attempts int
		if err := rows.Scan(&key, &attempts, &last); err != nil {
			return err.Error()
		}
		out = append(out, fmt.Sprintf("%s: %d attempts %s", key, attempts, last))
	}
	return strings.Join(out, "; ")
}
