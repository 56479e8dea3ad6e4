package workflows_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/daect/expectct/activities"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/worker"
	"github.com/daect/expectct/workflows"
)

var (
	applicant  = lifecycle.Actor{ID: "claire.martin", Role: lifecycle.RoleApplicant, SIREN: "214401093"}
	otherTown  = lifecycle.Actor{ID: "x", Role: lifecycle.RoleApplicant, SIREN: "217500016"}
	embassySN  = lifecycle.Actor{ID: "scac.dakar", Role: lifecycle.RoleEmbassy, Countries: []string{"SN"}}
	embassyBR  = lifecycle.Actor{ID: "scac.brasilia", Role: lifecycle.RoleEmbassy, Countries: []string{"BR"}}
	instructor = lifecycle.Actor{ID: "instructor.one", Role: lifecycle.RoleInstructor}
	decider    = lifecycle.Actor{ID: "decider.one", Role: lifecycle.RoleDecider}
	auditor    = lifecycle.Actor{ID: "auditor.one", Role: lifecycle.RoleAuditor}
	// A decider account that also instructed: the four-eyes rule refuses it.
	instructorAsDecider = lifecycle.Actor{ID: "instructor.one", Role: lifecycle.RoleDecider}
)

func exampleDossier(t testing.TB) dossier.Dossier {
	t.Helper()
	f, err := os.Open("../examples/dossier.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := dossier.Decode(f, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testRules are the default rules with short timers, so the same scenarios
// read naturally with time skipping.
func testRules() rules.Rules {
	r := rules.Default()
	r.Version = "test"
	return r
}

// harness runs one application in the test environment with the activities
// mocked, recording every transition the workflow asks to persist.
type harness struct {
	t      *testing.T
	env    *testsuite.TestWorkflowEnvironment
	events []lifecycle.Transition
	// embassyFound answers LookupEmbassy, one value per call (last repeats).
	embassyFound []bool
	// whileRecording, when set, runs inside RecordTransition before it
	// returns: the transition is in flight while it runs.
	whileRecording func(lifecycle.Transition)
	// secondPhase keeps an approved application going; without it the
	// applicant renounces on day 60, so first-phase scenarios end there.
	secondPhase bool
}

func newHarness(t *testing.T) *harness {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), embassyFound: []bool{true}}
	worker.Register(h.env)
	h.env.RegisterActivity(&activities.Activities{})
	h.env.OnActivity("RecordTransition", mock.Anything, mock.Anything).Return(
		func(_ context.Context, tr lifecycle.Transition) error {
			if h.whileRecording != nil {
				h.whileRecording(tr)
			}
			h.events = append(h.events, tr)
			return nil
		})
	h.env.OnActivity("LookupEmbassy", mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ string) (bool, error) {
			found := h.embassyFound[0]
			if len(h.embassyFound) > 1 {
				h.embassyFound = h.embassyFound[1:]
			}
			return found, nil
		})
	return h
}

// result of one update sent by the harness.
type result struct {
	rejected error
	err      error
	done     bool
}

// update sends an update after the delay and returns where its outcome lands.
func (h *harness) update(after time.Duration, name string, arg any) *result {
	r := &result{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { r.rejected = err; r.done = true },
			OnComplete: func(_ any, err error) { r.err = err; r.done = true },
		}, arg)
	}, after)
	return r
}

// updateNow sends an update from inside an activity (the workflow is then
// between two tasks) and waits until the workflow accepts or rejects it.
func (h *harness) updateNow(name string, arg any) *result {
	r := &result{}
	decided := make(chan struct{})
	h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept:   func() { close(decided) },
		OnReject:   func(err error) { r.rejected = err; r.done = true; close(decided) },
		OnComplete: func(_ any, err error) { r.err = err; r.done = true },
	}, arg)
	select {
	case <-decided:
	case <-time.After(10 * time.Second):
		h.t.Errorf("update %s neither accepted nor rejected while a transition was being recorded", name)
	}
	return r
}

// signal sends a signal after the delay.
func (h *harness) signal(after time.Duration, name string) {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(name, nil) }, after)
}

// renounceDay is when first-phase scenarios end an approved application.
const renounceDay = 60

func (h *harness) run(d dossier.Dossier) lifecycle.State {
	if !h.secondPhase {
		h.update(renounceDay*day, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: applicant, Reason: "Fin du scénario"})
	}
	h.env.ExecuteWorkflow(workflows.WorkflowName, lifecycle.StartInput{
		ApplicationID: "EXP-TEST", Submitter: applicant, Dossier: d, Rules: testRules(),
	})
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var res lifecycle.StepResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	// The final state, as the status query answers it; the result is its
	// last transition's number and status.
	v, err := h.env.QueryWorkflow(lifecycle.QueryStatus)
	if err != nil {
		h.t.Fatal(err)
	}
	var st lifecycle.State
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	if res.Status != st.Status || res.Seq != len(h.events) {
		h.t.Fatalf("workflow result %+v; final status %s after %d transitions", res, st.Status, len(h.events))
	}
	return st
}

func (h *harness) eventNames() []string {
	var names []string
	for i, e := range h.events {
		if e.Seq != i+1 {
			h.t.Errorf("transition %d has seq %d", i+1, e.Seq)
		}
		names = append(names, e.Event)
	}
	return names
}

func accepted(t *testing.T, r *result) {
	t.Helper()
	if !r.done || r.rejected != nil || r.err != nil {
		t.Fatalf("update not accepted: done=%v rejected=%v err=%v", r.done, r.rejected, r.err)
	}
}

var day = 24 * time.Hour

func TestApprovedPath(t *testing.T) {
	h := newHarness(t)
	d := exampleDossier(t)
	accepted := []*result{
		h.update(time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "Partenariat solide"}),
		h.update(2*day, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "approve", Amount: dossier.Euros(3000), Comment: "Dossier complet"}),
		h.update(3*day, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "approve", Amount: dossier.Euros(3000)}),
	}
	st := h.run(d)
	for _, r := range accepted {
		if r.rejected != nil || r.err != nil {
			t.Fatalf("update refused: %v %v", r.rejected, r.err)
		}
	}
	if st.Decision.Value != lifecycle.DecisionApprove || st.Decision.Amount != dossier.Euros(3000) {
		t.Fatalf("state = %s %+v", st.Status, st.Decision)
	}
	want := []string{"submitted", "embassy_consulted", "opinion_given", "recommended", "approved", "renounced"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	last := h.events[4]
	if last.State == nil || last.State.Status != lifecycle.StatusApproved || last.State.Decision == nil {
		t.Fatalf("the approval's snapshot = %+v", last.State)
	}
	if st.Opinion.Value != "favorable" || st.Recommendation.Actor.ID != instructor.ID {
		t.Fatalf("state misses the opinion or recommendation: %+v", st)
	}
}

func TestRejectedPath(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "unfavorable", Comment: "Contexte local difficile"})
	h.update(2*day, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "reject", Comment: "Objectifs flous"})
	h.update(3*day, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "reject", Motivation: "Objectifs insuffisamment définis"})
	st := h.run(exampleDossier(t))
	if st.Status != lifecycle.StatusRejected || st.Decision.Motivation != "Objectifs insuffisamment définis" {
		t.Fatalf("state = %s %+v", st.Status, st.Decision)
	}
	if h.events[len(h.events)-1].Details.Motivation == "" {
		t.Fatal("the refusal's motivation must reach the journal and the letter")
	}
}

func TestEmbassyDeadlinePassesWithoutOpinion(t *testing.T) {
	h := newHarness(t)
	// Nothing from the embassy; DAECT decides after the deadline.
	late := h.update(16*day, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "trop tard"})
	h.update(17*day, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "approve", Amount: dossier.Euros(2000), Comment: "ok"})
	h.update(18*day, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "approve", Amount: dossier.Euros(2000)})
	st := h.run(exampleDossier(t))
	want := []string{"submitted", "embassy_consulted", "embassy_reminded", "opinion_deemed_given", "recommended", "approved", "renounced"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if st.Opinion.Value != lifecycle.OpinionNotGiven {
		t.Fatalf("opinion = %+v", st.Opinion)
	}
	if !isType(late.rejected, lifecycle.ErrInvalidState) {
		t.Fatalf("a late opinion must be refused as out of state, got %v", late.rejected)
	}
	reminded := h.events[2].At.Sub(h.events[1].At)
	deemed := h.events[3].At.Sub(h.events[1].At)
	if reminded != 7*day || deemed != 15*day {
		t.Fatalf("reminder after %v and deadline after %v, want 7 and 15 days", reminded, deemed)
	}
}

func TestComplementsNeverSentClosesWithoutAction(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "reserved", Comment: "À préciser"})
	h.update(2*day, lifecycle.UpdateRequestComplements, lifecycle.RequestComplementsInput{Actor: instructor, Message: "Merci de détailler le budget"})
	st := h.run(exampleDossier(t))
	want := []string{"submitted", "embassy_consulted", "opinion_given", "complements_requested", "complements_expired"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if st.Status != lifecycle.StatusClosedWithoutAction {
		t.Fatalf("status = %s", st.Status)
	}
	if gap := h.events[4].At.Sub(h.events[3].At); gap != 30*day {
		t.Fatalf("closed %v after the request, want 30 days", gap)
	}
}

func TestComplementsAnsweredPausesTheInstructionClock(t *testing.T) {
	h := newHarness(t)
	d := exampleDossier(t)
	amended := d
	amended.Mission.Objectives = d.Mission.Objectives + " Budget détaillé en annexe."
	h.update(time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "ok"})
	h.update(10*day, lifecycle.UpdateRequestComplements, lifecycle.RequestComplementsInput{Actor: instructor, Message: "Détaillez les objectifs"})
	bad := amended
	bad.Agents = nil
	refused := h.update(20*day, lifecycle.UpdateComplements, lifecycle.ComplementsInput{Actor: applicant, Dossier: bad})
	h.update(30*day, lifecycle.UpdateComplements, lifecycle.ComplementsInput{Actor: applicant, Dossier: amended, Comment: "Voici"})
	h.update(33*day, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "approve", Amount: dossier.Euros(3500), Comment: "ok"})
	h.update(34*day, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "approve", Amount: dossier.Euros(3500)})
	st := h.run(d)
	if !isType(refused.rejected, lifecycle.ErrInvalidInput) {
		t.Fatalf("an invalid amended dossier must be refused, got %v", refused.rejected)
	}
	// 14 days of instruction clock: 10 before the request, 3 after the
	// complements, 1 awaiting decision — under 14 once the 20 paused days
	// are left out, so no reminder.
	want := []string{"submitted", "embassy_consulted", "opinion_given", "complements_requested", "complements_received", "recommended", "approved", "renounced"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	// The amended dossier is recorded with its transition (the read model
	// takes it from there) and replaces the original in the workflow.
	if d := h.events[4].Details.Dossier; d == nil || d.Mission.Objectives != amended.Mission.Objectives {
		t.Fatal("the amended dossier must be recorded with complements_received")
	}
	if st.Dossier.Mission.Objectives != amended.Mission.Objectives {
		t.Error("the workflow's state must hold the amended dossier")
	}
}

func TestDecisionReminderWhenDAECTWaits(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "ok"})
	h.update(20*day, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "Mission reportée"})
	st := h.run(exampleDossier(t))
	want := []string{"submitted", "embassy_consulted", "opinion_given", "decision_reminded", "withdrawn"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if st.Status != lifecycle.StatusWithdrawn || st.WithdrawalReason != "Mission reportée" {
		t.Fatalf("state = %s %q", st.Status, st.WithdrawalReason)
	}
}

func TestRecommendationKeepsTheInstructionClockRunning(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "ok"})
	h.update(10*day, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "approve", Amount: dossier.Euros(3000), Comment: "ok"})
	h.update(20*day, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "Mission reportée"})
	h.run(exampleDossier(t))
	want := []string{"submitted", "embassy_consulted", "opinion_given", "recommended", "decision_reminded", "withdrawn"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if gap := h.events[4].At.Sub(h.events[2].At); gap != testRules().Timers.DecisionReminder.D() {
		t.Fatalf("reminded %v after the opinion, want the instruction clock's %v", gap, testRules().Timers.DecisionReminder.D())
	}
}

func TestWithdrawnDuringConsultation(t *testing.T) {
	h := newHarness(t)
	h.update(2*day, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "Changement de calendrier"})
	st := h.run(exampleDossier(t))
	want := []string{"submitted", "embassy_consulted", "withdrawn"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if st.Status != lifecycle.StatusWithdrawn {
		t.Fatalf("status = %s", st.Status)
	}
}

func TestMissingEmbassyContactWaitsForTheDirectory(t *testing.T) {
	h := newHarness(t)
	// Missing at first, still missing after the notice; set when signalled.
	h.embassyFound = []bool{false, false, true}
	h.signal(3*day, lifecycle.SignalEmbassyContactSet)
	h.update(5*day, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "fin"})
	h.run(exampleDossier(t))
	want := []string{"submitted", "embassy_contact_missing", "embassy_consulted", "withdrawn"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if gap := h.events[2].At.Sub(h.events[1].At); gap != 3*day {
		t.Fatalf("consulted %v after the notice, want 3 days, when the directory signalled", gap)
	}
}

func TestWithdrawnWhileTheEmbassyContactIsMissing(t *testing.T) {
	h := newHarness(t)
	h.embassyFound = []bool{false}
	h.update(2*day, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "fin"})
	st := h.run(exampleDossier(t))
	want := []string{"submitted", "embassy_contact_missing", "withdrawn"}
	if got := h.eventNames(); !slices.Equal(got, want) || st.Status != lifecycle.StatusWithdrawn {
		t.Fatalf("transitions %v (status %s), want %v: nothing after the withdrawal", got, st.Status, want)
	}
}

// TestStepsAcceptedWhileARecordIsInFlight accepts three steps while the
// opinion's transition is still being recorded: the journal, the snapshots
// for the read model and the final state follow the order of acceptance.
func TestStepsAcceptedWhileARecordIsInFlight(t *testing.T) {
	h := newHarness(t)
	d := exampleDossier(t)
	var steps []*result
	h.whileRecording = func(tr lifecycle.Transition) {
		if tr.Event != lifecycle.EventOpinionGiven {
			return
		}
		steps = append(steps,
			h.updateNow(lifecycle.UpdateRequestComplements, lifecycle.RequestComplementsInput{Actor: instructor, Message: "Précisez le budget"}),
			h.updateNow(lifecycle.UpdateComplements, lifecycle.ComplementsInput{Actor: applicant, Dossier: d, Comment: "Voici"}),
			h.updateNow(lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "Mission annulée"}))
	}
	h.update(time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "ok"})
	st := h.run(d)
	if len(steps) != 3 {
		t.Fatalf("%d steps sent while recording, want 3", len(steps))
	}
	for _, s := range steps {
		accepted(t, s)
	}
	want := []string{"submitted", "embassy_consulted", "opinion_given", "complements_requested", "complements_received", "withdrawn"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("journal order %v, want acceptance order %v", got, want)
	}
	wantStatus := []lifecycle.Status{lifecycle.StatusSubmitted, lifecycle.StatusEmbassyConsultation, lifecycle.StatusUnderReview,
		lifecycle.StatusAwaitingComplements, lifecycle.StatusUnderReview, lifecycle.StatusWithdrawn}
	for i, tr := range h.events {
		// The snapshot leaves the steps to the read model, which appends
		// each transition.
		if tr.Status != wantStatus[i] || tr.State == nil || tr.State.Status != wantStatus[i] || tr.State.Steps != nil {
			t.Errorf("transition %d (%s): status %s, snapshot %+v; want %s without steps", tr.Seq, tr.Event, tr.Status, tr.State, wantStatus[i])
		}
	}
	if st.Status != lifecycle.StatusWithdrawn {
		t.Fatalf("final status %s, want withdrawn", st.Status)
	}
}

// TestFourEyesCountsARecommendationStillBeingRecorded: the instructor's own
// decider account is refused while the recommendation is still in flight.
func TestFourEyesCountsARecommendationStillBeingRecorded(t *testing.T) {
	h := newHarness(t)
	var early *result
	h.whileRecording = func(tr lifecycle.Transition) {
		if tr.Event == lifecycle.EventRecommended {
			early = h.updateNow(lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: instructorAsDecider, Decision: "approve", Amount: dossier.Euros(3000)})
		}
	}
	h.update(time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "ok"})
	h.update(2*day, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "approve", Amount: dossier.Euros(3000), Comment: "ok"})
	h.update(3*day, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "approve", Amount: dossier.Euros(3000)})
	st := h.run(exampleDossier(t))
	if early == nil || !isType(early.rejected, lifecycle.ErrForbidden) || !strings.Contains(early.rejected.Error(), "four-eyes") {
		t.Fatalf("decision by the recommending instructor while the recommendation is recorded: %+v, want a four-eyes refusal", early)
	}
	if st.Decision == nil || st.Decision.Actor.ID != decider.ID {
		t.Fatalf("decision = %+v, want the other decider's", st.Decision)
	}
}

func isType(err error, typ string) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == typ
}

// TestUpdateRefusals sends, at the right moment, every kind of refusal of
// every update and checks the validator's verdict. Refused updates never
// reach the history, so the transitions stay those of the accepted steps.
func TestUpdateRefusals(t *testing.T) {
	d := exampleDossier(t)
	type attempt struct {
		name     string
		at       time.Duration
		update   string
		arg      any
		wantType string
		wantText string
	}
	attempts := []attempt{
		// Embassy consultation (from t=0 until the opinion at 1 day).
		{"opinion by an applicant", time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: applicant, Opinion: "favorable", Comment: "c"}, lifecycle.ErrForbidden, "may not"},
		{"opinion by another country's embassy", time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassyBR, Opinion: "favorable", Comment: "c"}, lifecycle.ErrForbidden, "does not act"},
		{"opinion with an unknown value", time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "maybe", Comment: "c"}, lifecycle.ErrInvalidInput, "opinion"},
		{"opinion without comment", time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable"}, lifecycle.ErrInvalidInput, "comment"},
		{"recommendation before the opinion", time.Hour, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "reject", Comment: "c"}, lifecycle.ErrInvalidState, "embassy_consultation"},
		{"decision before review", time.Hour, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "reject", Motivation: "m"}, lifecycle.ErrInvalidState, "not allowed"},
		{"complements never requested", time.Hour, lifecycle.UpdateComplements, lifecycle.ComplementsInput{Actor: applicant, Dossier: d}, lifecycle.ErrInvalidState, "not allowed"},
		{"request for complements by the embassy", time.Hour, lifecycle.UpdateRequestComplements, lifecycle.RequestComplementsInput{Actor: embassySN, Message: "m"}, lifecycle.ErrForbidden, "may not"},
		{"withdrawal by another collectivité", time.Hour, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: otherTown, Reason: "r"}, lifecycle.ErrForbidden, "does not act"},
		{"withdrawal by an auditor", time.Hour, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: auditor, Reason: "r"}, lifecycle.ErrForbidden, "may not"},
		{"withdrawal without reason", time.Hour, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant}, lifecycle.ErrInvalidInput, "reason"},
		// Review (opinion at 1 day, complements requested at 2 days).
		{"second opinion", 36 * time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "c"}, lifecycle.ErrInvalidState, "under_review"},
		{"request for complements without message", 36 * time.Hour, lifecycle.UpdateRequestComplements, lifecycle.RequestComplementsInput{Actor: instructor}, lifecycle.ErrInvalidInput, "message"},
		{"recommendation by a decider", 36 * time.Hour, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: decider, Recommendation: "reject", Comment: "c"}, lifecycle.ErrForbidden, "may not"},
		// Awaiting complements (2 to 3 days).
		{"complements by another collectivité", 60 * time.Hour, lifecycle.UpdateComplements, lifecycle.ComplementsInput{Actor: otherTown, Dossier: d}, lifecycle.ErrForbidden, "does not act"},
		{"complements changing the country", 60 * time.Hour, lifecycle.UpdateComplements, lifecycle.ComplementsInput{Actor: applicant, Dossier: withCountry(d, "BJ")}, lifecycle.ErrInvalidInput, "partner.country"},
		{"recommendation while complements are awaited", 60 * time.Hour, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "reject", Comment: "c"}, lifecycle.ErrInvalidState, "awaiting_complements"},
		// Under review again (complements at 3 days, recommendation at 4 days).
		{"recommendation above the request", 84 * time.Hour, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "approve", Amount: dossier.Euros(3600), Comment: "c"}, lifecycle.ErrInvalidInput, "max_requested"},
		{"approval recommended without amount", 84 * time.Hour, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "approve", Comment: "c"}, lifecycle.ErrInvalidInput, "amount"},
		// Awaiting decision (from 4 days; decision at 5 days).
		{"decision by the instructor's own decider account (four-eyes)", 108 * time.Hour, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: instructorAsDecider, Decision: "approve", Amount: dossier.Euros(100)}, lifecycle.ErrForbidden, "four-eyes"},
		{"decision by the instructor's ID in other case (four-eyes)", 108 * time.Hour, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: lifecycle.Actor{ID: "Instructor.One", Role: lifecycle.RoleDecider}, Decision: "approve", Amount: dossier.Euros(100)}, lifecycle.ErrForbidden, "four-eyes"},
		{"decision by the instructor's ID with a trailing space (four-eyes)", 108 * time.Hour, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: lifecycle.Actor{ID: "instructor.one ", Role: lifecycle.RoleDecider}, Decision: "approve", Amount: dossier.Euros(100)}, lifecycle.ErrForbidden, "four-eyes"},
		{"decision by an instructor", 108 * time.Hour, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: instructor, Decision: "approve", Amount: dossier.Euros(100)}, lifecycle.ErrForbidden, "may not"},
		{"refusal without motivation", 108 * time.Hour, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "reject"}, lifecycle.ErrInvalidInput, "motivation"},
		{"grant above the request", 108 * time.Hour, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "approve", Amount: dossier.Euros(4000)}, lifecycle.ErrInvalidInput, "max_requested"},
		{"grant of zero", 108 * time.Hour, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "approve", Amount: dossier.Money(0)}, lifecycle.ErrInvalidInput, "amount"},
	}
	h := newHarness(t)
	results := make([]*result, len(attempts))
	for i, a := range attempts {
		results[i] = h.update(a.at, a.update, a.arg)
	}
	steps := []*result{
		h.update(day, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "ok"}),
		h.update(2*day, lifecycle.UpdateRequestComplements, lifecycle.RequestComplementsInput{Actor: instructor, Message: "Précisez"}),
		h.update(3*day, lifecycle.UpdateComplements, lifecycle.ComplementsInput{Actor: applicant, Dossier: d}),
		h.update(4*day, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "approve", Amount: dossier.Euros(3500), Comment: "ok"}),
		h.update(5*day, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "approve", Amount: dossier.Euros(3500)}),
	}
	h.run(d)
	for _, s := range steps {
		accepted(t, s)
	}
	for i, a := range attempts {
		r := results[i]
		t.Run(a.name, func(t *testing.T) {
			if r.rejected == nil {
				t.Fatalf("accepted, want refused (%s)", a.wantType)
			}
			if !isType(r.rejected, a.wantType) {
				t.Fatalf("refused with %v, want type %s", r.rejected, a.wantType)
			}
			if !strings.Contains(r.rejected.Error(), a.wantText) {
				t.Fatalf("refusal %q does not say %q", r.rejected.Error(), a.wantText)
			}
		})
	}
	want := []string{"submitted", "embassy_consulted", "opinion_given", "complements_requested", "complements_received", "recommended", "approved", "renounced"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("refused updates reached the transitions: %v", got)
	}
}

func withCountry(d dossier.Dossier, cc string) dossier.Dossier {
	d.Partner.Country = cc
	return d
}

// TestLongReviewContinuesAsNew: when Temporal suggests it, a review that
// waits continues as a new run; the new run takes the state over and its
// transitions carry on the same sequence.
func TestLongReviewContinuesAsNew(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "ok"})
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 2*day)
	h.env.ExecuteWorkflow(workflows.WorkflowName, lifecycle.StartInput{
		ApplicationID: "EXP-TEST", Submitter: applicant, Dossier: exampleDossier(t), Rules: testRules(),
	})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want to continue as new", err)
	}
	var next lifecycle.StartInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	want := []string{"submitted", "embassy_consulted", "opinion_given", "decision_reminded"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("first run recorded %v, want %v", got, want)
	}
	if next.Resume == nil || next.Resume.Seq != 4 || next.Resume.State.Status != lifecycle.StatusUnderReview ||
		next.Resume.DecisionClock != testRules().Timers.DecisionReminder.D() {
		t.Fatalf("continued with %+v", next.Resume)
	}

	h2 := newHarness(t)
	h2.update(time.Hour, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "approve", Amount: dossier.Euros(3000), Comment: "ok"})
	h2.update(2*time.Hour, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: instructorAsDecider, Decision: "approve", Amount: dossier.Euros(3000)})
	h2.update(3*time.Hour, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "approve", Amount: dossier.Euros(3000)})
	h2.update(4*time.Hour, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: applicant, Reason: "fin"})
	h2.env.ExecuteWorkflow(workflows.WorkflowName, next)
	if err := h2.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	v, err := h2.env.QueryWorkflow(lifecycle.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var st lifecycle.State
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	if len(h2.events) != 3 || h2.events[0].Seq != 5 || h2.events[0].Event != "recommended" || h2.events[1].Seq != 6 {
		t.Fatalf("second run recorded %+v, want recommended (5), approved (6) and renounced (7)", h2.events)
	}
	if st.Decision == nil || st.Decision.Actor.ID != decider.ID {
		t.Fatalf("decision %+v: the four-eyes rule must see the first run's steps", st.Decision)
	}
	if st.Status != lifecycle.StatusRenounced || len(st.Steps) != 7 || st.Opinion == nil {
		t.Fatalf("final state %s with %d steps, opinion %+v", st.Status, len(st.Steps), st.Opinion)
	}
}
