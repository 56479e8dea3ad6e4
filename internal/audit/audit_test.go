package audit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/activities"
	"github.com/daect/expectct/internal/audit"
	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
	"github.com/daect/expectct/worker"
	"github.com/daect/expectct/workflows"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

var (
	applicant  = lifecycle.Actor{ID: "agent.nantes", Role: lifecycle.RoleApplicant, SIREN: "214401093"}
	embassySN  = lifecycle.Actor{ID: "scac.dakar", Role: lifecycle.RoleEmbassy, Countries: []string{"SN"}}
	instructor = lifecycle.Actor{ID: "instructor.one", Role: lifecycle.RoleInstructor}
	decider    = lifecycle.Actor{ID: "decider.one", Role: lifecycle.RoleDecider}
	// The instructor's own decider account: the four-eyes rule refuses it.
	instructorAsDecider = lifecycle.Actor{ID: "instructor.one", Role: lifecycle.RoleDecider}
)

// Personal data of examples/dossier.json that no timeline may show.
var personalData = []string{"Claire Martin", "claire.martin@mairie-nantes.example", "02 40 41 90 00",
	"Julien Lefèvre", "Sophie Bernard"}

// stack is one test's real components: its own database, a worker on its
// own task queue against the shared Temporal dev server, and Mailpit.
type stack struct {
	t     *testing.T
	c     client.Client
	st    *store.Store
	dbURL string
	tq    string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	return newStackOn(t, testenv.Temporal(t))
}

func newStackOn(t *testing.T, server *devstack.TemporalServer) *stack {
	t.Helper()
	st, dbURL := testenv.Database(t)
	c := testenv.Client(t, server)
	tq := "audit-" + unique()
	// E-mails stay in the outbox: no relay runs, the audit reads no mail.
	w := worker.New(c, tq, &activities.Activities{Store: st, Secretariat: "secretariat@example.org",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return &stack{t: t, c: c, st: st, dbURL: dbURL, tq: tq}
}

func unique() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func exampleDossier(t *testing.T) dossier.Dossier {
	t.Helper()
	f, err := os.Open("../../examples/dossier.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := dossier.Decode(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testRules() rules.Rules {
	r := rules.Default()
	r.Version = "audit-test"
	return r
}

// start submits the example dossier as a new application.
func (s *stack) start(r rules.Rules) (string, client.WorkflowRun) {
	s.t.Helper()
	id := "EXP-AUDIT-" + unique()
	run, err := s.c.ExecuteWorkflow(ctxFor(s.t), client.StartWorkflowOptions{ID: id, TaskQueue: s.tq},
		workflows.WorkflowName, lifecycle.StartInput{
			ApplicationID: id, Submitter: applicant, Dossier: exampleDossier(s.t), Rules: r,
		})
	if err != nil {
		s.t.Fatalf("start %s: %v", id, err)
	}
	return id, run
}

// update runs a human step to completion and returns the state it left.
func (s *stack) update(id, name string, arg any) lifecycle.State {
	s.t.Helper()
	st, err := s.tryUpdate(id, name, arg)
	if err != nil {
		s.t.Fatalf("%s on %s: %v", name, id, err)
	}
	return st
}

func (s *stack) tryUpdate(id, name string, arg any) (lifecycle.State, error) {
	ctx := ctxFor(s.t)
	h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var st lifecycle.State
	if err == nil {
		err = h.Get(ctx, &st)
	}
	return st, err
}

// waitUntil polls the status query until cond holds.
func (s *stack) waitUntil(id, what string, cond func(lifecycle.State) bool) lifecycle.State {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := s.c.QueryWorkflow(ctxFor(s.t), id, "", lifecycle.QueryStatus)
		var st lifecycle.State
		if err == nil {
			err = v.Get(&st)
		}
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: waited 30s for %s; last state %+v, error %v", id, what, st.Status, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *stack) waitConsulted(id string) {
	s.t.Helper()
	s.waitUntil(id, "the embassy consultation", func(st lifecycle.State) bool { return st.EmbassyContacted })
}

// finish waits for the workflow's end and checks its final status.
func (s *stack) finish(run client.WorkflowRun, want lifecycle.Status) {
	s.t.Helper()
	var st lifecycle.StepResult
	if err := run.Get(ctxFor(s.t), &st); err != nil {
		s.t.Fatalf("workflow %s: %v", run.GetID(), err)
	}
	if st.Status != want {
		s.t.Fatalf("workflow %s ended %s, want %s", run.GetID(), st.Status, want)
	}
}

// approve drives an application through opinion, recommendation and an
// approval of EUR 2800, then its renunciation.
func (s *stack) approve() string {
	s.t.Helper()
	id, run := s.start(testRules())
	s.waitConsulted(id)
	s.update(id, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: lifecycle.OpinionFavorable, Comment: "Partenariat solide et ancien"})
	s.update(id, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: lifecycle.RecommendApprove, Amount: dossier.Euros(3000), Comment: "Dossier complet, budget cohérent"})
	s.update(id, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: lifecycle.DecisionApprove, Amount: dossier.Euros(2800)})
	// The mission is years away: the applicant renounces, so the workflow ends.
	s.update(id, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: applicant, Reason: "Mission reportée"})
	s.finish(run, lifecycle.StatusRenounced)
	return id
}

// reject drives an application to a refusal.
func (s *stack) reject() string {
	s.t.Helper()
	id, run := s.start(testRules())
	s.waitConsulted(id)
	s.update(id, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: lifecycle.OpinionUnfavorable, Comment: "Contexte local difficile"})
	s.update(id, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: lifecycle.RecommendReject, Comment: "Objectifs flous"})
	s.update(id, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: lifecycle.DecisionReject, Motivation: "Objectifs insuffisamment définis"})
	s.finish(run, lifecycle.StatusRejected)
	return id
}

// withdraw has the applicant withdraw during the embassy consultation.
func (s *stack) withdraw() string {
	s.t.Helper()
	id, run := s.start(testRules())
	s.waitConsulted(id)
	s.update(id, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "Mission reportée"})
	s.finish(run, lifecycle.StatusWithdrawn)
	return id
}

// rewrite runs SQL on the journal past its append-only trigger, as someone
// with full access to the database server could (the application's own
// role cannot: see internal/store's tests).
func (s *stack) rewrite(sql string, args ...any) {
	s.t.Helper()
	testenv.Tamper(s.t, s.dbURL, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctxFor(s.t), sql, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%s changed %d rows, want 1", sql, tag.RowsAffected())
		}
		return nil
	})
}

func (s *stack) verify(id string) audit.Report {
	s.t.Helper()
	r, err := audit.Verify(ctxFor(s.t), s.c, nil, s.st, id)
	if err != nil {
		s.t.Fatalf("Verify(%q): %v", id, err)
	}
	if r.OK != (len(r.Problems) == 0) {
		s.t.Fatalf("Verify(%q): OK=%v with problems %+v", id, r.OK, r.Problems)
	}
	return r
}

func hasProblem(r audit.Report, id string, seq int, text string) bool {
	return slices.ContainsFunc(r.Problems, func(p audit.Problem) bool {
		return p.ApplicationID == id && p.Seq == seq && strings.Contains(p.Problem, text)
	})
}

// find returns the index of the first entry matching, or fails the test.
func find(t *testing.T, tl audit.Timeline, what string, match func(audit.Entry) bool) (int, audit.Entry) {
	t.Helper()
	i := slices.IndexFunc(tl.Entries, match)
	if i < 0 {
		t.Fatalf("timeline has no %s:\n%s", what, dump(tl))
	}
	return i, tl.Entries[i]
}

func dump(tl audit.Timeline) string {
	var b strings.Builder
	for _, e := range tl.Entries {
		d, _ := json.Marshal(e.Details)
		b.WriteString(e.At.Format("15:04:05.000000") + " " + e.Source + " " + e.Step + " " + e.Actor.ID + " " + e.Status + " | " + e.Summary + " " + string(d) + "\n")
	}
	return b.String()
}

func temporalStep(step string) func(audit.Entry) bool {
	return func(e audit.Entry) bool { return e.Source == audit.SourceTemporal && e.Step == step }
}

func acceptedUpdate(name string) func(audit.Entry) bool {
	return func(e audit.Entry) bool {
		return e.Source == audit.SourceTemporal && e.Step == audit.StepUpdateAccepted && e.Details["update"] == name
	}
}

func TestHistoryOfAnApprovedApplication(t *testing.T) {
	s := newStack(t)
	id, run := s.start(testRules())
	s.waitConsulted(id)
	s.update(id, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: lifecycle.OpinionFavorable, Comment: "Partenariat solide et ancien"})
	s.update(id, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: lifecycle.RecommendApprove, Amount: dossier.Euros(3000), Comment: "Dossier complet, budget cohérent"})

	// The instructor tries to decide: the validator refuses, nothing enters
	// the history, and the API logs the attempt.
	_, err := s.tryUpdate(id, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: instructorAsDecider, Decision: lifecycle.DecisionApprove, Amount: dossier.Euros(3000)})
	if err == nil || !strings.Contains(err.Error(), "four-eyes") {
		t.Fatalf("four-eyes decision: err = %v", err)
	}
	if err := s.st.RecordAttempt(ctxFor(t), store.Attempt{ActorID: instructorAsDecider.ID, ActorRole: string(instructorAsDecider.Role),
		Action: string(lifecycle.ActionDecide), ApplicationID: id, Reason: err.Error(), HTTPStatus: 403}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the attempt's time stamp is the database's clock
	s.update(id, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: lifecycle.DecisionApprove, Amount: dossier.Euros(2800)})
	s.update(id, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: applicant, Reason: "Mission reportée"})
	s.finish(run, lifecycle.StatusRenounced)

	tl, err := audit.History(ctxFor(t), s.c, nil, s.st, id)
	if err != nil {
		t.Fatal(err)
	}
	if tl.ApplicationID != id {
		t.Fatalf("timeline of %q", tl.ApplicationID)
	}
	t.Logf("timeline:\n%s", dump(tl))
	for i := 1; i < len(tl.Entries); i++ {
		if tl.Entries[i].At.Before(tl.Entries[i-1].At) {
			t.Fatalf("entry %d (%s) is before entry %d (%s)", i, tl.Entries[i].At, i-1, tl.Entries[i-1].At)
		}
	}

	iStart, started := find(t, tl, "submission", temporalStep(audit.StepWorkflowStarted))
	if started.Actor != (audit.Actor{ID: applicant.ID, Role: "applicant"}) || started.Details["rules_version"] != "audit-test" ||
		started.Details["country"] != "SN" || started.Status != "submitted" {
		t.Errorf("submission entry = %+v", started)
	}
	iOpinion, opinion := find(t, tl, "accepted opinion", acceptedUpdate(lifecycle.UpdateOpinion))
	if opinion.Actor.ID != embassySN.ID || opinion.Actor.Role != "embassy" ||
		opinion.Details["opinion"] != "favorable" || opinion.Details["comment"] != "Partenariat solide et ancien" {
		t.Errorf("opinion entry = %+v", opinion)
	}
	iRecommend, rec := find(t, tl, "accepted recommendation", acceptedUpdate(lifecycle.UpdateRecommend))
	if rec.Actor.ID != instructor.ID || rec.Details["recommendation"] != "approve" ||
		rec.Details["amount"] != json.Number("3000.00") || rec.Details["comment"] != "Dossier complet, budget cohérent" {
		t.Errorf("recommendation entry = %+v", rec)
	}
	iAttempt, attempt := find(t, tl, "refused attempt", func(e audit.Entry) bool { return e.Source == audit.SourceAttempt })
	if attempt.Step != "decide" || attempt.Actor.ID != instructorAsDecider.ID || attempt.Status != "refused" ||
		attempt.Details["http_status"] != 403 || !strings.Contains(attempt.Details["reason"].(string), "four-eyes") {
		t.Errorf("attempt entry = %+v", attempt)
	}
	iDecide, decision := find(t, tl, "accepted decision", acceptedUpdate(lifecycle.UpdateDecide))
	if decision.Actor.ID != decider.ID || decision.Details["decision"] != "approve" || decision.Details["amount"] != json.Number("2800.00") {
		t.Errorf("decision entry = %+v", decision)
	}
	_, done := find(t, tl, "completion of the decision", func(e audit.Entry) bool {
		return e.Step == audit.StepUpdateCompleted && e.Details["update"] == lifecycle.UpdateDecide
	})
	if done.Status != "approved" || done.Actor.ID != decider.ID {
		t.Errorf("decision completed entry = %+v", done)
	}
	iEnd, end := find(t, tl, "workflow completion", temporalStep(audit.StepWorkflowCompleted))
	if end.Status != "renounced" {
		t.Errorf("completion entry = %+v", end)
	}
	if !(iStart < iOpinion && iOpinion < iRecommend && iRecommend < iAttempt && iAttempt < iDecide && iDecide < iEnd) {
		t.Errorf("out of order: start %d, opinion %d, recommend %d, attempt %d, decide %d, end %d",
			iStart, iOpinion, iRecommend, iAttempt, iDecide, iEnd)
	}

	// The transitions, as the workflow scheduled them and as the journal holds them.
	var scheduled, journal []string
	for _, e := range tl.Entries {
		switch {
		case e.Source == audit.SourceTemporal && e.Step == audit.StepTransitionScheduled:
			scheduled = append(scheduled, e.Details["event"].(string))
		case e.Source == audit.SourceJournal:
			journal = append(journal, e.Step)
		}
	}
	want := []string{"submitted", "embassy_consulted", "opinion_given", "recommended", "approved", "renounced"}
	if !slices.Equal(scheduled, want) || !slices.Equal(journal, want) {
		t.Errorf("transitions scheduled %v, journal %v, want %v", scheduled, journal, want)
	}
	_, sub := find(t, tl, "journal submission", func(e audit.Entry) bool { return e.Source == audit.SourceJournal && e.Step == "submitted" })
	if sub.Details["rules_version"] != "audit-test" || sub.Details["seq"] != 1 || sub.Actor.ID != applicant.ID {
		t.Errorf("journal submission = %+v", sub)
	}
	_, approved := find(t, tl, "journal approval", func(e audit.Entry) bool { return e.Source == audit.SourceJournal && e.Step == "approved" })
	if approved.Details["amount"] != json.Number("2800.00") || approved.Status != "approved" || approved.Actor.ID != decider.ID {
		t.Errorf("journal approval = %+v", approved)
	}

	// Nothing of the dossier's personal data, from any source.
	for _, e := range tl.Entries {
		if _, ok := e.Details["dossier"]; ok {
			t.Errorf("%s %s shows the dossier", e.Source, e.Step)
		}
	}
	b, err := json.Marshal(tl)
	if err != nil {
		t.Fatal(err)
	}
	for _, pii := range personalData {
		if strings.Contains(string(b), pii) {
			t.Errorf("the timeline shows %q", pii)
		}
	}
}

func TestHistoryNamesTheTimers(t *testing.T) {
	s := newStack(t)
	r := testRules()
	r.Timers.EmbassyReminder = rules.Duration(time.Second)
	r.Timers.EmbassyDeadline = rules.Duration(2 * time.Second)
	r.Timers.DecisionReminder = rules.Duration(time.Second)
	id, run := s.start(r)
	// The embassy never answers; DAECT is reminded once; the applicant withdraws.
	s.waitUntil(id, "a decision reminder", func(st lifecycle.State) bool {
		return slices.ContainsFunc(st.Steps, func(s lifecycle.Step) bool { return s.Event == lifecycle.EventDecisionReminded })
	})
	s.update(id, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "Mission reportée"})
	s.finish(run, lifecycle.StatusWithdrawn)

	tl, err := audit.History(ctxFor(t), s.c, nil, s.st, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("timeline:\n%s", dump(tl))
	// Timers are named by the summary the workflow gives them, never
	// guessed from their durations.
	var timers []string
	for _, e := range tl.Entries {
		if e.Step == audit.StepTimerFired {
			name, _ := e.Details["timer"].(string)
			timers = append(timers, name)
			if e.Actor.Role != "system" || e.Details["timer_id"] == nil {
				t.Errorf("timer entry = %+v", e)
			}
		}
	}
	i, deemed := find(t, tl, "opinion deemed given", func(e audit.Entry) bool {
		return e.Step == audit.StepTransitionScheduled && e.Details["event"] == lifecycle.EventOpinionDeemedGiven
	})
	if deemed.Details["opinion"] != lifecycle.OpinionNotGiven || deemed.Status != "under_review" {
		t.Errorf("deemed opinion transition = %+v", deemed)
	}
	if len(timers) < 3 || timers[0] != lifecycle.TimerEmbassyReminder || timers[1] != lifecycle.TimerEmbassyDeadline ||
		slices.ContainsFunc(timers[2:], func(n string) bool { return n != lifecycle.TimerDecisionReminder }) {
		t.Errorf("timers fired %q, want embassy_reminder, embassy_deadline, then decision_reminder", timers)
	}
	if j, _ := find(t, tl, "embassy deadline", func(e audit.Entry) bool { return e.Details["timer"] == lifecycle.TimerEmbassyDeadline }); j > i {
		t.Errorf("the deadline (entry %d) must come before what it caused (entry %d)", j, i)
	}
	_, w := find(t, tl, "withdrawal", acceptedUpdate(lifecycle.UpdateWithdraw))
	if w.Details["reason"] != "Mission reportée" || w.Actor.ID != applicant.ID {
		t.Errorf("withdrawal entry = %+v", w)
	}
	if r := s.verify(id); !r.OK {
		t.Errorf("Verify: %+v", r.Problems)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	s := newStack(t)
	id := s.approve()

	r := s.verify(id)
	if !r.OK || r.Checked != 1 || len(r.Problems) != 0 {
		t.Fatalf("untouched application: %+v", r)
	}

	s.rewrite(`UPDATE journal SET payload = '{"tampered":true}' WHERE application_id = $1 AND seq = 3`, id)
	r = s.verify(id)
	t.Logf("after altering seq 3: %+v", r.Problems)
	if r.OK || !hasProblem(r, id, 3, "row content does not match its hash (altered)") ||
		!hasProblem(r, id, 3, "payload differs") {
		t.Fatalf("altered row not reported: %+v", r)
	}
	for _, p := range r.Problems {
		if p.ApplicationID != id || p.Seq != 3 {
			t.Errorf("unexpected problem %+v", p)
		}
	}

	// Removing the last row leaves the chain whole; the history shows it missing.
	s.rewrite(`DELETE FROM journal WHERE application_id = $1 AND seq = 5`, id)
	r = s.verify(id)
	t.Logf("after removing seq 5: %+v", r.Problems)
	if r.OK || !hasProblem(r, id, 5, "journal row missing") || !hasProblem(r, id, 5, "approved") ||
		!hasProblem(r, id, 3, "altered") {
		t.Fatalf("removed row not reported: %+v", r)
	}
}

func TestVerifyAllApplications(t *testing.T) {
	s := newStack(t)
	approved, rejected, withdrawn := s.approve(), s.reject(), s.withdraw()

	r := s.verify("")
	if !r.OK || r.Checked != 3 || len(r.Problems) != 0 {
		t.Fatalf("Verify(all) on untouched applications: %+v", r)
	}

	// A journal rewritten with its hashes recomputed passes the chain check;
	// only the history tells. Change who decided the refusal.
	ctx := ctxFor(t)
	rows, err := s.st.Journal(ctx, rejected)
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	last.ActorID = "someone.else"
	s.rewrite(`UPDATE journal SET actor_id = $3, hash = $4 WHERE application_id = $1 AND seq = $2`,
		rejected, last.Seq, last.ActorID, last.ComputeHash())
	if breaks := store.VerifyChain(must(s.st.Journal(ctx, rejected))); len(breaks) != 0 {
		t.Fatalf("the rewrite should keep the chain whole: %+v", breaks)
	}
	// And alter the withdrawal's reason the plain way.
	s.rewrite(`UPDATE journal SET payload = '{"reason":"autre"}' WHERE application_id = $1 AND seq = 3`, withdrawn)

	r = s.verify("")
	t.Logf("problems: %+v", r.Problems)
	if r.OK || r.Checked != 3 {
		t.Fatalf("Verify(all) after tampering: %+v", r)
	}
	if !hasProblem(r, rejected, last.Seq, `actor_id is "someone.else", the history says "decider.one"`) {
		t.Errorf("rewritten row of %s not reported", rejected)
	}
	if !hasProblem(r, withdrawn, 3, "altered") {
		t.Errorf("altered row of %s not reported", withdrawn)
	}
	for _, p := range r.Problems {
		if p.ApplicationID == approved {
			t.Errorf("untouched %s reported: %+v", approved, p)
		}
	}
}

// TestVerifyChecksMeaning tampers with the journal the way a hash check
// alone cannot see (hashes recomputed) and with the read model, and
// expects verify to say what no longer makes sense.
func TestVerifyChecksMeaning(t *testing.T) {
	s := newStack(t)
	approved, rejected := s.approve(), s.reject()
	ctx := ctxFor(t)

	// A row appended after the end, chained properly: the applicant
	// withdraws an application whose mission they renounced.
	rows := must(s.st.Journal(ctx, approved))
	last := rows[len(rows)-1]
	extra := store.Entry{ApplicationID: approved, Seq: last.Seq + 1, EventType: lifecycle.EventWithdrawn,
		Status: string(lifecycle.StatusWithdrawn), ActorID: applicant.ID, ActorRole: string(applicant.Role),
		Payload: []byte(`{"reason":"trop tard"}`), OccurredAt: last.OccurredAt.Add(time.Minute), PrevHash: last.Hash}
	extra.Hash = extra.ComputeHash()
	s.rewrite(`INSERT INTO journal (application_id, seq, event_type, status, actor_id, actor_role, payload, occurred_at, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, extra.ApplicationID, extra.Seq, extra.EventType, extra.Status,
		extra.ActorID, extra.ActorRole, string(extra.Payload), extra.OccurredAt, extra.PrevHash, extra.Hash)

	// The refusal's row rewritten to say approved, hash recomputed.
	rows = must(s.st.Journal(ctx, rejected))
	decision := rows[len(rows)-1]
	decision.Status = string(lifecycle.StatusApproved)
	s.rewrite(`UPDATE journal SET status = $3, hash = $4 WHERE application_id = $1 AND seq = $2`,
		rejected, decision.Seq, decision.Status, decision.ComputeHash())

	r := s.verify("")
	t.Logf("problems: %+v", r.Problems)
	want := []struct {
		id   string
		seq  int
		text string
	}{
		{approved, extra.Seq, "withdrawn (status withdrawn) follows the terminal status renounced of seq " + itoa(last.Seq)},
		{approved, extra.Seq, "read model says status renounced at seq " + itoa(last.Seq)},
		{approved, extra.Seq, "journal row withdrawn by " + applicant.ID + " has no accepted update in the workflow history"},
		{approved, extra.Seq, "extra journal row"},
		{rejected, decision.Seq, "rejected moves the status from awaiting_decision to approved, which the lifecycle does not allow"},
		{rejected, decision.Seq, "read model says status rejected"},
	}
	for _, w := range want {
		if !hasProblem(r, w.id, w.seq, w.text) {
			t.Errorf("%s seq %d: %q not reported", w.id, w.seq, w.text)
		}
	}
	for _, p := range r.Problems {
		if strings.Contains(p.Problem, "hash") || strings.Contains(p.Problem, "altered") {
			t.Errorf("the chain was kept whole, yet: %+v", p)
		}
	}
}

func TestVerifyChecksTheReadModel(t *testing.T) {
	s := newStack(t)
	id := s.withdraw()
	// The read model is no journal: a plain UPDATE, no trigger to bypass.
	tag, err := s.st.Pool.Exec(ctxFor(t), `UPDATE applications SET status = 'approved' WHERE id = $1`, id)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("update the read model: %v %v", tag, err)
	}
	r := s.verify(id)
	if len(r.Problems) != 1 || !hasProblem(r, id, 3, "read model says status approved at seq 3, the journal's last row withdrawn says status withdrawn at seq 3") {
		t.Errorf("changed read model: %+v", r.Problems)
	}
}

func TestHistoryOnceTemporalHasForgotten(t *testing.T) {
	s := newStack(t)
	id := s.withdraw()

	// Retention passing is the same as Temporal not knowing the workflow:
	// ask a Temporal server that never ran it. (Deleting the execution on
	// the shared server is asynchronous and takes unbounded time under load.)
	ctx := ctxFor(t)
	forgetful := testenv.Client(t, testenv.OwnTemporal(t))
	tl, err := audit.History(ctx, forgetful, nil, s.st, id)
	if err != nil {
		t.Fatalf("History without the Temporal history: %v", err)
	}
	var steps []string
	for _, e := range tl.Entries {
		if e.Source != audit.SourceJournal {
			t.Errorf("entry from %s once the history is gone: %+v", e.Source, e)
		}
		steps = append(steps, e.Step)
	}
	if want := []string{"submitted", "embassy_consulted", "withdrawn"}; !slices.Equal(steps, want) {
		t.Errorf("journal steps %v, want %v", steps, want)
	}
	verify := func() audit.Report {
		r, err := audit.Verify(ctx, forgetful, nil, s.st, id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := verify(); !r.OK || r.Checked != 1 {
		t.Errorf("Verify on the journal alone: %+v", r)
	}
	s.rewrite(`UPDATE journal SET status = 'approved' WHERE application_id = $1 AND seq = 3`, id)
	if r := verify(); r.OK || !hasProblem(r, id, 3, "altered") {
		t.Errorf("Verify on the journal alone misses an altered row: %+v", r)
	}
}

func TestUnknownApplication(t *testing.T) {
	s := newStack(t)
	ctx := ctxFor(t)
	if _, err := audit.History(ctx, s.c, nil, s.st, "EXP-NOSUCH-"+unique()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("History of an unknown application: %v, want ErrNotFound", err)
	}
	if _, err := audit.Verify(ctx, s.c, nil, s.st, "EXP-NOSUCH-"+unique()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Verify of an unknown application: %v, want ErrNotFound", err)
	}
	// No application at all: nothing to check, nothing wrong.
	if r := s.verify(""); !r.OK || r.Checked != 0 || r.Problems == nil {
		t.Errorf("Verify(all) on an empty journal: %+v", r)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestEarlyAnswerLeavesNoReminderLine: the embassy answers before its
// reminder; the reminder and deadline timers are cancelled, so the timeline
// never says the embassy had not answered, even once their time has passed.
func TestEarlyAnswerLeavesNoReminderLine(t *testing.T) {
	s := newStack(t)
	r := testRules()
	r.Timers.EmbassyReminder = rules.Duration(time.Second)
	r.Timers.EmbassyDeadline = rules.Duration(2 * time.Second)
	id, run := s.start(r)
	s.waitUntil(id, "the consultation", func(st lifecycle.State) bool { return st.EmbassyContacted })
	s.update(id, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "Partenariat solide"})
	time.Sleep(3 * time.Second) // past both the reminder and the deadline
	s.update(id, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "Mission reportée"})
	s.finish(run, lifecycle.StatusWithdrawn)

	tl, err := audit.History(ctxFor(t), s.c, nil, s.st, id)
	if err != nil {
		t.Fatal(err)
	}
	var cancelled []string
	for _, e := range tl.Entries {
		name, _ := e.Details["timer"].(string)
		switch e.Step {
		case audit.StepTimerFired:
			if name == lifecycle.TimerEmbassyReminder || name == lifecycle.TimerEmbassyDeadline {
				t.Errorf("timeline says %q fired although the embassy answered in time: %+v", name, e)
			}
		case audit.StepTimerCanceled:
			cancelled = append(cancelled, name)
		}
		if ev, _ := e.Details["event"].(string); ev == lifecycle.EventEmbassyReminded || ev == lifecycle.EventOpinionDeemedGiven {
			t.Errorf("timeline has %s although the embassy answered in time", ev)
		}
	}
	if !slices.Contains(cancelled, lifecycle.TimerEmbassyReminder) {
		t.Errorf("cancelled timers %q, want the embassy reminder among them\n%s", cancelled, dump(tl))
	}
	if r := s.verify(id); !r.OK {
		t.Errorf("Verify: %+v", r.Problems)
	}
}

// TestTimelineFollowsTheRunChain: a review long enough for Temporal to
// suggest continuing as new (here after 60 events) goes on in a new run;
// the timeline and verify read every run, oldest first.
func TestTimelineFollowsTheRunChain(t *testing.T) {
	s := newStackOn(t, testenv.OwnTemporal(t, "limit.historyCount.suggestContinueAsNew=60"))
	r := testRules()
	r.Timers.DecisionReminder = rules.Duration(500 * time.Millisecond)
	id, run := s.start(r)
	s.waitConsulted(id)
	s.update(id, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "ok"})
	deadline := time.Now().Add(time.Minute)
	for {
		d, err := s.c.DescribeWorkflow(ctxFor(t), id, "")
		if err != nil {
			t.Fatal(err)
		}
		if d.WorkflowExecution.RunID != run.GetRunID() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the review never continued as new")
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.update(id, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "Mission reportée"})
	s.finish(run, lifecycle.StatusWithdrawn)

	tl, err := audit.History(ctxFor(t), s.c, nil, s.st, id)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := find(t, tl, "the submission", func(e audit.Entry) bool {
		return e.Step == audit.StepTransitionScheduled && e.Details["event"] == lifecycle.EventSubmitted
	})
	chained, _ := find(t, tl, "the new run", func(e audit.Entry) bool { return e.Step == audit.StepWorkflowContinuedAsNew })
	last, _ := find(t, tl, "the withdrawal", acceptedUpdate(lifecycle.UpdateWithdraw))
	if first > chained || chained > last {
		t.Errorf("submission at %d, new run at %d, withdrawal at %d: want the runs in order\n%s", first, chained, last, dump(tl))
	}
	if rep := s.verify(id); !rep.OK {
		t.Errorf("Verify across runs: %+v", rep.Problems)
	}
}
