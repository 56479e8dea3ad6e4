// Package workflows holds the durable life of one EXPE-CT application:
// submission, embassy consultation, DAECT review and the funding decision.
// Human steps arrive as Temporal Updates whose validators refuse a wrong role,
// scope, state or payload before anything enters the history.
package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/daect/expectct/activities"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/rules"
)

// WorkflowName is the registered name of the application workflow.
const WorkflowName = "Application"

// Search attributes: status and destination country only, never personal data.
var (
	StatusKey  = temporal.NewSearchAttributeKeyKeyword("ExpectctStatus")
	CountryKey = temporal.NewSearchAttributeKeyKeyword("ExpectctCountry")
)

// application is the workflow's memory of one application.
type application struct {
	st lifecycle.State
	// seq is the number of the last transition sequenced; recordedSeq the
	// last one the database holds. Transitions in between wait in pending,
	// in sequence order, for the recorder.
	seq         int
	recordedSeq int
	pending     []lifecycle.Transition
	// contactSignals counts the directory's "contact set" signals.
	contactSignals int
	// reportClock counts the moves of the report's due date, so a waiting
	// timer gives way to the new date.
	reportClock int
	prog        rules.Rules
	acts        *activities.Activities
}

// Application is the workflow of one application, from submission to
// decision. A long review continues as a new run when Temporal suggests it;
// the new run takes the state over (in.Resume) and goes on reviewing. Its
// result is its last transition's number and status; the read model holds
// the final state.
func Application(ctx workflow.Context, in lifecycle.StartInput) (lifecycle.StepResult, error) {
	a := &application{prog: in.Rules}
	clock := in.Rules.Timers.DecisionReminder.D()
	if in.Resume != nil {
		a.st = in.Resume.State
		a.seq, a.recordedSeq = in.Resume.Seq, in.Resume.Seq
		clock = in.Resume.DecisionClock
	} else {
		a.st = lifecycle.State{
			ApplicationID: in.ApplicationID,
			Status:        lifecycle.StatusSubmitted,
			RulesVersion:  in.Rules.Version,
			Flags:         in.Flags,
			Dossier:       in.Dossier,
			SubmittedAt:   workflow.Now(ctx).UTC(),
			Submitter:     in.Submitter,
			Steps:         []lifecycle.Step{},
		}
		// The submission takes sequence number 1 before anything can
		// yield, so no human step can come before it in the journal.
		a.sequence(ctx, lifecycle.EventSubmitted, in.Submitter,
			lifecycle.Details{RulesVersion: in.Rules.Version, Flags: in.Flags, Dossier: &in.Dossier})
	}
	if err := a.registerHandlers(ctx); err != nil {
		return lifecycle.StepResult{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	workflow.Go(ctx, a.recorder)
	workflow.Go(ctx, a.receiveContactSignals)

	if in.Resume == nil {
		if err := a.consultEmbassy(ctx); err != nil {
			return lifecycle.StepResult{}, err
		}
	}
	if err := a.review(ctx, clock); err != nil {
		return lifecycle.StepResult{}, err
	}
	if err := a.followUp(ctx); err != nil {
		return lifecycle.StepResult{}, err
	}
	if err := a.settle(ctx); err != nil {
		return lifecycle.StepResult{}, err
	}
	a.st.Deadlines = nil
	return lifecycle.StepResult{Seq: a.seq, Status: a.st.Status}, nil
}

// settle waits until every sequenced transition is recorded and every
// update answered.
func (a *application) settle(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool {
		return a.recordedSeq == a.seq && workflow.AllHandlersFinished(ctx)
	})
}

// continueAsNew ends this run and starts the next with the application as
// it stands, once everything sequenced is recorded; the audit timeline
// follows the chain of runs.
func (a *application) continueAsNew(ctx workflow.Context, clock time.Duration) error {
	if err := a.settle(ctx); err != nil || a.closed() {
		return err // a step that came meanwhile closed it: this run ends it
	}
	return workflow.NewContinueAsNewError(ctx, WorkflowName, lifecycle.StartInput{
		ApplicationID: a.st.ApplicationID,
		Submitter:     a.st.Submitter,
		Rules:         a.prog,
		Flags:         a.st.Flags,
		Resume:        &lifecycle.Resume{State: a.st, Seq: a.seq, DecisionClock: clock},
	})
}

// consultEmbassy asks the embassy for its avis, reminds it, and moves on
// without one when the deadline passes.
func (a *application) consultEmbassy(ctx workflow.Context) error {
	if a.closed() {
		return nil
	}
	a.st.Status = lifecycle.StatusEmbassyConsultation
	if err := a.awaitEmbassyContact(ctx); err != nil || a.closed() {
		return err
	}

	consulted := workflow.Now(ctx).UTC()
	deadline := consulted.Add(a.prog.Timers.EmbassyDeadline.D())
	a.st.EmbassyContacted = true
	a.setDeadline(lifecycle.Deadline{Name: "embassy_opinion", Due: deadline})
	a.sequence(ctx, lifecycle.EventEmbassyConsulted, lifecycle.System,
		lifecycle.Details{Deadline: &deadline, Flags: a.st.Flags})
	answered := func() bool { return a.st.Status != lifecycle.StatusEmbassyConsultation }
	ok, err := awaitOrTimer(ctx, lifecycle.TimerEmbassyReminder, a.prog.Timers.EmbassyReminder.D(), answered)
	if err != nil || ok {
		return err
	}
	a.sequence(ctx, lifecycle.EventEmbassyReminded, lifecycle.System, lifecycle.Details{Deadline: &deadline})
	ok, err = awaitOrTimer(ctx, lifecycle.TimerEmbassyDeadline, deadline.Sub(workflow.Now(ctx)), answered)
	if err != nil || ok {
		return err
	}
	// Avis réputé rendu: the application moves on and DAECT is told.
	a.st.Opinion = &lifecycle.Opinion{Value: lifecycle.OpinionNotGiven, Actor: lifecycle.System, At: workflow.Now(ctx).UTC()}
	a.st.Status = lifecycle.StatusUnderReview
	a.clearDeadline("embassy_opinion")
	a.sequence(ctx, lifecycle.EventOpinionDeemedGiven, lifecycle.System,
		lifecycle.Details{Opinion: lifecycle.OpinionNotGiven})
	return nil
}

// awaitEmbassyContact returns once the directory has a contact for the
// destination, or the application is closed. Without a contact DAECT is told
// once, then the workflow sleeps until the API signals that an admin set one:
// waiting costs no history events, however long it lasts.
func (a *application) awaitEmbassyContact(ctx workflow.Context) error {
	found, err := a.lookupEmbassy(ctx)
	if err != nil || found || a.closed() {
		return err
	}
	a.sequence(ctx, lifecycle.EventEmbassyContactMissing, lifecycle.System, lifecycle.Details{})
	for {
		// Look again after each signal, and once after the notice is
		// recorded: a contact set before the API could see this application
		// waiting sent no signal.
		seen := a.contactSignals
		if err := a.awaitRecorded(ctx, a.seq); err != nil {
			return err
		}
		if found, err = a.lookupEmbassy(ctx); err != nil || found || a.closed() {
			return err
		}
		if err := workflow.Await(ctx, func() bool { return a.contactSignals > seen || a.closed() }); err != nil {
			return err
		}
		if a.closed() {
			return nil
		}
	}
}

func (a *application) receiveContactSignals(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, lifecycle.SignalEmbassyContactSet)
	for ch.Receive(ctx, nil) {
		a.contactSignals++
	}
}

// review waits for DAECT's instruction and decision. The instruction clock,
// which reminds DAECT when a decision waits too long, pauses while the
// applicant is asked for complements. Reminders add history for as long as
// DAECT waits, so the loop continues as new when Temporal suggests it.
func (a *application) review(ctx workflow.Context, clock time.Duration) error {
	for !a.st.Status.Decided() {
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return a.continueAsNew(ctx, clock)
		}
		current := a.st.Status
		changed := func() bool { return a.st.Status != current }
		switch current {
		case lifecycle.StatusAwaitingComplements:
			due := workflow.Now(ctx).UTC().Add(a.prog.Timers.ComplementsDeadline.D())
			if a.st.ComplementsDue != nil {
				due = *a.st.ComplementsDue
			}
			ok, err := awaitOrTimer(ctx, lifecycle.TimerComplementsDeadline, due.Sub(workflow.Now(ctx)), changed)
			if err != nil {
				return err
			}
			if !ok {
				a.st.Status = lifecycle.StatusClosedWithoutAction
				a.st.Deadlines = nil
				a.sequence(ctx, lifecycle.EventComplementsExpired, lifecycle.System, lifecycle.Details{})
			}
		case lifecycle.StatusUnderReview, lifecycle.StatusAwaitingDecision:
			// One timer covers both: the recommendation moves the
			// application on without touching the instruction clock.
			reviewed := func() bool {
				return a.st.Status != lifecycle.StatusUnderReview && a.st.Status != lifecycle.StatusAwaitingDecision
			}
			start := workflow.Now(ctx)
			a.setDeadline(lifecycle.Deadline{Name: "decision_reminder", Due: start.UTC().Add(clock)})
			ok, err := awaitOrTimer(ctx, lifecycle.TimerDecisionReminder, clock, reviewed)
			if err != nil {
				return err
			}
			clock -= workflow.Now(ctx).Sub(start)
			if !ok {
				clock = a.prog.Timers.DecisionReminder.D()
				a.clearDeadline("decision_reminder")
				a.sequence(ctx, lifecycle.EventDecisionReminded, lifecycle.System, lifecycle.Details{})
			}
		default:
			if err := workflow.Await(ctx, changed); err != nil {
				return err
			}
		}
	}
	return nil
}

// awaitOrTimer waits until cond holds or the named timer fires, and tells
// whether cond won. The timer is cancelled when cond wins, so it never fires
// later to wake the workflow or mislead an auditor.
func awaitOrTimer(ctx workflow.Context, name string, d time.Duration, cond func() bool) (bool, error) {
	if cond() {
		return true, nil
	}
	if d <= 0 {
		return false, nil
	}
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimerWithOptions(timerCtx, d, workflow.TimerOptions{Summary: name})
	if err := workflow.Await(ctx, func() bool { return cond() || timer.IsReady() }); err != nil {
		return false, err
	}
	if cond() {
		return true, nil
	}
	return false, timer.Get(ctx, nil)
}

// closed tells whether a human step ended the application.
func (a *application) closed() bool { return a.st.Status.Terminal() }

func (a *application) lookupEmbassy(ctx workflow.Context) (bool, error) {
	var found bool
	err := workflow.ExecuteActivity(ctx, a.acts.LookupEmbassy, a.st.Country()).Get(ctx, &found)
	return found, err
}

// sequence gives the transition the state has just gone through its place in
// the order of events: number, step, snapshot and search attributes, all
// taken now, with no yield in between, so journal order is acceptance order
// whatever the order in which waiting coroutines later wake. The recorder
// persists it; awaitRecorded waits for that. Nothing follows a terminal
// transition.
func (a *application) sequence(ctx workflow.Context, event string, actor lifecycle.Actor, details lifecycle.Details) int {
	if n := len(a.st.Steps); n > 0 && a.st.Steps[n-1].Status.Terminal() {
		panic("transition " + event + " sequenced after the terminal " + a.st.Steps[n-1].Event)
	}
	a.seq++
	now := workflow.Now(ctx).UTC().Truncate(time.Microsecond)
	status := a.st.Status
	a.st.Steps = append(a.st.Steps, lifecycle.Step{Seq: a.seq, Event: event, Status: status, Actor: actor, At: now})
	t := lifecycle.Transition{
		ApplicationID: a.st.ApplicationID,
		Seq:           a.seq,
		Event:         event,
		Status:        status,
		Actor:         actor,
		At:            now,
		Details:       details,
		State:         a.snapshot(),
	}
	// A text PostgreSQL would refuse must not enter the history: failing
	// the workflow task here keeps it out, and a fixed build resumes.
	// Recordable is a pure function of the transition; the checker only sees
	// reflection.
	//workflowcheck:ignore
	if err := lifecycle.Recordable(t); err != nil {
		panic(err)
	}
	a.pending = append(a.pending, t)
	a.indexStatus(ctx, status)
	return a.seq
}

// indexStatus keeps the status search attribute current. The country is set
// when the workflow starts and never changes (a continued run inherits both),
// and a transition that keeps the status adds nothing to the history.
// Upserting adds a command, it does not yield.
func (a *application) indexStatus(ctx workflow.Context, status lifecycle.Status) {
	if current, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(StatusKey); current == string(status) {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, StatusKey.ValueSet(string(status))); err != nil {
		panic(err)
	}
}

// recorder persists the sequenced transitions one at a time, oldest first:
// FIFO by construction, so the journal's hash chain follows the workflow.
// A transition is retried until the database takes it; one the database
// refuses for good (a journal conflict: a bug or tampering) fails the
// workflow task, so nothing after it is recorded until an operator acts.
func (a *application) recorder(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(a.pending) > 0 }); err != nil {
			return
		}
		t := a.pending[0]
		if err := workflow.ExecuteActivity(ctx, a.acts.RecordTransition, t).Get(ctx, nil); err != nil {
			if temporal.IsCanceledError(err) {
				return
			}
			panic("record transition " + t.Event + ": " + err.Error())
		}
		a.pending = a.pending[1:]
		a.recordedSeq = t.Seq
	}
}

// awaitRecorded returns once the transition seq is in the database.
func (a *application) awaitRecorded(ctx workflow.Context, seq int) error {
	return workflow.Await(ctx, func() bool { return a.recordedSeq >= seq })
}

// snapshot is the state as the transition being sequenced leaves it, for the
// read model, so reads are served by PostgreSQL without waking the workflow.
// The dossier is left out: the read model keeps it already.
func (a *application) snapshot() *lifecycle.State {
	snap := a.st
	snap.Dossier = dossier.Dossier{}
	// The steps are the transitions themselves: the read model appends each
	// one as it is recorded, so the history does not carry the list again
	// with every transition.
	snap.Steps = nil
	snap.Deadlines = slices.Clone(a.st.Deadlines)
	if a.st.FollowUp != nil {
		// Its pointers are replaced, never written through, so a copy of
		// the struct keeps the snapshot as it is now.
		f := *a.st.FollowUp
		snap.FollowUp = &f
	}
	snap.Flags = slices.Clone(a.st.Flags)
	return &snap
}

func (a *application) setDeadline(d lifecycle.Deadline) {
	a.clearDeadline(d.Name)
	a.st.Deadlines = append(a.st.Deadlines, d)
}

func (a *application) clearDeadline(name string) {
	a.st.Deadlines = slices.DeleteFunc(slices.Clone(a.st.Deadlines), func(d lifecycle.Deadline) bool { return d.Name == name })
}

// activityOptions: infrastructure errors and data refusals retry with backoff
// for as long as it takes (the database coming back, a fixed build deployed);
// only a journal conflict is marked non-retryable where it is raised.
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    500 * time.Millisecond,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}
