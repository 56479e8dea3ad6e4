package workflows_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

var finance = lifecycle.Actor{ID: "comptable.one", Role: lifecycle.RoleFinance}

// approvedFor starts a second-phase scenario: the application is approved
// for 3,000 EUR within its first days. It returns how long after the start
// the mission ends (the day after its last day, midnight in Paris).
func approvedFor(t *testing.T, h *harness) time.Duration {
	t.Helper()
	h.secondPhase = true
	h.update(time.Hour, lifecycle.UpdateOpinion, lifecycle.OpinionInput{Actor: embassySN, Opinion: "favorable", Comment: "ok"})
	h.update(2*day, lifecycle.UpdateRecommend, lifecycle.RecommendInput{Actor: instructor, Recommendation: "approve", Amount: dossier.Euros(3000), Comment: "ok"})
	h.update(3*day, lifecycle.UpdateDecide, lifecycle.DecideInput{Actor: decider, Decision: "approve", Amount: dossier.Euros(3000)})
	end := time.Date(2030, 3, 21, 0, 0, 0, 0, lifecycle.Paris)
	return end.Sub(h.env.Now())
}

func report(costs lifecycle.ActualCosts) lifecycle.ReportInput {
	return lifecycle.ReportInput{Actor: applicant, Report: lifecycle.Report{
		Activities: "Diagnostic de la collecte dans trois quartiers", Results: "Plan d'action adopté",
		FollowUp: "Seconde mission en 2031", Agents: []string{"Julien Lefèvre"}, Costs: costs}}
}

// Actual costs of 5,000 EUR: the programme's share (90 % in Senegal) is
// 4,500, above the 3,000 granted.
var fullCosts = lifecycle.ActualCosts{Travel: dossier.Euros(2500), Accommodation: dossier.Euros(1500), DailyAllowances: dossier.Euros(1000)}

func TestReportOnTimeThenPaidAndClosed(t *testing.T) {
	h := newHarness(t)
	end := approvedFor(t, h)
	steps := []*result{
		h.update(end+2*day, lifecycle.UpdateReport, report(fullCosts)),
		h.update(end+3*day, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept}),
		h.update(end+4*day, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: decider}),
		h.update(end+5*day, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, Reference: "DAECT-2030-0042",
			PaidOn: dossier.Date{Time: time.Date(2030, 3, 25, 0, 0, 0, 0, time.UTC)}}),
	}
	st := h.run(exampleDossier(t))
	for _, r := range steps {
		accepted(t, r)
	}
	want := []string{"submitted", "embassy_consulted", "opinion_given", "recommended", "approved",
		"mission_ended", "report_submitted", "report_accepted", "payment_ordered", "payment_confirmed"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if st.Status != lifecycle.StatusClosed || st.FollowUp.Paid.Amount != dossier.Euros(3000) || st.FollowUp.Paid.Reference != "DAECT-2030-0042" {
		t.Fatalf("final state %s, follow-up %+v", st.Status, st.FollowUp)
	}
	// Due 30 calendar days after the mission's end, at midnight in Paris
	// (daylight saving time starts in between).
	due := h.events[5].Details.Deadline
	if want := time.Date(2030, 4, 20, 0, 0, 0, 0, lifecycle.Paris); due == nil || !due.Equal(want) {
		t.Fatalf("report due %v, want %v", due, want)
	}
}

func TestReducedPaymentAndFourEyesOnTheOrder(t *testing.T) {
	h := newHarness(t)
	end := approvedFor(t, h)
	// 2,000 EUR of actual costs: 90 % is 1,800, under the 3,000 granted.
	low := lifecycle.ActualCosts{Travel: dossier.Euros(1500), Other: dossier.Euros(500)}
	h.update(end+day, lifecycle.UpdateReport, report(low))
	tooMuch := h.update(end+2*day, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept, Payable: dossier.Euros(2000), Motivation: "x"})
	unmotivated := h.update(end+2*day+time.Hour, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept})
	h.update(end+3*day, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept,
		Motivation: "Coûts réels inférieurs au budget"})
	reviewerOrders := h.update(end+4*day, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: instructorAsDecider})
	financeOrders := h.update(end+4*day+time.Hour, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: finance})
	h.update(end+5*day, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: decider})
	deciderConfirms := h.update(end+6*day, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: decider, Reference: "R", PaidOn: dossier.Date{Time: time.Date(2030, 3, 25, 0, 0, 0, 0, time.UTC)}})
	future := h.update(end+6*day+time.Hour, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, Reference: "R", PaidOn: dossier.Date{Time: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}})
	h.update(end+7*day, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, Reference: "R-1", PaidOn: dossier.Date{Time: time.Date(2030, 3, 26, 0, 0, 0, 0, time.UTC)}})
	st := h.run(exampleDossier(t))
	for name, c := range map[string]struct {
		r    *result
		kind string
	}{
		"payable above the programme's share": {tooMuch, lifecycle.ErrInvalidInput},
		"reduction without a motivation":      {unmotivated, lifecycle.ErrInvalidInput},
		"the report's reviewer orders":        {reviewerOrders, lifecycle.ErrForbidden},
		"the accounting service orders":       {financeOrders, lifecycle.ErrForbidden},
		"the decider confirms the payment":    {deciderConfirms, lifecycle.ErrForbidden},
		"a payment dated in the future":       {future, lifecycle.ErrInvalidInput},
	} {
		if !isType(c.r.rejected, c.kind) {
			t.Errorf("%s: %v, want %s", name, c.r.rejected, c.kind)
		}
	}
	if st.Status != lifecycle.StatusClosed || *st.FollowUp.Payable != dossier.Euros(1800) || st.FollowUp.Paid.Amount != dossier.Euros(1800) {
		t.Fatalf("final state %s, follow-up %+v", st.Status, st.FollowUp)
	}
}

func TestReportLateThenGrantCancelled(t *testing.T) {
	h := newHarness(t)
	end := approvedFor(t, h)
	early := h.update(end+40*day, lifecycle.UpdateCancelGrant, lifecycle.CancelGrantInput{Actor: instructor, Motivation: "x"})
	h.update(end+100*day, lifecycle.UpdateCancelGrant, lifecycle.CancelGrantInput{Actor: instructor, Motivation: "Aucun compte rendu reçu"})
	st := h.run(exampleDossier(t))
	want := []string{"submitted", "embassy_consulted", "opinion_given", "recommended", "approved",
		"mission_ended", "report_reminded", "report_reminded", "report_overdue", "report_grace_expired", "grant_cancelled"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if !isType(early.rejected, lifecycle.ErrInvalidState) {
		t.Fatalf("cancelling before the grace period ends: %v, want InvalidState", early.rejected)
	}
	// Calendar days in Paris: 7 days before the due date, its last day, the
	// due date (30 days after the mission's end), 60 days after it.
	for i, want := range map[int]time.Time{
		6: time.Date(2030, 4, 13, 0, 0, 0, 0, lifecycle.Paris), 7: time.Date(2030, 4, 19, 0, 0, 0, 0, lifecycle.Paris),
		8: time.Date(2030, 4, 20, 0, 0, 0, 0, lifecycle.Paris), 9: time.Date(2030, 6, 19, 0, 0, 0, 0, lifecycle.Paris),
	} {
		if got := h.events[i].At; !got.Equal(want) {
			t.Errorf("%s at %v, want %v", h.events[i].Event, got, want)
		}
	}
	if st.Status != lifecycle.StatusCancelled || st.FollowUp.Cancellation != "Aucun compte rendu reçu" {
		t.Fatalf("final state %s %+v", st.Status, st.FollowUp)
	}
}

func TestReportLateThenExtendedThenChangesAskedThenAccepted(t *testing.T) {
	h := newHarness(t)
	end := approvedFor(t, h)
	until := time.Date(2030, 5, 31, 0, 0, 0, 0, time.UTC) // 71 days after the mission's end
	h.update(end+35*day, lifecycle.UpdateExtendReport, lifecycle.ExtendReportInput{Actor: instructor, Until: dossier.Date{Time: until}, Reason: "Agents en congé"})
	h.update(end+50*day, lifecycle.UpdateReport, report(fullCosts))
	h.update(end+51*day, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAskChanges, Message: "Joindre les factures"})
	h.update(end+60*day, lifecycle.UpdateReport, report(fullCosts))
	h.update(end+61*day, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept})
	h.update(end+62*day, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: decider})
	h.update(end+63*day, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, Reference: "R-2", PaidOn: dossier.Date{Time: time.Date(2030, 5, 22, 0, 0, 0, 0, time.UTC)}})
	st := h.run(exampleDossier(t))
	want := []string{"submitted", "embassy_consulted", "opinion_given", "recommended", "approved",
		"mission_ended", "report_reminded", "report_reminded", "report_overdue", "report_deadline_extended",
		"report_submitted", "report_changes_requested", "report_submitted", "report_accepted", "payment_ordered", "payment_confirmed"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	// The clock stopped while the report was examined: the changes are due
	// as long after they are asked as was left when the report came.
	extended, filed, asked := h.events[9].Details.Deadline, h.events[10].At, h.events[11]
	if due := asked.Details.Deadline; due == nil || due.Sub(asked.At) != extended.Sub(filed) {
		t.Fatalf("changes due %v after the request, want the %v left", due.Sub(asked.At), extended.Sub(filed))
	}
	if st.Status != lifecycle.StatusClosed {
		t.Fatalf("final status %s", st.Status)
	}
}

func TestRenouncedBeforeTheMissionAndNotAfter(t *testing.T) {
	h := newHarness(t)
	end := approvedFor(t, h)
	early := h.update(end-day, lifecycle.UpdateReport, report(fullCosts))
	withdraw := h.update(4*day, lifecycle.UpdateWithdraw, lifecycle.WithdrawInput{Actor: applicant, Reason: "x"})
	other := h.update(5*day, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: otherTown, Reason: "x"})
	h.update(6*day, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: applicant, Reason: "Partenaire indisponible"})
	st := h.run(exampleDossier(t))
	if st.Status != lifecycle.StatusRenounced || st.FollowUp.RenunciationNote != "Partenaire indisponible" {
		t.Fatalf("final state %s %+v", st.Status, st.FollowUp)
	}
	if !isType(withdraw.rejected, lifecycle.ErrInvalidState) || !isType(other.rejected, lifecycle.ErrForbidden) {
		t.Fatalf("withdrawal after approval: %v; another town renouncing: %v", withdraw.rejected, other.rejected)
	}
	if early.done {
		t.Fatalf("a report sent to a closed application must not be taken: %+v", early)
	}

	h = newHarness(t)
	end = approvedFor(t, h)
	late := h.update(end-2*day, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: applicant, Reason: "trop tard"})
	h.update(end+day, lifecycle.UpdateReport, report(fullCosts))
	h.update(end+2*day, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept})
	h.update(end+3*day, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: decider})
	h.update(end+4*day, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, Reference: "R", PaidOn: dossier.Date{Time: time.Date(2030, 3, 24, 0, 0, 0, 0, time.UTC)}})
	h.run(exampleDossier(t))
	if !isType(late.rejected, lifecycle.ErrInvalidState) {
		t.Fatalf("renouncing once the mission started: %v, want InvalidState", late.rejected)
	}
}

func changes(start, end time.Time, agents int) lifecycle.MissionChanges {
	c := lifecycle.MissionChanges{StartDate: dossier.Date{Time: start}, EndDate: dossier.Date{Time: end}}
	for i := range agents {
		c.Agents = append(c.Agents, dossier.Agent{Name: fmt.Sprintf("Agent %d", i+1), Position: "Technicien", Expertise: "Collecte des déchets"})
	}
	return c
}

func TestChangedDatesAcknowledgedMoveTheReport(t *testing.T) {
	h := newHarness(t)
	end := approvedFor(t, h)
	utc := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	// Two weeks later: the mission now ends on 3 April 2030.
	later := changes(utc(2030, 3, 25), utc(2030, 4, 3), 2)
	tooMany := h.update(4*day, lifecycle.UpdateDeclareChanges, lifecycle.DeclareChangesInput{Actor: applicant, Changes: changes(utc(2030, 3, 25), utc(2030, 4, 3), 5), Reason: "x"})
	tooLong := h.update(4*day+time.Hour, lifecycle.UpdateDeclareChanges, lifecycle.DeclareChangesInput{Actor: applicant, Changes: changes(utc(2030, 3, 1), utc(2030, 4, 3), 2), Reason: "x"})
	byEmbassy := h.update(4*day+2*time.Hour, lifecycle.UpdateDeclareChanges, lifecycle.DeclareChangesInput{Actor: embassySN, Changes: later, Reason: "x"})
	h.update(5*day, lifecycle.UpdateDeclareChanges, lifecycle.DeclareChangesInput{Actor: applicant, Changes: later, Reason: "Partenaire indisponible en mars"})
	again := h.update(5*day+time.Hour, lifecycle.UpdateDeclareChanges, lifecycle.DeclareChangesInput{Actor: applicant, Changes: later, Reason: "x"})
	unmotivated := h.update(6*day, lifecycle.UpdateReviewChanges, lifecycle.ReviewChangesInput{Actor: instructor, Outcome: lifecycle.ChangesRefuse})
	h.update(6*day+time.Hour, lifecycle.UpdateReviewChanges, lifecycle.ReviewChangesInput{Actor: instructor, Outcome: lifecycle.ChangesAcknowledge})
	// The old end passes without asking for the report; the new one asks.
	early := h.update(end+day, lifecycle.UpdateReport, report(fullCosts))
	h.update(end+14*day+day, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: applicant, Reason: "trop tard"})
	h.update(end+14*day+2*day, lifecycle.UpdateReport, report(fullCosts))
	h.update(end+14*day+3*day, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept})
	h.update(end+14*day+4*day, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: decider})
	h.update(end+14*day+5*day, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, Reference: "R", PaidOn: dossier.Date{Time: utc(2030, 4, 8)}})
	st := h.run(exampleDossier(t))
	for name, c := range map[string]struct {
		r    *result
		kind string
	}{
		"five agents":                  {tooMany, lifecycle.ErrInvalidInput},
		"a mission of 34 days":         {tooLong, lifecycle.ErrInvalidInput},
		"the embassy declaring":        {byEmbassy, lifecycle.ErrForbidden},
		"a second declaration":         {again, lifecycle.ErrInvalidState},
		"a refusal without its reason": {unmotivated, lifecycle.ErrInvalidInput},
		"a report before the new end":  {early, lifecycle.ErrInvalidState},
	} {
		if !isType(c.r.rejected, c.kind) {
			t.Errorf("%s: %v, want %s", name, c.r.rejected, c.kind)
		}
	}
	if !strings.Contains(tooMany.rejected.Error(), "changes.agents") {
		t.Errorf("five agents: %v, want the field changes.agents", tooMany.rejected)
	}
	want := []string{"submitted", "embassy_consulted", "opinion_given", "recommended", "approved",
		"changes_declared", "changes_acknowledged", "mission_ended", "report_submitted", "report_accepted", "payment_ordered", "payment_confirmed"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if ended := h.events[7].At; !ended.Equal(time.Date(2030, 4, 4, 0, 0, 0, 0, lifecycle.Paris)) {
		t.Fatalf("mission ended %v, want the new end", ended)
	}
	if st.Dossier.Mission.EndDate.String() != "2030-04-03" || len(st.Dossier.Agents) != 2 || st.Dossier.Agents[0].Name != "Agent 1" {
		t.Fatalf("dossier after the changes: %+v %+v", st.Dossier.Mission, st.Dossier.Agents)
	}
}

func TestChangedAgentsRefused(t *testing.T) {
	h := newHarness(t)
	approvedFor(t, h)
	d := exampleDossier(t)
	c := lifecycle.MissionChanges{StartDate: d.Mission.StartDate, EndDate: d.Mission.EndDate, Agents: d.Agents[:1]}
	h.update(5*day, lifecycle.UpdateDeclareChanges, lifecycle.DeclareChangesInput{Actor: applicant, Changes: c, Reason: "Un agent indisponible"})
	h.update(6*day, lifecycle.UpdateReviewChanges, lifecycle.ReviewChangesInput{Actor: instructor, Outcome: lifecycle.ChangesRefuse, Reason: "Expertise indispensable"})
	h.update(7*day, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: applicant, Reason: "Mission impossible sans lui"})
	st := h.run(d)
	want := []string{"submitted", "embassy_consulted", "opinion_given", "recommended", "approved", "changes_declared", "changes_refused", "renounced"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if len(st.Dossier.Agents) != len(d.Agents) || h.events[6].Details.Reason != "Expertise indispensable" {
		t.Fatalf("agents after a refusal: %d, want %d; reason %q", len(st.Dossier.Agents), len(d.Agents), h.events[6].Details.Reason)
	}
}

// attached describes n files of size bytes each, as the API resolves them.
func attached(n int, size int64) []lifecycle.Attachment {
	var out []lifecycle.Attachment
	for i := range n {
		out = append(out, lifecycle.Attachment{ID: fmt.Sprintf("ATT-%016d", i), Name: fmt.Sprintf("photo-%d.png", i),
			MediaType: "image/png", Size: size, SHA256: strings.Repeat(fmt.Sprintf("%x", i%16), 64)})
	}
	return out
}

// The report's files are checked against the application's rules (default:
// 10 files, 10 MiB each, 25 MiB together): too many, too heavy together, one
// too heavy or one listed twice is refused naming the field and the rule;
// an accepted report's files, with their SHA-256, are in its transition.
func TestReportAttachmentsWithinTheRules(t *testing.T) {
	h := newHarness(t)
	end := approvedFor(t, h)
	with := func(files []lifecycle.Attachment) lifecycle.ReportInput {
		in := report(fullCosts)
		in.Report.Attachments = files
		return in
	}
	twice := attached(2, 1000)
	twice[1].ID = twice[0].ID
	refusals := map[string]struct {
		r           *result
		field, rule string
	}{
		"eleven files":          {h.update(end+day, lifecycle.UpdateReport, with(attached(11, 1000))), "report.attachments", "max_files"},
		"26 MiB together":       {h.update(end+day+time.Hour, lifecycle.UpdateReport, with(attached(3, 9<<20))), "report.attachments", "max_total_size"},
		"one file over 10 MiB":  {h.update(end+day+2*time.Hour, lifecycle.UpdateReport, with(attached(1, 10<<20+1))), "report.attachments[0]", "max_file_size"},
		"a file listed twice":   {h.update(end+day+3*time.Hour, lifecycle.UpdateReport, with(twice)), "report.attachments[1]", "unique"},
		"a file without a hash": {h.update(end+day+4*time.Hour, lifecycle.UpdateReport, with([]lifecycle.Attachment{{ID: "ATT-1", Name: "a.pdf", MediaType: "application/pdf", Size: 1}})), "report.attachments[0].sha256", "required"},
	}
	files := attached(10, 2<<20)
	ok := h.update(end+2*day, lifecycle.UpdateReport, with(files))
	h.update(end+3*day, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept})
	h.update(end+4*day, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: decider})
	h.update(end+5*day, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, Reference: "R-1",
		PaidOn: dossier.Date{Time: time.Date(2030, 3, 26, 0, 0, 0, 0, time.UTC)}})
	st := h.run(exampleDossier(t))
	for name, c := range refusals {
		if !isType(c.r.rejected, lifecycle.ErrInvalidInput) {
			t.Errorf("%s: %v, want %s", name, c.r.rejected, lifecycle.ErrInvalidInput)
			continue
		}
		if msg := fmt.Sprint(c.r.rejected); !strings.Contains(msg, c.field) || !strings.Contains(msg, c.rule) {
			t.Errorf("%s: %v, want field %s and rule %s", name, c.r.rejected, c.field, c.rule)
		}
	}
	accepted(t, ok)
	if st.Status != lifecycle.StatusClosed {
		t.Fatalf("final state %s", st.Status)
	}
	var submitted *lifecycle.Transition
	for i := range h.events {
		if h.events[i].Event == lifecycle.EventReportSubmitted {
			submitted = &h.events[i]
		}
	}
	if submitted == nil || submitted.Details.Report == nil || !slices.Equal(submitted.Details.Report.Attachments, files) {
		t.Fatalf("report_submitted carries %+v, want the ten files", submitted)
	}
}

// TestSecondPhaseRefusals: every update of the second phase refused for its
// role, scope, state, payload, four-eyes rule or amount, each before the
// step that would make it possible, and none reaching the transitions.
func TestSecondPhaseRefusals(t *testing.T) {
	h := newHarness(t)
	end := approvedFor(t, h)
	paid := dossier.Date{Time: time.Date(2030, 3, 25, 0, 0, 0, 0, time.UTC)}
	noAgents := report(fullCosts)
	noAgents.Report.Agents = nil
	negative := report(lifecycle.ActualCosts{Travel: -1})
	empty := report(fullCosts)
	empty.Report.Activities = ""
	type attempt struct {
		name     string
		at       time.Duration
		update   string
		arg      any
		wantType string
		wantText string
	}
	d := exampleDossier(t)
	same := lifecycle.MissionChanges{StartDate: d.Mission.StartDate, EndDate: d.Mission.EndDate, Agents: d.Agents}
	attempts := []attempt{
		// Approved, the mission to come (from day 3).
		{"renunciation by another collectivité", 4 * day, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: otherTown, Reason: "r"}, lifecycle.ErrForbidden, "does not act"},
		{"renunciation by an instructor", 4 * day, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: instructor, Reason: "r"}, lifecycle.ErrForbidden, "may not"},
		{"renunciation without reason", 4 * day, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: applicant}, lifecycle.ErrInvalidInput, "reason"},
		{"changes declared by the embassy", 4 * day, lifecycle.UpdateDeclareChanges, lifecycle.DeclareChangesInput{Actor: embassySN, Changes: same, Reason: "r"}, lifecycle.ErrForbidden, "may not"},
		{"changes declared without reason", 4 * day, lifecycle.UpdateDeclareChanges, lifecycle.DeclareChangesInput{Actor: applicant, Changes: same}, lifecycle.ErrInvalidInput, "reason"},
		{"changes reviewed with none declared", 4 * day, lifecycle.UpdateReviewChanges, lifecycle.ReviewChangesInput{Actor: instructor, Outcome: lifecycle.ChangesAcknowledge}, lifecycle.ErrInvalidState, "approved"},
		{"report before the mission's end", 4 * day, lifecycle.UpdateReport, report(fullCosts), lifecycle.ErrInvalidState, "approved"},
		{"due date moved before the mission", 4 * day, lifecycle.UpdateExtendReport, lifecycle.ExtendReportInput{Actor: instructor, Until: paid, Reason: "r"}, lifecycle.ErrInvalidState, "approved"},
		{"grant cancelled before the mission", 4 * day, lifecycle.UpdateCancelGrant, lifecycle.CancelGrantInput{Actor: instructor, Motivation: "m"}, lifecycle.ErrInvalidState, "approved"},
		{"payment ordered before any report", 4 * day, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: decider}, lifecycle.ErrInvalidState, "approved"},
		// Awaiting the report (from the mission's end; filed a day later).
		{"renunciation once the mission started", end + 12*time.Hour, lifecycle.UpdateRenounce, lifecycle.RenounceInput{Actor: applicant, Reason: "r"}, lifecycle.ErrInvalidState, "awaiting_report"},
		{"changes once the mission is over", end + 12*time.Hour, lifecycle.UpdateDeclareChanges, lifecycle.DeclareChangesInput{Actor: applicant, Changes: same, Reason: "r"}, lifecycle.ErrInvalidState, "awaiting_report"},
		{"report by another collectivité", end + 12*time.Hour, lifecycle.UpdateReport, lifecycle.ReportInput{Actor: otherTown, Report: report(fullCosts).Report}, lifecycle.ErrForbidden, "does not act"},
		{"report by the embassy", end + 12*time.Hour, lifecycle.UpdateReport, lifecycle.ReportInput{Actor: embassySN, Report: report(fullCosts).Report}, lifecycle.ErrForbidden, "may not"},
		{"report without its agents", end + 12*time.Hour, lifecycle.UpdateReport, noAgents, lifecycle.ErrInvalidInput, "agents"},
		{"report with a negative cost", end + 12*time.Hour, lifecycle.UpdateReport, negative, lifecycle.ErrInvalidInput, "travel"},
		{"report without what was done", end + 12*time.Hour, lifecycle.UpdateReport, empty, lifecycle.ErrInvalidInput, "activities"},
		{"due date moved by a decider", end + 12*time.Hour, lifecycle.UpdateExtendReport, lifecycle.ExtendReportInput{Actor: decider, Until: dossier.Date{Time: time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC)}, Reason: "r"}, lifecycle.ErrForbidden, "may not"},
		{"due date moved into the past", end + 12*time.Hour, lifecycle.UpdateExtendReport, lifecycle.ExtendReportInput{Actor: instructor, Until: dossier.Date{Time: time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)}, Reason: "r"}, lifecycle.ErrInvalidInput, "until"},
		{"due date moved without reason", end + 12*time.Hour, lifecycle.UpdateExtendReport, lifecycle.ExtendReportInput{Actor: instructor, Until: dossier.Date{Time: time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC)}}, lifecycle.ErrInvalidInput, "reason"},
		{"grant cancelled before the due date", end + 12*time.Hour, lifecycle.UpdateCancelGrant, lifecycle.CancelGrantInput{Actor: instructor, Motivation: "m"}, lifecycle.ErrInvalidState, "awaiting_report"},
		{"report reviewed before it is filed", end + 12*time.Hour, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept}, lifecycle.ErrInvalidState, "awaiting_report"},
		// The report under review (filed a day after the end).
		{"report reviewed by a decider", end + 36*time.Hour, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: decider, Outcome: lifecycle.ReviewAccept}, lifecycle.ErrForbidden, "may not"},
		{"changes asked without saying which", end + 36*time.Hour, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAskChanges}, lifecycle.ErrInvalidInput, "message"},
		{"an unknown review outcome", end + 36*time.Hour, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: "maybe"}, lifecycle.ErrInvalidInput, "outcome"},
		{"payable above the amount granted", end + 36*time.Hour, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept, Payable: dossier.Euros(3001)}, lifecycle.ErrInvalidInput, "max_payable"},
		{"payment ordered before the report is accepted", end + 36*time.Hour, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: decider}, lifecycle.ErrInvalidState, "report_review"},
		// Awaiting the payment order (accepted two days after the end).
		{"payment ordered by an instructor", end + 60*time.Hour, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: instructor}, lifecycle.ErrForbidden, "may not"},
		{"payment ordered by the report's reviewer (four-eyes)", end + 60*time.Hour, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: instructorAsDecider}, lifecycle.ErrForbidden, "four-eyes"},
		{"payment confirmed before it is ordered", end + 60*time.Hour, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, Reference: "R", PaidOn: paid}, lifecycle.ErrInvalidState, "awaiting_payment_order"},
		// Payment ordered (three days after the end).
		{"payment confirmed by the decider", end + 84*time.Hour, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: decider, Reference: "R", PaidOn: paid}, lifecycle.ErrForbidden, "may not"},
		{"payment confirmed by an auditor", end + 84*time.Hour, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: auditor, Reference: "R", PaidOn: paid}, lifecycle.ErrForbidden, "may not"},
		{"payment confirmed without reference", end + 84*time.Hour, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, PaidOn: paid}, lifecycle.ErrInvalidInput, "reference"},
		{"payment dated in the future", end + 84*time.Hour, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, Reference: "R", PaidOn: dossier.Date{Time: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}}, lifecycle.ErrInvalidInput, "not_future"},
	}
	results := make([]*result, len(attempts))
	for i, a := range attempts {
		results[i] = h.update(a.at, a.update, a.arg)
	}
	steps := []*result{
		h.update(end+day, lifecycle.UpdateReport, report(fullCosts)),
		h.update(end+2*day, lifecycle.UpdateReviewReport, lifecycle.ReviewReportInput{Actor: instructor, Outcome: lifecycle.ReviewAccept}),
		h.update(end+3*day, lifecycle.UpdateOrderPayment, lifecycle.OrderPaymentInput{Actor: decider}),
		h.update(end+4*day, lifecycle.UpdateConfirmPayment, lifecycle.ConfirmPaymentInput{Actor: finance, Reference: "R-9", PaidOn: paid}),
	}
	h.run(d)
	for _, r := range steps {
		accepted(t, r)
	}
	for i, a := range attempts {
		r := results[i]
		if !isType(r.rejected, a.wantType) {
			t.Errorf("%s: %v, want %s", a.name, r.rejected, a.wantType)
			continue
		}
		if !strings.Contains(r.rejected.Error(), a.wantText) {
			t.Errorf("%s: refusal %q does not say %q", a.name, r.rejected.Error(), a.wantText)
		}
	}
	want := []string{"submitted", "embassy_consulted", "opinion_given", "recommended", "approved",
		"mission_ended", "report_submitted", "report_accepted", "payment_ordered", "payment_confirmed"}
	if got := h.eventNames(); !slices.Equal(got, want) {
		t.Fatalf("refused updates reached the transitions: %v", got)
	}
}
