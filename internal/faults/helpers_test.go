package faults_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/faults"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

func TestMain(m *testing.M) {
	code := testenv.Run(m)
	faults.RemoveBinary()
	os.Exit(code)
}

// A second decider, so two valid decisions can race.
var otherDecider = lifecycle.Actor{ID: "delegue.deux", Role: lifecycle.RoleDecider}

// The e-mails of one application on the path the scenarios drive: the
// acknowledgement and the secretariat's notice, the embassy consultation,
// the decision letter.
const mailsPerApplication = 4

// The journals of the two paths the scenarios drive.
var (
	approvedPath = []string{lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted, lifecycle.EventOpinionGiven,
		lifecycle.EventRecommended, lifecycle.EventApproved}
	rejectedPath = []string{lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted, lifecycle.EventOpinionGiven,
		lifecycle.EventRecommended, lifecycle.EventRejected}
)

// steadyRules have timers far beyond a test's length, so no reminder or
// deadline interleaves with the steps the scenario drives: the journal and
// the e-mails each application must end with are known exactly.
func steadyRules() *rules.Rules {
	r := testenv.FastRules()
	r.Version = "faults"
	r.Timers.EmbassyReminder = rules.Duration(time.Hour)
	r.Timers.EmbassyDeadline = rules.Duration(2 * time.Hour)
	r.Timers.ComplementsDeadline = rules.Duration(time.Hour)
	r.Timers.DecisionReminder = rules.Duration(time.Hour)
	return &r
}

func newKey() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// api calls the stack's API without failing the test on a transport error,
// so goroutines may use it; tokens are issued up front.
type api struct {
	s      *testenv.Stack
	hc     *http.Client
	tokens map[string]string // actor ID + role -> bearer token
	// dossier is examples/dossier.json.
	dossier []byte
}

func newAPI(s *testenv.Stack, actors ...lifecycle.Actor) *api {
	a := &api{s: s, hc: &http.Client{Timeout: 90 * time.Second}, tokens: map[string]string{},
		dossier: testenv.ExampleDossier(s.T)}
	for _, actor := range append(actors, testenv.Applicant, testenv.EmbassySN, testenv.Instructor, testenv.Decider, otherDecider, testenv.Auditor) {
		a.tokens[actor.ID+"/"+string(actor.Role)] = s.Token(actor)
	}
	return a
}

// do sends a request as the actor (none when nil); body is []byte or a value
// to encode as JSON.
func (a *api) do(actor *lifecycle.Actor, method, path string, body any, headers ...string) (testenv.Response, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return testenv.Response{}, err
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), method, a.s.API.URL+path, bytes.NewReader(raw))
	if err != nil {
		return testenv.Response{}, err
	}
	if actor != nil {
		tok, ok := a.tokens[actor.ID+"/"+string(actor.Role)]
		if !ok {
			return testenv.Response{}, fmt.Errorf("no token issued for %s", actor.ID)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return testenv.Response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return testenv.Response{Status: resp.StatusCode, Body: data, Header: resp.Header}, err
}

// must is do for the test goroutine: a transport error fails the test.
func (a *api) must(t testing.TB, actor *lifecycle.Actor, method, path string, body any, headers ...string) testenv.Response {
	t.Helper()
	r, err := a.do(actor, method, path, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// submit submits the example dossier under an idempotency key and returns
// the answer.
func (a *api) submit(key string) (testenv.Response, error) {
	return a.do(&testenv.Applicant, "POST", "/v1/applications", a.dossier, "Idempotency-Key", key)
}

// Human steps, as the scenarios take them.
func (a *api) opinion(id string) (testenv.Response, error) {
	return a.do(&testenv.EmbassySN, "POST", "/v1/applications/"+id+"/opinion",
		map[string]string{"opinion": "favorable", "comment": "Partenariat solide"})
}

func (a *api) recommend(id string, approve bool) (testenv.Response, error) {
	body := map[string]string{"recommendation": "approve", "amount": "3000.00", "comment": "Dossier complet"}
	if !approve {
		body = map[string]string{"recommendation": "reject", "comment": "Hors priorités"}
	}
	return a.do(&testenv.Instructor, "POST", "/v1/applications/"+id+"/recommendation", body)
}

func (a *api) decide(decider lifecycle.Actor, id string, approve bool) (testenv.Response, error) {
	body := map[string]string{"decision": "approve", "amount": "3000.00"}
	if !approve {
		body = map[string]string{"decision": "reject", "motivation": "Budget épuisé pour ce pays"}
	}
	return a.do(&decider, "POST", "/v1/applications/"+id+"/decision", body)
}

// expect fails the test unless the step answered one of the statuses.
func expect(t testing.TB, what string, r testenv.Response, err error, statuses ...int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !slices.Contains(statuses, r.Status) {
		t.Fatalf("%s: %d %s, want %v", what, r.Status, r.Body, statuses)
	}
	if r.Status >= 400 {
		expectProblem(t, what, r)
	}
}

// expectProblem checks an error answer is an RFC 9457 problem with its status.
func expectProblem(t testing.TB, what string, r testenv.Response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: %d answered with Content-Type %q, want application/problem+json", what, r.Status, ct)
		return
	}
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil || p.Status != r.Status || p.Type == "" || p.Title == "" {
		t.Errorf("%s: problem document %s does not describe a %d (%v)", what, r.Body, r.Status, err)
	}
}

func submittedID(t testing.TB, r testenv.Response) string {
	t.Helper()
	var res struct {
		ApplicationID string `json:"application_id"`
		Created       bool   `json:"created"`
	}
	r.JSON(t, &res)
	if res.ApplicationID == "" {
		t.Fatalf("submission answered without an application_id: %s", r.Body)
	}
	return res.ApplicationID
}

// waitFor polls cond until it holds; on timeout the test fails with what
// cond last said.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s: %s", timeout, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readStatus reads an application's status from the database (the API may
// be the thing under fault).
func readStatus(st *store.Store, id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := st.Application(ctx, id)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return a.Status
}

// waitStatuses waits until every application has the status in the read model.
func waitStatuses(t testing.TB, st *store.Store, ids []string, want lifecycle.Status, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%d application(s) %s", len(ids), want), func() (bool, string) {
		var off []string
		for _, id := range ids {
			if s := readStatus(st, id); s != string(want) {
				off = append(off, id+" is "+s)
			}
		}
		return len(off) == 0, strings.Join(off, ", ")
	})
}

// waitClosed waits until each workflow completed, or, approved, waits for
// its mission with nothing pending, and returns the states the first phase
// left.
func waitClosed(t testing.TB, s *testenv.Stack, ids []string, timeout time.Duration) map[string]lifecycle.State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out := map[string]lifecycle.State{}
	for _, id := range ids {
		if err := devstack.WaitSettled(ctx, s.Temporal, id); err != nil {
			t.Fatalf("workflow %s did not settle: %v (read model: %s)", id, err, readStatus(s.Store, id))
		}
		st, err := s.Store.ApplicationState(ctx, id)
		if err != nil {
			t.Fatalf("read model of %s: %v", id, err)
		}
		out[id] = st
	}
	return out
}

// journalEvents is an application's journal, event types in order.
func journalEvents(t testing.TB, st *store.Store, id string) []string {
	t.Helper()
	entries, err := st.Journal(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.EventType)
	}
	return out
}

func checkJournal(t testing.TB, st *store.Store, id string, want []string) {
	t.Helper()
	if got := journalEvents(t, st, id); !slices.Equal(got, want) {
		t.Errorf("%s journal %v, want %v (one entry per transition)", id, got, want)
	}
}

// count runs a SELECT count(*) query.
func count(t testing.TB, st *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := st.Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// phases logs how long each phase of a scenario took.
func phases(t testing.TB) func(name string) {
	last := time.Now()
	return func(name string) {
		t.Helper()
		t.Logf("%s took %s", name, time.Since(last).Round(100*time.Millisecond))
		last = time.Now()
	}
}

// dumpHistoriesOnFailure logs the workflow histories of the applications
// when the test fails, to tell where a stuck one waits. Register it after the
// stack, so it runs before the stack's client closes.
func dumpHistoriesOnFailure(t testing.TB, c client.Client, ids func() []string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, id := range ids() {
			var lines []string
			it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					lines = append(lines, err.Error())
					break
				}
				line := fmt.Sprintf("%4d %s %s", ev.GetEventId(), ev.GetEventTime().AsTime().Format("15:04:05.000"), ev.GetEventType())
				if a := ev.GetWorkflowTaskScheduledEventAttributes(); a != nil {
					line += fmt.Sprintf(" queue=%s attempt=%d", a.GetTaskQueue().GetName(), a.GetAttempt())
				}
				if a := ev.GetWorkflowTaskStartedEventAttributes(); a != nil {
					line += " by " + a.GetIdentity()
				}
				if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
					line += fmt.Sprintf(" cause=%s %s", a.GetCause(), a.GetFailure().GetMessage())
				}
				if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
					line += fmt.Sprintf(" by %s attempt=%d", a.GetIdentity(), a.GetAttempt())
				}
				lines = append(lines, line)
			}
			t.Logf("history of %s:\n%s", id, strings.Join(lines, "\n"))
		}
	})
}

// waitIdle waits until no application has an activity or a workflow task
// pending: each waits for a human or a timer, and a worker killed now
// interrupts nothing.
func waitIdle(t testing.TB, c client.Client, ids []string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, "the applications to be idle", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var busy []string
		for _, id := range ids {
			desc, err := c.DescribeWorkflow(ctx, id, "")
			if err != nil {
				return false, err.Error()
			}
			d := desc.RawResponse
			if n := len(d.GetPendingActivities()); n > 0 || d.GetPendingWorkflowTask() != nil {
				busy = append(busy, fmt.Sprintf("%s (%d activities, workflow task %v)", id, n, d.GetPendingWorkflowTask() != nil))
			}
		}
		return len(busy) == 0, "busy: " + strings.Join(busy, ", ")
	})
}
