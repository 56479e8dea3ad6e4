package e2e_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/daect/expectct/internal/browsertest"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// TestWebSecondPhase takes two approved applications through the second
// phase in the browser, each person signing in as themselves: on one, whose
// mission is to come, the applicant declares changes (refused first for a
// mission too long, the message next to its field) and the instructor
// acknowledges them; on the other, whose mission is over, the applicant
// files the report with a real file (refused first for a missing field,
// the file kept), the file is downloaded back, the instructor reviews the
// report (a reduction refused without its motivation), the decider orders
// the payment and the accounting service confirms it. Every page is checked
// by axe-core and for console errors; the report form is photographed.
func TestWebSecondPhase(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: calmRules()})
	toCome := &flow{t: t, s: s, id: submitAs(t, s, testenv.Applicant, testenv.ExampleDossier(t))}
	over := startMissionOverOn(t, s)
	for _, f := range []*flow{toCome, over} {
		waitConsulted(t, s, f.id)
		f.favorable(testenv.EmbassySN)
		f.grant()
	}
	s.WaitStatus(over.id, lifecycle.StatusAwaitingReport, wait)
	// An upload sent again with its Idempotency-Key (the web's retried
	// form) stores its file once; the key with another file is refused.
	upload := func(data string) (lifecycle.Attachment, int) {
		r := s.Do(&testenv.Applicant, "POST", "/v1/applications/"+over.id+"/report/attachments?name=essai.pdf", []byte(data), "Idempotency-Key", "attempt-1:file0")
		var a lifecycle.Attachment
		if r.Status == http.StatusCreated {
			r.JSON(t, &a)
		}
		return a, r.Status
	}
	first, _ := upload(reportPDF)
	if again, status := upload(reportPDF); status != http.StatusCreated || again.ID != first.ID || first.ID == "" {
		t.Fatalf("the same upload again: %d %s, first %s", status, again.ID, first.ID)
	}
	if _, status := upload(reportPDF + "%"); status != http.StatusConflict {
		t.Fatalf("another file with the same key: %d", status)
	}
	w := newWebVisit(t, s)

	// Changes to the mission to come: refused, then declared.
	w.signIn(s, testenv.Applicant)
	w.open("/demandes/" + toCome.id)
	if got := browsertest.Get(w.b, chromedp.Value("#f-changes-agents-0-name")); got == "" {
		t.Fatal("the declaration does not open with the approved agents")
	}
	w.set("#f-changes-end_date", "2030-05-30")
	w.fill(map[string]string{"#f-changes-reason": "Le partenaire reporte la mission."})
	w.refusedForm(http.StatusUnprocessableEntity, chromedp.Click("#submit-changes"))
	if msg := w.text("#f-changes-end_date-error"); msg == "" {
		t.Fatal("the mission's length is not refused next to its end date")
	}
	w.set("#f-changes-start_date", "2030-04-10")
	w.set("#f-changes-end_date", "2030-04-16")
	w.submitForm("#submit-changes")
	settle(t, s, toCome.id, lifecycle.StatusChangesDeclared)
	w.signOut()

	w.signIn(s, testenv.Instructor)
	w.open("/demandes/" + toCome.id)
	if got := w.text("#declared-changes"); !strings.Contains(got, "2030") {
		t.Fatalf("declared changes shown as %q", got)
	}
	w.choose("outcome-acknowledge")
	w.submitForm("#submit-changes-review")
	settle(t, s, toCome.id, lifecycle.StatusApproved)
	if st := s.State(toCome.id); st.Dossier.Mission.StartDate.String() != "2030-04-10" {
		t.Fatalf("after the acknowledgement the mission starts %s", st.Dossier.Mission.StartDate)
	}
	w.signOut()

	// The report of the mission over, with a file: refused without its
	// results (the file kept), then filed.
	pdf := filepath.Join(t.TempDir(), "compte-rendu.pdf")
	if err := os.WriteFile(pdf, []byte(reportPDF), 0o600); err != nil {
		t.Fatal(err)
	}
	w.signIn(s, testenv.Applicant)
	w.open("/demandes/" + over.id)
	w.fill(map[string]string{
		"#f-report-activities": "Diagnostic de la collecte avec les services de Rufisque.", "#f-report-follow_up": "Une mission retour en 2031.",
		"#f-report-agents": "Julien Lefèvre", "#f-report-costs-travel": "1200", "#f-report-costs-accommodation": "800",
		"#f-report-costs-daily_allowances": "600",
	})
	w.b.Run(chromedp.SetUploadFiles("#f-report-files", []string{pdf}))
	w.shot("report")
	w.refusedForm(http.StatusUnprocessableEntity, chromedp.Click("#submit-report"))
	if w.text("#f-report-results-error") == "" {
		t.Fatal("the missing results are not refused next to their field")
	}
	if got := w.text(`label[for="attached-0"]`); got != "compte-rendu.pdf" {
		t.Fatalf("the refused form kept %q, not the uploaded file", got)
	}
	w.fill(map[string]string{"#f-report-results": "Plan de collecte adopté par la commune."})
	w.submitForm("#submit-report")
	settle(t, s, over.id, lifecycle.StatusReportReview)
	st := s.State(over.id)
	if n := len(st.FollowUp.Report.Attachments); n != 1 {
		t.Fatalf("the report has %d files, want the one uploaded once", n)
	}
	file := st.FollowUp.Report.Attachments[0]
	href := browsertest.Get(w.b, chromedp.Evaluate[string](`document.querySelector("#attachments a").getAttribute("href")`))
	if href != "/demandes/"+over.id+"/pieces-jointes/"+file.ID {
		t.Fatalf("the file's link is %q", href)
	}
	w.signOut()

	// The file downloads back whole, for whoever may read the application;
	// another collectivité's applicant is refused.
	as := func(a lifecycle.Actor) webClient {
		cookie, csrf := s.WebSession(a)
		return webClient{t: t, base: s.Web().URL, cookie: cookie, csrf: csrf}
	}
	if status, body := as(testenv.Instructor).do("GET", href, nil); status != http.StatusOK || body != reportPDF {
		t.Fatalf("downloading the file: %d, %d bytes", status, len(body))
	}
	if status, _ := as(testenv.OtherApplicant).do("GET", href, nil); status != http.StatusForbidden {
		t.Fatalf("another town downloading the file: %d", status)
	}

	// The review: the most payable shown (90 % of 2,600 in Senegal), a
	// reduction refused without its motivation, then given.
	w.signIn(s, testenv.Instructor)
	w.open("/demandes/" + over.id)
	if got := w.text("#max-payable"); !strings.Contains(got, "2 340,00") {
		t.Fatalf("most payable shown as %q", got)
	}
	w.choose("outcome-accept")
	w.fill(map[string]string{"#f-report-review-payable": "2000"})
	w.refusedForm(http.StatusUnprocessableEntity, chromedp.Click("#submit-report-review"))
	if w.text("#f-report-review-motivation-error") == "" {
		t.Fatal("the reduction's missing motivation is not refused next to it")
	}
	w.fill(map[string]string{"#f-report-review-motivation": "Une nuitée prise en charge par le partenaire."})
	w.submitForm("#submit-report-review")
	settle(t, s, over.id, lifecycle.StatusAwaitingPaymentOrder)
	w.signOut()

	w.signIn(s, testenv.Decider)
	w.open("/demandes/" + over.id)
	w.submitForm("#submit-payment-order")
	settle(t, s, over.id, lifecycle.StatusPaymentOrdered)
	w.signOut()

	w.signIn(s, testenv.Finance)
	w.open("/demandes/" + over.id)
	w.fill(map[string]string{"#f-payment-confirmation-reference": "DAECT-2026-0099"})
	w.set("#f-payment-confirmation-paid_on", time.Now().In(lifecycle.Paris).Format("2006-01-02"))
	w.submitForm("#submit-payment-confirmation")
	settle(t, s, over.id, lifecycle.StatusClosed)
	if got := w.text("#paid"); !strings.Contains(got, "2 000,00") || !strings.Contains(got, "DAECT-2026-0099") {
		t.Fatalf("payment shown as %q", got)
	}
}
