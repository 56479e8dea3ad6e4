package workflows

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// registerHandlers installs the status query and the human steps before the
// workflow first blocks, so no early update or query is lost.
func (a *application) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, lifecycle.QueryStatus, func() (lifecycle.State, error) {
		return a.st, nil
	}); err != nil {
		return err
	}
	type update struct {
		name      string
		handler   any
		validator any
	}
	for _, u := range []update{
		{lifecycle.UpdateOpinion, a.giveOpinion, a.validateOpinion},
		{lifecycle.UpdateRequestComplements, a.requestComplements, a.validateRequestComplements},
		{lifecycle.UpdateComplements, a.answerComplements, a.validateComplements},
		{lifecycle.UpdateRecommend, a.recommend, a.validateRecommend},
		{lifecycle.UpdateDecide, a.decide, a.validateDecide},
		{lifecycle.UpdateWithdraw, a.withdraw, a.validateWithdraw},
		{lifecycle.UpdateRenounce, a.renounce, a.validateRenounce},
		{lifecycle.UpdateDeclareChanges, a.declareChanges, a.validateDeclareChanges},
		{lifecycle.UpdateReviewChanges, a.reviewChanges, a.validateReviewChanges},
		{lifecycle.UpdateReport, a.fileReport, a.validateReport},
		{lifecycle.UpdateReviewReport, a.reviewReport, a.validateReviewReport},
		{lifecycle.UpdateExtendReport, a.extendReport, a.validateExtendReport},
		{lifecycle.UpdateCancelGrant, a.cancelGrant, a.validateCancelGrant},
		{lifecycle.UpdateOrderPayment, a.orderPayment, a.validateOrderPayment},
		{lifecycle.UpdateConfirmPayment, a.confirmPayment, a.validateConfirmPayment},
	} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler,
			workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return fmt.Errorf("register update %s: %w", u.name, err)
		}
	}
	return nil
}

// Refusals. They carry a type the API maps to an HTTP status and never enter
// the history, because validators reject before the update is accepted.

func forbidden(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), lifecycle.ErrForbidden, nil)
}

func wrongState(action lifecycle.Action, s lifecycle.Status) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("%s is not allowed while the application is %s", action, s), lifecycle.ErrInvalidState, nil)
}

// wrongStateBecause refuses a step the status allows but the moment does not.
func wrongStateBecause(action lifecycle.Action, why string) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("%s is not allowed now: %s", action, why), lifecycle.ErrInvalidState, nil)
}

func invalid(err error) error {
	var ve *dossier.ValidationError
	if errors.As(err, &ve) {
		return temporal.NewNonRetryableApplicationError(ve.Error(), lifecycle.ErrInvalidInput, nil, ve.Fields)
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), lifecycle.ErrInvalidInput, nil)
}

func invalidField(field, rule, fr, en string) error {
	return invalid(&dossier.ValidationError{Fields: []dossier.FieldError{{Field: field, Rule: rule, MessageFR: fr, MessageEN: en}}})
}

// authorize checks the actor's role and scope for an action on this application.
func (a *application) authorize(actor lifecycle.Actor, action lifecycle.Action) error {
	if !lifecycle.Allows(actor.Role, action) {
		return forbidden("role %q may not %s", actor.Role, action)
	}
	if !actor.InScope(a.st.SIREN(), a.st.Country()) {
		return forbidden("%s %q does not act for this application", actor.Role, actor.ID)
	}
	return nil
}

// check runs the common checks of a human step: role and scope, state, payload.
func (a *application) check(actor lifecycle.Actor, action lifecycle.Action, input any, allowed ...lifecycle.Status) error {
	if err := a.authorize(actor, action); err != nil {
		return err
	}
	if !slices.Contains(allowed, a.st.Status) {
		return wrongState(action, a.st.Status)
	}
	//workflowcheck:ignore
	if err := dossier.ValidateStruct(input); err != nil {
		return invalid(err)
	}
	return nil
}

// withinGrant refuses an amount above the request or the programme cap.
func (a *application) withinGrant(field string, amount dossier.Money) error {
	requested := a.st.Dossier.Budget.Requested
	if amount > requested {
		return invalidField(field, "max_requested",
			fmt.Sprintf("Le montant (%s €) dépasse le montant demandé (%s €)", amount, requested),
			fmt.Sprintf("The amount (EUR %s) exceeds the amount requested (EUR %s)", amount, requested))
	}
	if amount > a.prog.CapPerMission {
		return invalidField(field, "max_cap",
			fmt.Sprintf("Le montant (%s €) dépasse le plafond du programme (%s €)", amount, a.prog.CapPerMission),
			fmt.Sprintf("The amount (EUR %s) exceeds the programme cap (EUR %s)", amount, a.prog.CapPerMission))
	}
	if amount <= 0 {
		return invalidField(field, "gt",
			"Le montant doit être supérieur à zéro", "The amount must be greater than zero")
	}
	return nil
}

func (a *application) validateOpinion(in lifecycle.OpinionInput) error {
	if err := a.check(in.Actor, lifecycle.ActionOpinion, in, lifecycle.StatusEmbassyConsultation); err != nil {
		return err
	}
	if !a.st.EmbassyContacted {
		return wrongState(lifecycle.ActionOpinion, a.st.Status)
	}
	return nil
}

func (a *application) giveOpinion(ctx workflow.Context, in lifecycle.OpinionInput) (lifecycle.StepResult, error) {
	a.st.Opinion = &lifecycle.Opinion{Value: in.Opinion, Comment: in.Comment, Actor: in.Actor, At: workflow.Now(ctx).UTC()}
	a.st.Status = lifecycle.StatusUnderReview
	a.clearDeadline("embassy_opinion")
	seq := a.sequence(ctx, lifecycle.EventOpinionGiven, in.Actor,
		lifecycle.Details{Opinion: in.Opinion, Comment: in.Comment})
	return a.stepResult(ctx, seq)
}

func (a *application) validateRequestComplements(in lifecycle.RequestComplementsInput) error {
	return a.check(in.Actor, lifecycle.ActionRequestComplements, in, lifecycle.StatusUnderReview)
}

func (a *application) requestComplements(ctx workflow.Context, in lifecycle.RequestComplementsInput) (lifecycle.StepResult, error) {
	due := workflow.Now(ctx).UTC().Add(a.prog.Timers.ComplementsDeadline.D())
	a.st.Status = lifecycle.StatusAwaitingComplements
	a.st.ComplementsRequest = in.Message
	a.st.ComplementsDue = &due
	// The instruction clock pauses until the complements arrive.
	a.clearDeadline("decision_reminder")
	a.setDeadline(lifecycle.Deadline{Name: "complements", Due: due})
	seq := a.sequence(ctx, lifecycle.EventComplementsRequested, in.Actor,
		lifecycle.Details{Message: in.Message, Deadline: &due})
	return a.stepResult(ctx, seq)
}

func (a *application) validateComplements(ctx workflow.Context, in lifecycle.ComplementsInput) error {
	if err := a.check(in.Actor, lifecycle.ActionComplements, in, lifecycle.StatusAwaitingComplements); err != nil {
		return err
	}
	// The amended dossier is judged again, in full, under the rules the
	// application was submitted under.
	// Validation is a pure function of the dossier, the rules and the date;
	// the checker only sees reflection inside the validator library.
	//workflowcheck:ignore
	if _, err := dossier.Validate(in.Dossier, a.prog.Policy(), workflow.Now(ctx).In(lifecycle.Paris)); err != nil {
		var ve *dossier.ValidationError
		if errors.As(err, &ve) {
			err = ve.Under("dossier")
		}
		return invalid(err)
	}
	// Field paths are those of the update's input, where the dossier sits
	// under "dossier", as the input's own checks above name them.
	if in.Dossier.Collectivite.SIREN != a.st.SIREN() {
		return invalidField("dossier.collectivite.siren", "unchanged",
			"Le SIREN de la collectivité ne peut pas être modifié", "The collectivité's SIREN cannot be changed")
	}
	if in.Dossier.Partner.Country != a.st.Country() {
		return invalidField("dossier.partner.country", "unchanged",
			"Le pays de destination ne peut pas être modifié: déposez une nouvelle demande",
			"The destination country cannot be changed: submit a new application")
	}
	return nil
}

func (a *application) answerComplements(ctx workflow.Context, in lifecycle.ComplementsInput) (lifecycle.StepResult, error) {
	//workflowcheck:ignore
	flags, _ := dossier.Validate(in.Dossier, a.prog.Policy(), workflow.Now(ctx).In(lifecycle.Paris))
	a.st.Dossier = in.Dossier
	a.st.Flags = flags
	a.st.Status = lifecycle.StatusUnderReview
	a.st.ComplementsDue = nil
	a.clearDeadline("complements")
	seq := a.sequence(ctx, lifecycle.EventComplementsReceived, in.Actor,
		lifecycle.Details{Comment: in.Comment, Dossier: &in.Dossier, Flags: flags})
	return a.stepResult(ctx, seq)
}

func (a *application) validateRecommend(in lifecycle.RecommendInput) error {
	if err := a.check(in.Actor, lifecycle.ActionRecommend, in, lifecycle.StatusUnderReview); err != nil {
		return err
	}
	if in.Recommendation == lifecycle.RecommendApprove {
		return a.withinGrant("amount", in.Amount)
	}
	return nil
}

func (a *application) recommend(ctx workflow.Context, in lifecycle.RecommendInput) (lifecycle.StepResult, error) {
	amount := in.Amount
	if in.Recommendation == lifecycle.RecommendReject {
		amount = 0
	}
	a.st.Recommendation = &lifecycle.Recommendation{Value: in.Recommendation, Amount: amount,
		Comment: in.Comment, Actor: in.Actor, At: workflow.Now(ctx).UTC()}
	a.st.Status = lifecycle.StatusAwaitingDecision
	seq := a.sequence(ctx, lifecycle.EventRecommended, in.Actor,
		lifecycle.Details{Recommendation: in.Recommendation, Amount: &amount, Comment: in.Comment})
	return a.stepResult(ctx, seq)
}

// instructedBy tells whether the actor took part in the instruction. Steps
// are appended when a transition is sequenced, so a recommendation still
// being recorded counts.
func (a *application) instructedBy(id string) bool {
	return slices.ContainsFunc(a.st.Steps, func(s lifecycle.Step) bool {
		return s.Actor.Role == lifecycle.RoleInstructor && lifecycle.SamePerson(s.Actor.ID, id)
	})
}

func (a *application) validateDecide(in lifecycle.DecideInput) error {
	if err := a.check(in.Actor, lifecycle.ActionDecide, in, lifecycle.StatusAwaitingDecision); err != nil {
		return err
	}
	if a.instructedBy(in.Actor.ID) {
		return forbidden("four-eyes rule: %q instructed this application and may not decide it", in.Actor.ID)
	}
	if in.Decision == lifecycle.DecisionApprove {
		return a.withinGrant("amount", in.Amount)
	}
	return nil
}

func (a *application) decide(ctx workflow.Context, in lifecycle.DecideInput) (lifecycle.StepResult, error) {
	d := &lifecycle.Decision{Value: in.Decision, Actor: in.Actor, At: workflow.Now(ctx).UTC()}
	event := lifecycle.EventApproved
	details := lifecycle.Details{Decision: in.Decision}
	if in.Decision == lifecycle.DecisionApprove {
		d.Amount = in.Amount
		details.Amount = &d.Amount
		// The decision letter and its e-mail give the report's due date.
		due := later(a.missionEnd(), a.prog.Timers.ReportDue())
		details.Deadline = &due
		a.st.Status = lifecycle.StatusApproved
	} else {
		d.Motivation = in.Motivation
		details.Motivation = in.Motivation
		event = lifecycle.EventRejected
		a.st.Status = lifecycle.StatusRejected
	}
	a.st.Decision = d
	a.st.Deadlines = nil
	seq := a.sequence(ctx, event, in.Actor, details)
	return a.stepResult(ctx, seq)
}

// The applicant may withdraw until the decision; after an approval, they
// renounce instead.
func (a *application) validateWithdraw(in lifecycle.WithdrawInput) error {
	return a.check(in.Actor, lifecycle.ActionWithdraw, in, lifecycle.BeforeDecision...)
}

func (a *application) withdraw(ctx workflow.Context, in lifecycle.WithdrawInput) (lifecycle.StepResult, error) {
	a.st.Status = lifecycle.StatusWithdrawn
	a.st.WithdrawalReason = in.Reason
	a.st.Deadlines = nil
	seq := a.sequence(ctx, lifecycle.EventWithdrawn, in.Actor, lifecycle.Details{Reason: in.Reason})
	return a.stepResult(ctx, seq)
}

// stepResult answers a step once its own transition is recorded, with the
// status that transition left (later steps may have been accepted while it
// was being recorded). The whole state stays out of the history: the API
// reads it from the read model.
func (a *application) stepResult(ctx workflow.Context, seq int) (lifecycle.StepResult, error) {
	res := lifecycle.StepResult{Seq: seq, Status: a.st.Status}
	return res, a.awaitRecorded(ctx, seq)
}
