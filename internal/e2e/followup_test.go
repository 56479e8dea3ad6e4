package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/testenv"
	"github.com/daect/expectct/workflows"
)

// startMissionOver starts an application whose mission ended three days
// ago, as the API starts one: the API itself refuses such a dossier (the
// notice period), so the second phase could not be reached in a test's
// time otherwise.
func startMissionOver(t *testing.T, r *rules.Rules) *flow {
	t.Helper()
	return startMissionOverOn(t, testenv.NewStack(t, testenv.StackOptions{Rules: r}))
}

// startMissionOverOn starts such an application on a stack already running.
func startMissionOverOn(t *testing.T, s *testenv.Stack) *flow {
	t.Helper()
	d, err := dossier.Decode(bytes.NewReader(testenv.ExampleDossier(t)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	end := missionOverEnd() // the day after the last day
	day := func(offset int) dossier.Date {
		return dossier.Date{Time: time.Date(end.Year(), end.Month(), end.Day()+offset, 0, 0, 0, 0, time.UTC)}
	}
	d.Mission.StartDate, d.Mission.EndDate = day(-8), day(-1)
	raw := make([]byte, 10)
	_, _ = rand.Read(raw)
	id := "EXP-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.StatusKey.ValueSet(string(lifecycle.StatusSubmitted)), workflows.CountryKey.ValueSet(d.Partner.Country)),
	}, workflows.WorkflowName, lifecycle.StartInput{ApplicationID: id, Submitter: testenv.Applicant, Dossier: d, Rules: s.Rules})
	if err != nil {
		t.Fatal(err)
	}
	return &flow{t: t, s: s, id: id}
}

// missionOverEnd is when startMissionOver's missions ended: the day after
// their last day, three days ago, at midnight in Paris.
func missionOverEnd() time.Time {
	today := time.Now().In(lifecycle.Paris)
	return time.Date(today.Year(), today.Month(), today.Day()-2, 0, 0, 0, 0, lifecycle.Paris)
}

// graceAfterStart is when overdueRules' grace period ends, from the test's
// start; the steps before must come first, and a wait for what follows
// must last longer.
const graceAfterStart = 90 * time.Second

// overdueRules make the report of startMissionOver's missions due long
// before the approval can come (4 s after the mission's end, two days ago),
// so it is overdue as soon as it is asked for, with no reminder; the grace
// period ends 90 s after the test starts, leaving time to approve first
// however many stacks share the machine.
func overdueRules() *rules.Rules {
	r := calmRules()
	due := missionOverEnd().Add(4 * time.Second)
	r.Timers.ReportDeadline = rules.Duration(4 * time.Second)
	r.Timers.ReportGrace = rules.Duration(time.Now().Add(graceAfterStart).Sub(due))
	return r
}

// approvedMissionOver is startMissionOver's application taken to its
// approval: the embassy's opinion, the recommendation and the grant.
func approvedMissionOver(t *testing.T, r *rules.Rules) *flow {
	t.Helper()
	f := startMissionOver(t, r)
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	f.grant()
	return f
}

// untilReportRequested are the e-mails of an approved application whose
// mission is over, up to the request for its report (seq 6).
func (f *flow) untilReportRequested() []mailWant {
	return []mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		f.approvalLetter(5, embassySNEmail, "3 500,00 €"),
		{seq: 6, template: lifecycle.MailReportRequested, to: lifecycle.ToApplicant, addr: applicantEmail,
			subject: "Compte rendu de mission attendu — demande " + f.id, contains: []string{"est terminée"}},
	}
}

func sampleReport(t *testing.T) map[string]any {
	t.Helper()
	var report map[string]any
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"report": report}
}

// pathPaidAndClosed: approved, the mission over, the report is filed,
// accepted with a reduced payable amount (actual costs of 4,550 EUR, 90 % in
// Senegal: 4,095, above the 3,000 granted, so the whole grant; then a lower
// amount chosen by the instructor, with its motivation), the payment is
// ordered by the decider and confirmed by the accounting service.
func pathPaidAndClosed(t *testing.T) (*testenv.Stack, string) {
	f := approvedMissionOver(t, calmRules())
	st := f.s.WaitStatus(f.id, lifecycle.StatusAwaitingReport, wait)
	if st.FollowUp == nil || st.FollowUp.ReportDue == nil {
		t.Fatalf("awaiting the report without a due date: %+v", st.FollowUp)
	}
	// The applicant of another collectivité may not file it; a report
	// without its agents is refused naming the field.
	if r := f.s.Do(&testenv.OtherApplicant, "POST", "/v1/applications/"+f.id+"/report", sampleReport(t)); r.Status != http.StatusForbidden {
		t.Fatalf("another town's report: %d %s", r.Status, r.Body)
	}
	bad := sampleReport(t)
	delete(bad["report"].(map[string]any), "agents")
	if r := f.s.Do(&testenv.Applicant, "POST", "/v1/applications/"+f.id+"/report", bad); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.Body), "report.agents") {
		t.Fatalf("a report without agents: %d %s", r.Status, r.Body)
	}
	st = f.step(testenv.Applicant, "report", sampleReport(t))
	if st.Status != lifecycle.StatusReportReview {
		t.Fatalf("after the report: %s", st.Status)
	}
	if r := f.s.Do(&testenv.Instructor, "POST", "/v1/applications/"+f.id+"/report-review",
		map[string]any{"outcome": "accept", "payable": "2800.00"}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.Body), "required_with_reduction") {
		t.Fatalf("a reduction without its motivation: %d %s", r.Status, r.Body)
	}
	f.step(testenv.Instructor, "report-review", map[string]any{"outcome": "accept", "payable": "2800.00",
		"motivation": "Une partie des frais de séjour a été prise en charge par le partenaire."})
	// Four-eyes: the person who reviewed the report may not order its payment.
	if r := f.s.Do(&testenv.InstructorAsDec, "POST", "/v1/applications/"+f.id+"/payment-order", map[string]any{}); r.Status != http.StatusForbidden {
		t.Fatalf("the reviewer ordering the payment: %d %s", r.Status, r.Body)
	}
	f.step(testenv.Decider, "payment-order", map[string]any{})
	if r := f.s.Do(&testenv.Decider, "POST", "/v1/applications/"+f.id+"/payment-confirmation",
		map[string]any{"reference": "DAECT-2026-0042", "paid_on": time.Now().Format("2006-01-02")}); r.Status != http.StatusForbidden {
		t.Fatalf("the decider confirming the payment: %d %s", r.Status, r.Body)
	}
	f.step(testenv.Finance, "payment-confirmation", map[string]any{"reference": "DAECT-2026-0042", "paid_on": time.Now().In(lifecycle.Paris).Format("2006-01-02")})

	st = f.closed()
	checkSteps(t, st, lifecycle.StatusClosed, 10)
	if p := st.FollowUp.Paid; p == nil || p.Amount != dossier.Euros(2800) || p.Reference != "DAECT-2026-0042" || p.Actor.ID != testenv.Finance.ID {
		t.Fatalf("payment %+v", p)
	}
	f.checkJournal(lifecycle.StatusClosed, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventRecommended, lifecycle.EventApproved, lifecycle.EventMissionEnded,
		lifecycle.EventReportSubmitted, lifecycle.EventReportAccepted, lifecycle.EventPaymentOrdered, lifecycle.EventPaymentConfirmed)
	f.checkMails(append(f.untilReportRequested(), []mailWant{
		{seq: 7, template: lifecycle.MailReportReceived, to: lifecycle.ToSecretariat, addr: testenv.Secretariat,
			subject: "Compte rendu déposé — demande " + f.id, contains: []string{"a déposé le compte rendu"}},
		{seq: 8, template: lifecycle.MailReportAccepted, to: lifecycle.ToApplicant, addr: applicantEmail,
			subject:  "Compte rendu accepté — demande " + f.id,
			contains: []string{"Montant à verser : 2 800,00 €", "montant accordé : 3 000,00 €", "prise en charge par le partenaire"}},
		{seq: 9, template: lifecycle.MailPaymentOrdered, to: lifecycle.ToApplicant, addr: applicantEmail,
			subject: "Paiement ordonné — demande " + f.id, contains: []string{"ordonné le paiement de 2 800,00 €"}},
		{seq: 10, template: lifecycle.MailPaymentConfirmed, to: lifecycle.ToApplicant, addr: applicantEmail,
			subject:  "Paiement effectué, dossier soldé — demande " + f.id,
			contains: []string{"référence comptable DAECT-2026-0042", "est soldé"}},
	}...))
	// The payment statement: downloadable, and verifiable by its code.
	letter := f.s.Do(&testenv.Applicant, "GET", "/v1/applications/"+f.id+"/letters/payment_statement", nil)
	if letter.Status != http.StatusOK || letter.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("payment statement: %d %s", letter.Status, letter.Header.Get("Content-Type"))
	}
	if v := f.s.Do(nil, "GET", "/v1/letters/verify/"+letter.Header.Get("Expectct-Letter-Code"), nil); v.Status != http.StatusOK ||
		!strings.Contains(string(v.Body), "2800") {
		t.Fatalf("verifying the payment statement: %d %s", v.Status, v.Body)
	}
	f.checkReadModel(readModelWant{status: lifecycle.StatusClosed, requested: 3500,
		recommended: cents(3000), granted: cents(3000), decided: true, lastSeq: 10, country: "SN"})
	return f.s, f.id
}

// pathGrantCancelled: approved, the mission over, no report: overdue (DAECT
// told), the grace period passes, the instructor cancels.
func pathGrantCancelled(t *testing.T) (*testenv.Stack, string) {
	f := approvedMissionOver(t, overdueRules())
	f.s.WaitStatus(f.id, lifecycle.StatusReportOverdue, wait)
	if r := f.s.Do(&testenv.Instructor, "POST", "/v1/applications/"+f.id+"/cancellation",
		map[string]string{"motivation": "trop tôt"}); r.Status != http.StatusConflict {
		t.Fatalf("cancelling before the grace period ends: %d %s", r.Status, r.Body)
	}
	f.s.Mailpit.WaitFor(t, 7, 2*graceAfterStart) // … report requested, overdue notice, grace period over
	f.step(testenv.Instructor, "cancellation", map[string]string{"motivation": "Aucun compte rendu reçu malgré les rappels."})

	st := f.closed()
	checkSteps(t, st, lifecycle.StatusCancelled, 9)
	f.checkJournal(lifecycle.StatusCancelled, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventRecommended, lifecycle.EventApproved, lifecycle.EventMissionEnded,
		lifecycle.EventReportOverdue, lifecycle.EventReportGraceExpired, lifecycle.EventGrantCancelled)
	f.checkMails(append(f.untilReportRequested(), []mailWant{
		{seq: 7, template: lifecycle.MailReportOverdue, to: lifecycle.ToSecretariat, addr: testenv.Secretariat,
			subject: "Compte rendu en retard — demande " + f.id, contains: []string{"n'a pas été déposé"}},
		{seq: 8, template: lifecycle.MailReportGraceExpired, to: lifecycle.ToSecretariat, addr: testenv.Secretariat,
			subject: "Période de grâce écoulée — demande " + f.id, contains: []string{"annuler la subvention"}},
		{seq: 9, template: lifecycle.MailGrantCancelled, to: lifecycle.ToApplicant, addr: applicantEmail, cc: []string{embassySNEmail},
			subject: "Annulation de la subvention — demande " + f.id, contains: []string{"Aucun compte rendu reçu malgré les rappels."}},
	}...))
	f.checkReadModel(readModelWant{status: lifecycle.StatusCancelled, requested: 3500,
		recommended: cents(3000), granted: cents(3000), decided: true, lastSeq: 9, country: "SN"})
	return f.s, f.id
}

// pathReportChangesThenPaid: the report is sent back for changes, filed
// again and accepted in full; the payment follows.
func pathReportChangesThenPaid(t *testing.T) (*testenv.Stack, string) {
	f := approvedMissionOver(t, calmRules())
	f.s.WaitStatus(f.id, lifecycle.StatusAwaitingReport, wait)
	f.step(testenv.Applicant, "report", sampleReport(t))
	st := f.step(testenv.Instructor, "report-review", map[string]any{"outcome": "ask_changes", "message": "Joindre le détail des frais de séjour."})
	if st.Status != lifecycle.StatusAwaitingReportChange || st.FollowUp.ReportDue == nil {
		t.Fatalf("after asking for changes: %s %+v", st.Status, st.FollowUp)
	}
	f.step(testenv.Applicant, "report", sampleReport(t))
	f.step(testenv.Instructor, "report-review", map[string]any{"outcome": "accept"})
	f.step(testenv.Decider, "payment-order", map[string]any{"comment": "Imputation 2026"})
	f.step(testenv.Finance, "payment-confirmation", map[string]any{"reference": "DAECT-2026-0043", "paid_on": time.Now().In(lifecycle.Paris).Format("2006-01-02")})
	st = f.closed()
	checkSteps(t, st, lifecycle.StatusClosed, 12)
	if p := st.FollowUp.Paid; p == nil || p.Amount != dossier.Euros(3000) {
		t.Fatalf("payment %+v, want the 3,000 EUR granted", p)
	}
	f.checkJournal(lifecycle.StatusClosed, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventRecommended, lifecycle.EventApproved, lifecycle.EventMissionEnded,
		lifecycle.EventReportSubmitted, lifecycle.EventReportChangesRequested, lifecycle.EventReportSubmitted,
		lifecycle.EventReportAccepted, lifecycle.EventPaymentOrdered, lifecycle.EventPaymentConfirmed)
	f.mails(11)
	return f.s, f.id
}

// pathOverdueThenExtended: the report is overdue at once; the instructor
// moves its due date, the applicant is reminded before it, the report
// comes, is accepted and paid.
func pathOverdueThenExtended(t *testing.T) (*testenv.Stack, string) {
	// The due date moves to the end of the day 20 days from now; the
	// reminder before it is timed to come 75 s after the test starts, once
	// the extension is made.
	today := time.Now().In(lifecycle.Paris)
	until := time.Date(today.Year(), today.Month(), today.Day()+20, 0, 0, 0, 0, lifecycle.Paris)
	due := until.AddDate(0, 0, 1)
	r := overdueRules()
	r.Timers.ReportReminder = rules.Duration(due.Sub(time.Now().Add(75 * time.Second)))
	f := approvedMissionOver(t, r)
	f.s.WaitStatus(f.id, lifecycle.StatusReportOverdue, wait)
	if r := f.s.Do(&testenv.Instructor, "POST", "/v1/applications/"+f.id+"/report-deadline",
		map[string]string{"until": "2020-01-01", "reason": "x"}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "until") {
		t.Fatalf("a due date in the past: %d %s", r.Status, r.Body)
	}
	st := f.step(testenv.Instructor, "report-deadline", map[string]string{"until": until.Format("2006-01-02"), "reason": "Agents en congé jusqu'à la fin du mois."})
	if st.Status != lifecycle.StatusAwaitingReport {
		t.Fatalf("after the extension: %s", st.Status)
	}
	f.s.Mailpit.WaitFor(t, 8, 2*graceAfterStart) // … overdue notice, new due date, reminder
	f.step(testenv.Applicant, "report", sampleReport(t))
	f.step(testenv.Instructor, "report-review", map[string]any{"outcome": "accept"})
	f.step(testenv.Decider, "payment-order", map[string]any{})
	f.step(testenv.Finance, "payment-confirmation", map[string]any{"reference": "DAECT-2026-0044", "paid_on": time.Now().In(lifecycle.Paris).Format("2006-01-02")})
	st = f.closed()
	checkSteps(t, st, lifecycle.StatusClosed, 13)
	f.checkJournal(lifecycle.StatusClosed, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventRecommended, lifecycle.EventApproved, lifecycle.EventMissionEnded,
		lifecycle.EventReportOverdue, lifecycle.EventReportDeadlineExtended, lifecycle.EventReportReminded, lifecycle.EventReportSubmitted,
		lifecycle.EventReportAccepted, lifecycle.EventPaymentOrdered, lifecycle.EventPaymentConfirmed)
	got := f.s.Mailpit.WaitFor(t, 12, wait)
	var extended, reminded bool
	// The new due date's day as the English part writes it: "24 December 2026".
	last := until.Format("2 January 2006")
	for _, m := range got {
		if strings.HasPrefix(m.Subject, "[EXPE-CT] Nouveau délai pour le compte rendu") && strings.Contains(m.Text, "to "+last) {
			extended = true
		}
		if strings.HasPrefix(m.Subject, "[EXPE-CT] Rappel : compte rendu de mission attendu") && strings.Contains(m.Text, "by "+last) {
			reminded = true
		}
	}
	if !extended || !reminded {
		t.Fatalf("the applicant was told of the new due date: %v, reminded of it: %v", extended, reminded)
	}
	return f.s, f.id
}

// pathChangesThenRenounced: the applicant declares one agent fewer, which
// the instructor refuses, then new dates and agents, which the instructor
// acknowledges (the read model's dossier follows),
// then the applicant gives the mission up before it starts.
func pathChangesThenRenounced(t *testing.T) (*testenv.Stack, string) {
	f := start(t, calmRules(), testenv.ExampleDossier(t))
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	f.grant()
	agents := []map[string]string{{"name": "Julien Lefèvre", "position": "Responsable du service propreté urbaine", "expertise": "Collecte"}}
	bad := map[string]any{"changes": map[string]any{"start_date": "2030-04-10", "end_date": "2030-05-30", "agents": agents}, "reason": "x"}
	if r := f.s.Do(&testenv.Applicant, "POST", "/v1/applications/"+f.id+"/changes", bad); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.Body), "changes.end_date") {
		t.Fatalf("a mission of 51 days: %d %s", r.Status, r.Body)
	}
	// A first declaration refused: the mission stays as approved.
	f.step(testenv.Applicant, "changes", map[string]any{
		"changes": map[string]any{"start_date": "2030-03-11", "end_date": "2030-03-20", "agents": agents},
		"reason":  "Un seul agent disponible."})
	if r := f.s.Do(&testenv.Instructor, "POST", "/v1/applications/"+f.id+"/changes-review", map[string]any{"outcome": "refuse"}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.Body), "reason") {
		t.Fatalf("a refusal without its reason: %d %s", r.Status, r.Body)
	}
	st := f.step(testenv.Instructor, "changes-review", map[string]any{"outcome": "refuse", "reason": "Les deux expertises sont nécessaires."})
	if st.Status != lifecycle.StatusApproved || len(st.Dossier.Agents) != 2 {
		t.Fatalf("after the refusal: %s, %d agents", st.Status, len(st.Dossier.Agents))
	}
	st = f.step(testenv.Applicant, "changes", map[string]any{
		"changes": map[string]any{"start_date": "2030-04-10", "end_date": "2030-04-16", "agents": agents},
		"reason":  "Le partenaire reporte la mission d'un mois."})
	if st.Status != lifecycle.StatusChangesDeclared {
		t.Fatalf("after the declaration: %s", st.Status)
	}
	st = f.step(testenv.Instructor, "changes-review", map[string]any{"outcome": "acknowledge"})
	if st.Status != lifecycle.StatusApproved || st.Dossier.Mission.EndDate.String() != "2030-04-16" || len(st.Dossier.Agents) != 1 {
		t.Fatalf("after the acknowledgement: %s %+v", st.Status, st.Dossier.Mission)
	}
	f.renounce()
	f.checkJournal(lifecycle.StatusRenounced, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventRecommended, lifecycle.EventApproved,
		lifecycle.EventChangesDeclared, lifecycle.EventChangesRefused,
		lifecycle.EventChangesDeclared, lifecycle.EventChangesAcknowledged, lifecycle.EventRenounced)
	got := f.s.Mailpit.WaitFor(t, 9, wait)
	var acknowledged bool
	for _, m := range got {
		if strings.HasPrefix(m.Subject, "[EXPE-CT] Changement pris en compte") && strings.Contains(m.Text, "du 2030-04-10 au 2030-04-16") {
			acknowledged = true
		}
	}
	if !acknowledged {
		t.Fatal("the applicant was not told the changes stand, with the new dates")
	}
	return f.s, f.id
}

// TestSecondPhaseAuditVerifies: every path of the second phase leaves a
// journal that audit verify finds whole and meaningful, step by step
// against the workflow's history.
func TestSecondPhaseAuditVerifies(t *testing.T) {
	for _, p := range []struct {
		name string
		run  func(t *testing.T) (*testenv.Stack, string)
	}{{"paid_and_closed", pathPaidAndClosed}, {"changes_then_renounced", pathChangesThenRenounced}} {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			s, id := p.run(t)
			if rep := apiVerify(t, s, id); !rep.OK || rep.Checked != 1 {
				t.Fatalf("audit verify of %s: %+v", id, rep)
			}
		})
	}
}
