package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// expectKeyReused checks the 409 answered to a key reused for another
// request: its problem type, and the explanation in both languages.
func expectKeyReused(t *testing.T, r testenv.Response) {
	t.Helper()
	p := asProblem(t, r, http.StatusConflict)
	if !strings.HasSuffix(p.Type, "/idempotency-key-reused") {
		t.Errorf("problem type %q, want .../idempotency-key-reused", p.Type)
	}
	if len(p.Errors) != 1 || p.Errors[0].Field != "Idempotency-Key" || p.Errors[0].Rule != "reused" ||
		!strings.Contains(p.Errors[0].MessageFR, "clé d'idempotence") || !strings.Contains(p.Errors[0].MessageEN, "Idempotency-Key was already used") {
		t.Errorf("problem errors %+v, want one on Idempotency-Key (reused) in French and English", p.Errors)
	}
}

// TestSubmissionKeyBoundToDossier: the same key with the same dossier is the
// first application (200), with another dossier a 409 that changes nothing.
func TestSubmissionKeyBoundToDossier(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	first := testenv.ExampleDossier(t)
	other := dossierWith(t, func(d map[string]any) { d["mission"].(map[string]any)["title"] = "Une autre mission" })
	key := fmt.Sprintf("submission-%d", time.Now().UnixNano())
	submit := func(body []byte) testenv.Response {
		return s.Do(&testenv.Applicant, "POST", "/v1/applications", body, "Idempotency-Key", key)
	}

	r := submit(first)
	if r.Status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	var created api.SubmitResult
	r.JSON(t, &created)

	r = submit(first)
	if r.Status != http.StatusOK {
		t.Fatalf("same key, same dossier: %d %s, want 200", r.Status, r.Body)
	}
	var again api.SubmitResult
	r.JSON(t, &again)
	if again.ApplicationID != created.ApplicationID || again.Created {
		t.Errorf("same key, same dossier: %+v, want %s not created", again, created.ApplicationID)
	}

	mark := lastAttemptID(t, s)
	r = submit(other)
	expectKeyReused(t, r)
	if !strings.Contains(string(r.Body), created.ApplicationID) {
		t.Errorf("the 409 does not name the application the key created: %s", r.Body)
	}
	expectAttempt(t, s, mark, testenv.Applicant, lifecycle.ActionSubmit, http.StatusConflict)

	// The first application keeps its dossier, and is still the answer to
	// its own body.
	waitConsulted(t, s, created.ApplicationID)
	if title := readState(t, s, created.ApplicationID).Dossier.Mission.Title; title == "Une autre mission" {
		t.Errorf("the refused dossier replaced the first one")
	}
	if n := rowCount(t, s, "applications"); n != 1 {
		t.Errorf("%d applications, want 1", n)
	}
	if r := submit(first); r.Status != http.StatusOK {
		t.Errorf("same key, same dossier after the refusal: %d %s, want 200", r.Status, r.Body)
	}
}

// TestStepRetriedWithItsKey: a step sent again with its Idempotency-Key is
// answered as the first time (not 409) and recorded once; the same key with
// another body, or from another user, is refused. This holds after the
// workflow has closed, for the step that closed it.
func TestStepRetriedWithItsKey(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	id := s.Submit(testenv.ExampleDossier(t))
	waitConsulted(t, s, id)
	step := func(a lifecycle.Actor, path, key string, body any) testenv.Response {
		return s.Do(&a, "POST", "/v1/applications/"+id+"/"+path, body, "Idempotency-Key", key)
	}
	sameState := func(what string, r testenv.Response, want lifecycle.State) {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s, want 200", what, r.Status, r.Body)
		}
		var got lifecycle.State
		r.JSON(t, &got)
		if got.Status != want.Status || len(got.Steps) != len(want.Steps) {
			t.Errorf("%s: status %s after %d steps, the first answer was %s after %d", what, got.Status, len(got.Steps), want.Status, len(want.Steps))
		}
	}

	opinion := map[string]string{"opinion": "favorable", "comment": "Partenariat solide"}
	expectProblem(t, step(testenv.EmbassySN, "opinion", strings.Repeat("k", 201), opinion),
		badCase{status: http.StatusBadRequest, field: "Idempotency-Key", rule: "max"})
	r := step(testenv.EmbassySN, "opinion", "opinion-key", opinion)
	if r.Status != http.StatusOK {
		t.Fatalf("opinion: %d %s", r.Status, r.Body)
	}
	var first lifecycle.State
	r.JSON(t, &first)
	sameState("opinion retried with its key", step(testenv.EmbassySN, "opinion", "opinion-key", opinion), first)

	mark := lastAttemptID(t, s)
	expectKeyReused(t, step(testenv.EmbassySN, "opinion", "opinion-key", map[string]string{"opinion": "reserved", "comment": "Réserves"}))
	expectAttempt(t, s, mark, testenv.EmbassySN, lifecycle.ActionOpinion, http.StatusConflict)
	// Without a key a repeated step is a new attempt, refused as out of state.
	if r := s.Do(&testenv.EmbassySN, "POST", "/v1/applications/"+id+"/opinion", opinion); r.Status != http.StatusConflict {
		t.Errorf("opinion repeated without a key: %d %s, want 409", r.Status, r.Body)
	}
	mustStep(t, s, testenv.Instructor, id, "recommendation", map[string]string{"recommendation": "approve", "amount": "3000.00", "comment": "Dossier complet"})

	// The same key on another step is another request.
	decision := map[string]string{"decision": "approve", "amount": "3000.00"}
	r = step(testenv.Decider, "decision", "opinion-key", decision)
	if r.Status != http.StatusOK {
		t.Fatalf("decision: %d %s", r.Status, r.Body)
	}
	var decided lifecycle.State
	r.JSON(t, &decided)
	if decided.Status != lifecycle.StatusApproved {
		t.Fatalf("decision answered %s", decided.Status)
	}
	otherDecider := lifecycle.Actor{ID: "delegue.deux", Role: lifecycle.RoleDecider}
	expectKeyReused(t, step(otherDecider, "decision", "opinion-key", decision))

	s.WaitSettled(id, 30*time.Second)
	sameState("decision retried once the application is decided", step(testenv.Decider, "decision", "opinion-key", decision), decided)

	recorded := map[string]int{}
	for _, e := range journalOf(t, s, id) {
		recorded[e.EventType]++
	}
	for _, ev := range []string{lifecycle.EventOpinionGiven, lifecycle.EventApproved} {
		if recorded[ev] != 1 {
			t.Errorf("journal %v has %s %d times, want once", recorded, ev, recorded[ev])
		}
	}
	var bound int
	if err := s.Store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM idempotency_keys WHERE application_id = $1`, id).Scan(&bound); err != nil {
		t.Fatal(err)
	}
	if bound != 2 {
		t.Errorf("%d keys bound, want 2 (opinion, decision)", bound)
	}
}
