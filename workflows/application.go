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
	"github.com/daect/expectct/internal/mail"
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
	st  lifecycle.State
	seq int
	// recorded is set once the submission is in the journal: human steps
	// wait for it so the submission is always the journal's first row.
	recorded bool
	lock     workflow.Mutex
	prog     rules.Rules
	acts     *activities.Activities
}

// Application is the workflow of one application, from submission to decision.
func Application(ctx workflow.Context, in lifecycle.StartInput) (lifecycle.State, error) {
	a := &application{
		st: lifecycle.State{
			ApplicationID: in.ApplicationID,
			Status:        lifecycle.StatusSubmitted,
			RulesVersion:  in.Rules.Version,
			Flags:         in.Flags,
			Dossier:       in.Dossier,
			SubmittedAt:   workflow.Now(ctx).UTC(),
			Submitter:     in.Submitter,
			Steps:         []lifecycle.Step{},
		},
		lock: workflow.NewMutex(ctx),
		prog: in.Rules,
	}
	if err := a.registerHandlers(ctx); err != nil {
		return a.st, err
	}
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	if err := a.record(ctx, lifecycle.EventSubmitted, lifecycle.StatusSubmitted, in.Submitter,
		activities.Details{RulesVersion: in.Rules.Version, Flags: in.Flags, Dossier: &in.Dossier},
		activities.MailSpec{Template: mail.TmplAcknowledgement, To: activities.ToApplicant},
		activities.MailSpec{Template: mail.TmplSecretariatNotice, To: activities.ToSecretariat},
	); err != nil {
		return a.st, err
	}
	a.recorded = true
	if err := a.consultEmbassy(ctx); err != nil {
		return a.st, err
	}
	if err := a.review(ctx); err != nil {
		return a.st, err
	}
	// Let an update that raced the end finish its own recording.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return a.st, err
	}
	a.st.Deadlines = nil
	return a.st, nil
}

// consultEmbassy asks the embassy for its avis, reminds it, and moves on
// without one when the deadline passes.
func (a *application) consultEmbassy(ctx workflow.Context) error {
	if a.closed() {
		return nil
	}
	a.st.Status = lifecycle.StatusEmbassyConsultation
	country := a.st.Country()
	found, err := a.lookupEmbassy(ctx, country)
	if err != nil {
		return err
	}
	if !found {
		if err := a.record(ctx, lifecycle.EventEmbassyContactMissing, a.st.Status, lifecycle.System,
			activities.Details{},
			activities.MailSpec{Template: mail.TmplEmbassyContactMissing, To: activities.ToSecretariat}); err != nil {
			return err
		}
		// Look again in the directory until a contact is set.
		for !found {
			if _, err := workflow.AwaitWithTimeout(ctx, a.prog.Timers.EmbassyContactPoll.D(), a.closed); err != nil {
				return err
			}
			if a.closed() {
				return nil
			}
			if found, err = a.lookupEmbassy(ctx, country); err != nil {
				return err
			}
		}
	}
	if a.closed() {
		return nil
	}

	consulted := workflow.Now(ctx).UTC()
	deadline := consulted.Add(a.prog.Timers.EmbassyDeadline.D())
	a.st.EmbassyContacted = true
	a.setDeadline(lifecycle.Deadline{Name: "embassy_opinion", Due: deadline})
	if err := a.record(ctx, lifecycle.EventEmbassyConsulted, a.st.Status, lifecycle.System,
		activities.Details{Deadline: &deadline, Flags: a.st.Flags},
		activities.MailSpec{Template: mail.TmplEmbassyConsultation, To: activities.ToEmbassy}); err != nil {
		return err
	}
	answered := func() bool { return a.st.Status != lifecycle.StatusEmbassyConsultation }
	ok, err := workflow.AwaitWithTimeout(ctx, a.prog.Timers.EmbassyReminder.D(), answered)
	if err != nil || ok {
		return err
	}
	if err := a.record(ctx, lifecycle.EventEmbassyReminded, a.st.Status, lifecycle.System,
		activities.Details{Deadline: &deadline},
		activities.MailSpec{Template: mail.TmplEmbassyReminder, To: activities.ToEmbassy}); err != nil {
		return err
	}
	ok, err = workflow.AwaitWithTimeout(ctx, deadline.Sub(workflow.Now(ctx)), answered)
	if err != nil || ok {
		return err
	}
	// Avis réputé rendu: the application moves on and DAECT is told.
	a.st.Opinion = &lifecycle.Opinion{Value: lifecycle.OpinionNotGiven, Actor: lifecycle.System, At: workflow.Now(ctx).UTC()}
	a.st.Status = lifecycle.StatusUnderReview
	a.clearDeadline("embassy_opinion")
	return a.record(ctx, lifecycle.EventOpinionDeemedGiven, a.st.Status, lifecycle.System,
		activities.Details{Opinion: lifecycle.OpinionNotGiven},
		activities.MailSpec{Template: mail.TmplEmbassyDeadlinePassed, To: activities.ToSecretariat})
}

// review waits for DAECT's instruction and decision. The instruction clock,
// which reminds DAECT when a decision waits too long, pauses while the
// applicant is asked for complements.
func (a *application) review(ctx workflow.Context) error {
	clock := a.prog.Timers.DecisionReminder.D()
	for !a.st.Status.Terminal() {
		current := a.st.Status
		changed := func() bool { return a.st.Status != current }
		switch current {
		case lifecycle.StatusAwaitingComplements:
			due := workflow.Now(ctx).UTC().Add(a.prog.Timers.ComplementsDeadline.D())
			if a.st.ComplementsDue != nil {
				due = *a.st.ComplementsDue
			}
			ok, err := workflow.AwaitWithTimeout(ctx, due.Sub(workflow.Now(ctx)), changed)
			if err != nil {
				return err
			}
			if !ok {
				a.st.Status = lifecycle.StatusClosedWithoutAction
				a.clearDeadline("complements")
				if err := a.record(ctx, lifecycle.EventComplementsExpired, a.st.Status, lifecycle.System,
					activities.Details{},
					activities.MailSpec{Template: mail.TmplClosedWithoutAction, To: activities.ToApplicant}); err != nil {
					return err
				}
			}
		case lifecycle.StatusUnderReview, lifecycle.StatusAwaitingDecision:
			start := workflow.Now(ctx)
			a.setDeadline(lifecycle.Deadline{Name: "decision_reminder", Due: start.UTC().Add(clock)})
			ok, err := workflow.AwaitWithTimeout(ctx, clock, changed)
			if err != nil {
				return err
			}
			a.clearDeadline("decision_reminder")
			clock -= workflow.Now(ctx).Sub(start)
			if !ok || clock <= 0 {
				clock = a.prog.Timers.DecisionReminder.D()
				if !a.st.Status.Terminal() {
					if err := a.record(ctx, lifecycle.EventDecisionReminded, a.st.Status, lifecycle.System,
						activities.Details{},
						activities.MailSpec{Template: mail.TmplDecisionReminder, To: activities.ToSecretariat}); err != nil {
						return err
					}
				}
			}
		default:
			if err := workflow.Await(ctx, changed); err != nil {
				return err
			}
		}
	}
	return nil
}

// closed tells whether a human step ended the application.
func (a *application) closed() bool { return a.st.Status.Terminal() }

func (a *application) lookupEmbassy(ctx workflow.Context, country string) (bool, error) {
	var found bool
	err := workflow.ExecuteActivity(ctx, a.acts.LookupEmbassy, country).Get(ctx, &found)
	return found, err
}

// record persists one transition and sends its e-mails. Transitions are
// recorded one at a time, in sequence order, so the journal's hash chain
// follows the workflow's order even when an update races a timer.
func (a *application) record(ctx workflow.Context, event string, status lifecycle.Status, actor lifecycle.Actor,
	details activities.Details, mails ...activities.MailSpec) error {
	if err := a.lock.Lock(ctx); err != nil {
		return err
	}
	defer a.lock.Unlock()
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	a.seq++
	now := workflow.Now(ctx).UTC().Truncate(time.Microsecond)
	t := activities.Transition{
		ApplicationID: a.st.ApplicationID,
		Seq:           a.seq,
		Event:         event,
		Status:        status,
		Actor:         actor,
		At:            now,
		Details:       details,
		Mails:         mails,
	}
	a.st.Steps = append(a.st.Steps, lifecycle.Step{Seq: a.seq, Event: event, Status: status, Actor: actor, At: now})
	t.State = a.snapshot(status)
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		StatusKey.ValueSet(string(status)), CountryKey.ValueSet(a.st.Country())); err != nil {
		return err
	}
	return workflow.ExecuteActivity(ctx, a.acts.RecordTransition, t).Get(ctx, nil)
}

// snapshot is the state as this transition leaves it, for the read model,
// so reads are served by PostgreSQL without waking the workflow. The dossier
// is left out: the read model keeps it already.
func (a *application) snapshot(status lifecycle.Status) *lifecycle.State {
	snap := a.st
	snap.Status = status
	snap.Dossier = dossier.Dossier{}
	snap.Steps = slices.Clone(a.st.Steps)
	snap.Deadlines = slices.Clone(a.st.Deadlines)
	return &snap
}

func (a *application) setDeadline(d lifecycle.Deadline) {
	a.clearDeadline(d.Name)
	a.st.Deadlines = append(a.st.Deadlines, d)
}

func (a *application) clearDeadline(name string) {
	kept := a.st.Deadlines[:0]
	for _, d := range a.st.Deadlines {
		if d.Name != name {
			kept = append(kept, d)
		}
	}
	a.st.Deadlines = kept
}

// activityOptions: infrastructure errors retry with backoff for as long as it
// takes (the database or the mail server coming back); business errors are
// marked non-retryable where they are raised.
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    500 * time.Millisecond,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}
