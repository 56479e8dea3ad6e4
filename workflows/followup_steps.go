package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// The human steps of the second phase. Validators refuse before anything
// enters the history; handlers change the state and sequence the transition.

func (a *application) validateRenounce(ctx workflow.Context, in lifecycle.RenounceInput) error {
	if err := a.check(in.Actor, lifecycle.ActionRenounce, in, lifecycle.StatusApproved, lifecycle.StatusChangesDeclared); err != nil {
		return err
	}
	if !workflow.Now(ctx).Before(a.missionStart()) {
		return wrongStateBecause(lifecycle.ActionRenounce, "the mission has started: file its report instead")
	}
	return nil
}

func (a *application) renounce(ctx workflow.Context, in lifecycle.RenounceInput) (lifecycle.StepResult, error) {
	a.st.Status = lifecycle.StatusRenounced
	f := a.followUpState()
	f.RenunciationNote = in.Reason
	f.DeclaredChanges = nil
	a.st.Deadlines = nil
	seq := a.sequence(ctx, lifecycle.EventRenounced, in.Actor, lifecycle.Details{Reason: in.Reason})
	return a.stepResult(ctx, seq)
}

func (a *application) validateDeclareChanges(ctx workflow.Context, in lifecycle.DeclareChangesInput) error {
	if err := a.check(in.Actor, lifecycle.ActionDeclareChanges, in, lifecycle.StatusApproved); err != nil {
		return err
	}
	if !workflow.Now(ctx).Before(a.missionStart()) {
		return wrongStateBecause(lifecycle.ActionDeclareChanges, "the mission has started")
	}
	// The changed dossier is judged again under the application's rules,
	// notice period included; field paths are the input's.
	//workflowcheck:ignore
	if _, err := dossier.Validate(in.Changes.Apply(a.st.Dossier), a.prog.Policy(), workflow.Now(ctx).In(lifecycle.Paris)); err != nil {
		var ve *dossier.ValidationError
		if errors.As(err, &ve) {
			return invalid(changesFields(ve))
		}
		return invalid(err)
	}
	return nil
}

// changesFields names the dossier's errors as the declaration's fields:
// mission.start_date is changes.start_date, agents[1].name
// changes.agents[1].name; anything else stays under dossier.
func changesFields(ve *dossier.ValidationError) *dossier.ValidationError {
	out := *ve
	out.Fields = nil
	for _, f := range ve.Fields {
		switch {
		case strings.HasPrefix(f.Field, "mission.start_date"), strings.HasPrefix(f.Field, "mission.end_date"):
			f.Field = "changes." + strings.TrimPrefix(f.Field, "mission.")
		case strings.HasPrefix(f.Field, "agents"):
			f.Field = "changes." + f.Field
		default:
			f.Field = "dossier." + f.Field
		}
		out.Fields = append(out.Fields, f)
	}
	return &out
}

func (a *application) declareChanges(ctx workflow.Context, in lifecycle.DeclareChangesInput) (lifecycle.StepResult, error) {
	changes := in.Changes
	a.followUpState().DeclaredChanges = &changes
	a.st.Status = lifecycle.StatusChangesDeclared
	seq := a.sequence(ctx, lifecycle.EventChangesDeclared, in.Actor, lifecycle.Details{Changes: &changes, Reason: in.Reason})
	return a.stepResult(ctx, seq)
}

func (a *application) validateReviewChanges(in lifecycle.ReviewChangesInput) error {
	return a.check(in.Actor, lifecycle.ActionReviewChanges, in, lifecycle.StatusChangesDeclared)
}

func (a *application) reviewChanges(ctx workflow.Context, in lifecycle.ReviewChangesInput) (lifecycle.StepResult, error) {
	f := a.followUpState()
	changes := *f.DeclaredChanges
	f.DeclaredChanges = nil
	a.st.Status = lifecycle.StatusApproved
	if in.Outcome == lifecycle.ChangesRefuse {
		seq := a.sequence(ctx, lifecycle.EventChangesRefused, in.Actor, lifecycle.Details{Reason: in.Reason})
		return a.stepResult(ctx, seq)
	}
	// The dossier changes with its transition, as for complements: the
	// read model and the letters take it from the journal.
	d := changes.Apply(a.st.Dossier)
	a.st.Dossier = d
	seq := a.sequence(ctx, lifecycle.EventChangesAcknowledged, in.Actor, lifecycle.Details{Changes: &changes, Dossier: &d, Flags: a.st.Flags})
	return a.stepResult(ctx, seq)
}

func (a *application) validateReport(in lifecycle.ReportInput) error {
	if err := a.check(in.Actor, lifecycle.ActionReport, in, lifecycle.AwaitingReport...); err != nil {
		return err
	}
	return a.withinAttachmentLimits(in.Report)
}

// withinAttachmentLimits checks the report's files against the
// application's rules. The API checked them already against the rules it
// runs with; these are the ones the application is judged under.
func (a *application) withinAttachmentLimits(r lifecycle.Report) error {
	if fe := r.AttachmentsBeyond(a.prog.Attachments); fe != nil {
		return invalid(&dossier.ValidationError{Fields: []dossier.FieldError{*fe}})
	}
	return nil
}

func (a *application) fileReport(ctx workflow.Context, in lifecycle.ReportInput) (lifecycle.StepResult, error) {
	f := a.followUpState()
	report := in.Report
	f.Report = &report
	actor := in.Actor
	f.ReportedBy = &actor
	// The report clock stops while the report is examined.
	f.ClockLeft = max(f.ReportDue.Sub(workflow.Now(ctx)), 0)
	a.st.Status = lifecycle.StatusReportReview
	a.clearDeadline("report")
	a.reportClock++
	seq := a.sequence(ctx, lifecycle.EventReportSubmitted, in.Actor, lifecycle.Details{Report: &report})
	return a.stepResult(ctx, seq)
}

// payableCap is the most the accepted report allows to pay.
func (a *application) payableCap() dossier.Money {
	return lifecycle.PayableCap(a.st.Decision.Amount, a.st.FollowUp.Report.Costs.Total(), a.prog.SharePercent(a.st.Country()))
}

func (a *application) validateReviewReport(in lifecycle.ReviewReportInput) error {
	if err := a.check(in.Actor, lifecycle.ActionReviewReport, in, lifecycle.StatusReportReview); err != nil {
		return err
	}
	if in.Outcome != lifecycle.ReviewAccept {
		return nil
	}
	limit, granted := a.payableCap(), a.st.Decision.Amount
	payable := in.Payable
	if payable == 0 {
		payable = limit
	}
	if payable > limit {
		return invalidField("payable", "max_payable",
			fmt.Sprintf("Le montant payable (%s €) dépasse le plafond : le montant accordé (%s €) ou la part du programme dans les coûts réels (%s €)", payable, granted, limit),
			fmt.Sprintf("The payable amount (EUR %s) exceeds the limit: the amount granted (EUR %s) or the programme's share of the actual costs (EUR %s)", payable, granted, limit))
	}
	if payable <= 0 {
		return invalidField("payable", "gt", "Le montant payable doit être supérieur à zéro", "The payable amount must be greater than zero")
	}
	if payable < granted && in.Motivation == "" {
		return invalidField("motivation", "required_with_reduction",
			fmt.Sprintf("Motivez la réduction du montant payable (%s €) par rapport au montant accordé (%s €)", payable, granted),
			fmt.Sprintf("Give the reason for paying (EUR %s) less than the amount granted (EUR %s)", payable, granted))
	}
	return nil
}

func (a *application) reviewReport(ctx workflow.Context, in lifecycle.ReviewReportInput) (lifecycle.StepResult, error) {
	f := a.followUpState()
	actor := in.Actor
	f.ReviewedBy = &actor
	if in.Outcome == lifecycle.ReviewAskChanges {
		// The clock starts again with what was left, and at least the
		// reminder period, so the applicant has time to answer.
		due := workflow.Now(ctx).UTC().Add(max(f.ClockLeft, a.prog.Timers.ReportReminderBefore()))
		f.ReportDue = &due
		f.ReportChanges = in.Message
		f.Reminders = 0
		a.st.Status = lifecycle.StatusAwaitingReportChange
		a.setDeadline(lifecycle.Deadline{Name: "report", Due: due})
		a.reportClock++
		seq := a.sequence(ctx, lifecycle.EventReportChangesRequested, in.Actor,
			lifecycle.Details{Message: in.Message, Deadline: &due})
		return a.stepResult(ctx, seq)
	}
	payable := in.Payable
	if payable == 0 {
		payable = a.payableCap()
	}
	f.Payable = &payable
	f.Reduction = in.Motivation
	a.st.Status = lifecycle.StatusAwaitingPaymentOrder
	seq := a.sequence(ctx, lifecycle.EventReportAccepted, in.Actor,
		lifecycle.Details{Amount: &payable, Motivation: in.Motivation})
	return a.stepResult(ctx, seq)
}

// today is the date in Paris, as the dates of the steps' inputs hold one
// (midnight UTC of that day).
func today(ctx workflow.Context) time.Time {
	t := workflow.Now(ctx).In(lifecycle.Paris)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func (a *application) validateExtendReport(ctx workflow.Context, in lifecycle.ExtendReportInput) error {
	if err := a.check(in.Actor, lifecycle.ActionExtendReport, in, lifecycle.AwaitingReport...); err != nil {
		return err
	}
	if !in.Until.After(today(ctx)) {
		return invalidField("until", "future", "La nouvelle échéance doit être postérieure à aujourd'hui",
			"The new due date must be after today")
	}
	return nil
}

func (a *application) extendReport(ctx workflow.Context, in lifecycle.ExtendReportInput) (lifecycle.StepResult, error) {
	f := a.followUpState()
	// Due at the end of the day given, in Paris.
	due := time.Date(in.Until.Year(), in.Until.Month(), in.Until.Day()+1, 0, 0, 0, 0, lifecycle.Paris).UTC()
	f.ReportDue = &due
	f.Reminders = 0
	f.GraceExpired = false
	if a.st.Status == lifecycle.StatusReportOverdue {
		a.st.Status = lifecycle.StatusAwaitingReport
	}
	a.setDeadline(lifecycle.Deadline{Name: "report", Due: due})
	a.reportClock++
	seq := a.sequence(ctx, lifecycle.EventReportDeadlineExtended, in.Actor,
		lifecycle.Details{Deadline: &due, Reason: in.Reason})
	return a.stepResult(ctx, seq)
}

func (a *application) validateCancelGrant(in lifecycle.CancelGrantInput) error {
	if err := a.check(in.Actor, lifecycle.ActionCancelGrant, in, lifecycle.StatusReportOverdue); err != nil {
		return err
	}
	if !a.st.FollowUp.GraceExpired {
		return wrongStateBecause(lifecycle.ActionCancelGrant, "the grace period after the report's due date has not passed")
	}
	return nil
}

func (a *application) cancelGrant(ctx workflow.Context, in lifecycle.CancelGrantInput) (lifecycle.StepResult, error) {
	a.followUpState().Cancellation = in.Motivation
	a.st.Status = lifecycle.StatusCancelled
	a.st.Deadlines = nil
	seq := a.sequence(ctx, lifecycle.EventGrantCancelled, in.Actor, lifecycle.Details{Motivation: in.Motivation})
	return a.stepResult(ctx, seq)
}

func (a *application) validateOrderPayment(in lifecycle.OrderPaymentInput) error {
	if err := a.check(in.Actor, lifecycle.ActionOrderPayment, in, lifecycle.StatusAwaitingPaymentOrder); err != nil {
		return err
	}
	if r := a.st.FollowUp.ReviewedBy; r != nil && lifecycle.SamePerson(r.ID, in.Actor.ID) {
		return forbidden("four-eyes rule: %q reviewed the report and may not order its payment", in.Actor.ID)
	}
	return nil
}

func (a *application) orderPayment(ctx workflow.Context, in lifecycle.OrderPaymentInput) (lifecycle.StepResult, error) {
	f := a.followUpState()
	actor := in.Actor
	f.OrderedBy = &actor
	a.st.Status = lifecycle.StatusPaymentOrdered
	payable := *f.Payable
	seq := a.sequence(ctx, lifecycle.EventPaymentOrdered, in.Actor, lifecycle.Details{Amount: &payable, Comment: in.Comment})
	return a.stepResult(ctx, seq)
}

func (a *application) validateConfirmPayment(ctx workflow.Context, in lifecycle.ConfirmPaymentInput) error {
	if err := a.check(in.Actor, lifecycle.ActionConfirmPayment, in, lifecycle.StatusPaymentOrdered); err != nil {
		return err
	}
	if in.PaidOn.After(today(ctx)) {
		return invalidField("paid_on", "not_future", "La date de paiement ne peut pas être dans le futur",
			"The payment date cannot be in the future")
	}
	return nil
}

func (a *application) confirmPayment(ctx workflow.Context, in lifecycle.ConfirmPaymentInput) (lifecycle.StepResult, error) {
	f := a.followUpState()
	paidOn := in.PaidOn
	f.Paid = &lifecycle.Payment{Amount: *f.Payable, Reference: in.Reference, PaidOn: paidOn, Actor: in.Actor}
	a.st.Status = lifecycle.StatusClosed
	a.st.Deadlines = nil
	amount := *f.Payable
	seq := a.sequence(ctx, lifecycle.EventPaymentConfirmed, in.Actor,
		lifecycle.Details{Amount: &amount, Reference: in.Reference, PaidOn: &paidOn})
	return a.stepResult(ctx, seq)
}
