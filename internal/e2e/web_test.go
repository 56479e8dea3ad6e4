package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/daect/expectct/internal/browsertest"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// webVisit drives the web application in headless Chromium as one person
// after another, each signing in on the stack's OpenID provider.
type webVisit struct {
	t    *testing.T
	b    *browsertest.Browser
	base string
	// shots is where the screenshots go: docs/screenshots when
	// EXPECTCT_WRITE_SCREENSHOTS=1, else a temporary directory.
	shots string
}

func newWebVisit(t *testing.T, s *testenv.Stack) *webVisit {
	shots := t.TempDir()
	if os.Getenv("EXPECTCT_WRITE_SCREENSHOTS") == "1" {
		shots = filepath.Join(testenv.RepoRoot(t), "docs", "screenshots")
	}
	return &webVisit{t: t, b: browsertest.New(t), base: s.Web().URL, shots: shots}
}

// open loads a page and checks it: axe-core finds no serious or critical
// violation, and the browser logged no error.
func (w *webVisit) open(path string) {
	w.t.Helper()
	w.b.Run(chromedp.Navigate(w.base+path), chromedp.WaitReady("#contenu"))
	w.check()
}

func (w *webVisit) check() {
	w.t.Helper()
	w.b.Axe(w.t)
	w.b.AssertNoConsoleErrors(w.t)
}

func (w *webVisit) shot(name string) {
	w.t.Helper()
	w.b.Screenshot(w.t, filepath.Join(w.shots, name+".png"))
}

// signIn goes through the ProConnect button and the provider's page.
func (w *webVisit) signIn(s *testenv.Stack, a lifecycle.Actor) {
	w.t.Helper()
	s.Grant(a)
	w.open("/")
	w.b.Run(chromedp.Click("#proconnect"), chromedp.WaitVisible(`input[name="username"]`),
		chromedp.SendKeys(`input[name="username"]`, a.ID), chromedp.SendKeys(`input[name="password"]`, testenv.TestPassword),
		chromedp.Click(`button[type="submit"]`), chromedp.WaitVisible(".fr-header__tools-links [data-who]"))
	if !strings.Contains(w.b.URL(), "/demandes") {
		w.t.Fatalf("%s signed in to %s, not the inbox", a.ID, w.b.URL())
	}
	w.check()
}

func (w *webVisit) signOut() {
	w.t.Helper()
	w.navigates(chromedp.Click(`.fr-header__tools-links form[action="/deconnexion"] button`))
	w.b.Run(chromedp.WaitVisible("#proconnect"))
}

func (w *webVisit) text(sel string) string {
	w.t.Helper()
	return browsertest.Get(w.b, chromedp.Text(sel))
}

// submitForm posts a form and waits for the next page.
func (w *webVisit) submitForm(button string) {
	w.t.Helper()
	w.navigates(chromedp.Click(button))
	w.check()
}

// navigates runs an action that loads another page and waits until that
// page is complete: the old page is marked, and the mark must be gone.
func (w *webVisit) navigates(action chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	browsertest.Get(w.b, chromedp.Evaluate[bool](`window.expectctOldPage = true`))
	w.b.Run(action)
	deadline := time.Now().Add(30 * time.Second)
	for !browsertest.Get(w.b, chromedp.Evaluate[bool](`!window.expectctOldPage && document.readyState === "complete"`)) {
		if time.Now().After(deadline) {
			w.t.Fatalf("no new page after the action at %s", w.b.URL())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// refusedForm posts a form the API refuses with status: the page comes
// back with the refusal shown.
func (w *webVisit) refusedForm(status int, submit chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	w.navigates(submit)
	w.b.Run(chromedp.WaitVisible("#problem"))
	w.b.ExpectRefusal(w.b.URL(), status)
	w.check()
}

// type fills a field with the keyboard, after clearing it.
func (w *webVisit) fill(fields map[string]string) {
	w.t.Helper()
	for sel, value := range fields {
		w.set(sel, "")
		w.b.Run(chromedp.SendKeys(sel, value))
	}
}

// set gives a select or a date field its value, as picking it would.
func (w *webVisit) set(sel, value string) {
	w.t.Helper()
	js := fmt.Sprintf(`(function(){var e=document.querySelector(%q);e.value=%q;e.dispatchEvent(new Event("change",{bubbles:true}));return e.value})()`, sel, value)
	if got := browsertest.Get(w.b, chromedp.Evaluate[string](js)); got != value {
		w.t.Fatalf("%s = %q, want %q", sel, got, value)
	}
}

func (w *webVisit) choose(radio string) {
	w.t.Helper()
	w.b.Run(chromedp.Click(`label[for="` + radio + `"]`))
}

// TestWebJourney takes one application through the web application from
// its draft to the decision and the audit, each role signing in as its own
// person: the draft saved and resumed, a field error next to its field,
// the submission, the embassy's opinion, complements asked and answered,
// the recommendation, the four-eyes refusal, the decision and the
// auditor's timeline. Every page is checked with axe-core and for console
// errors; the main page of each role is photographed.
func TestWebJourney(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	w := newWebVisit(t, s)

	w.open("/")
	w.shot("home")
	w.open("/verification")

	// The applicant starts a draft, saves part of it and comes back to it.
	w.signIn(s, testenv.Applicant)
	w.b.Run(chromedp.Click("#new-application"), chromedp.WaitVisible("#draft-form"))
	w.check()
	if got := browsertest.Get(w.b, chromedp.Value("#f-collectivite-siren")); got != testenv.Applicant.SIREN {
		t.Errorf("new draft's SIREN = %q, want the applicant's %s", got, testenv.Applicant.SIREN)
	}
	draftURL := w.b.URL()
	w.fill(map[string]string{"#f-collectivite-name": "Commune de Nantes", "#f-collectivite-region": "Pays de la Loire"})
	w.set("#f-collectivite-kind", "commune")
	w.submitForm("#save-draft")
	w.open("/demandes")
	w.shot("applicant")
	if !strings.Contains(w.text("#drafts"), draftURL[strings.LastIndex(draftURL, "/")+1:]) {
		t.Fatalf("the inbox does not list the draft %s", draftURL)
	}
	w.b.Run(chromedp.Navigate(draftURL), chromedp.WaitVisible("#draft-form"))
	if got := browsertest.Get(w.b, chromedp.Value("#f-collectivite-name")); got != "Commune de Nantes" {
		t.Fatalf("resumed draft's name = %q", got)
	}

	// The rest of the dossier, typed, with a mission ending before it starts.
	start := time.Now().AddDate(0, 3, 0)
	w.fill(map[string]string{
		"#f-contact-name": "Claire Martin", "#f-contact-email": "claire.martin@mairie-nantes.example", "#f-contact-phone": "02 40 41 90 00",
		"#f-partner-authority": "Commune de Rufisque", "#f-partner-city": "Rufisque", "#f-partner-country": "SN",
		"#f-mission-title": "Appui à la collecte des déchets", "#f-mission-theme": "Environnement",
		"#f-mission-objectives": "Diagnostic partagé de la collecte dans trois quartiers pilotes.",
		"#f-agents-0-name":      "Julien Lefèvre", "#f-agents-0-position": "Responsable propreté", "#f-agents-0-expertise": "Collecte",
		"#f-agents-1-name": "Sophie Bernard", "#f-agents-1-position": "Ingénieure", "#f-agents-1-expertise": "Tournées",
		"#f-budget-travel": "2 400,00", "#f-budget-accommodation": "1200", "#f-budget-daily_allowances": "900",
		"#f-budget-other": "300", "#f-budget-requested": "3500", "#f-budget-own_share": "1300",
	})
	w.set("#f-partner-partnership", "existing")
	w.set("#f-mission-start_date", start.Format(time.DateOnly))
	w.set("#f-mission-end_date", start.AddDate(0, 0, -1).Format(time.DateOnly))
	// The totals follow the typing.
	if got := w.text("#total-cost"); got != "4800.00" {
		t.Errorf("total cost shown while typing = %q, want 4800.00", got)
	}
	// Submitted from the keyboard: focus on the button, Enter.
	w.b.Run(chromedp.Focus("#submit-application"))
	w.refusedForm(http.StatusUnprocessableEntity, chromedp.KeyEvent(kb.Enter))
	if msg := w.text("#f-mission-end_date-error"); !strings.Contains(msg, "La date de fin") {
		t.Fatalf("the end date's error, next to its field, = %q", msg)
	}
	w.set("#f-mission-end_date", start.AddDate(0, 0, 9).Format(time.DateOnly))
	w.b.Run(chromedp.Focus("#submit-application"), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible("#status"))
	w.check()
	id := w.b.URL()[strings.LastIndex(w.b.URL(), "/")+1:]
	id, _, _ = strings.Cut(id, "?")
	if !strings.HasPrefix(id, "EXP-") {
		t.Fatalf("submission led to %s", w.b.URL())
	}
	w.signOut()
	settle(t, s, id, lifecycle.StatusEmbassyConsultation)

	// The embassy's inbox holds it; an opinion without a value is refused
	// next to its field, then given.
	w.signIn(s, testenv.EmbassySN)
	if !strings.Contains(w.text("#applications"), id) {
		t.Fatalf("the embassy's inbox lacks %s", id)
	}
	w.shot("embassy")
	w.open("/demandes/" + id)
	w.refusedForm(http.StatusUnprocessableEntity, chromedp.Click("#submit-opinion"))
	if msg := w.text("#opinion-error"); msg == "" {
		t.Fatal("no error next to the opinion field")
	}
	w.choose("opinion-favorable")
	w.fill(map[string]string{"#f-opinion-comment": "Partenariat actif et utile."})
	w.submitForm("#submit-opinion")
	w.signOut()
	settle(t, s, id, lifecycle.StatusUnderReview)

	// The instructor asks for complements.
	w.signIn(s, testenv.Instructor)
	w.shot("instructor")
	w.open("/demandes/" + id)
	w.fill(map[string]string{"#f-complements-request-message": "Précisez le calendrier des tournées."})
	w.submitForm("#submit-complements-request")
	w.signOut()
	settle(t, s, id, lifecycle.StatusAwaitingComplements)

	// The applicant answers with the dossier pre-filled.
	w.signIn(s, testenv.Applicant)
	w.open("/demandes/" + id)
	if got := browsertest.Get(w.b, chromedp.Value("#f-dossier-mission-title")); got != "Appui à la collecte des déchets" {
		t.Fatalf("complements form's title = %q, want the dossier's", got)
	}
	w.fill(map[string]string{"#f-dossier-mission-objectives": "Diagnostic partagé, calendrier des tournées en annexe.", "#f-complements-comment": "Calendrier ajouté."})
	w.submitForm("#submit-complements")
	w.signOut()
	settle(t, s, id, lifecycle.StatusUnderReview)

	// The instructor recommends; the same person, also a decider, is
	// refused the decision (four eyes), with the API's words.
	s.Grant(testenv.InstructorAsDec)
	w.signIn(s, testenv.Instructor)
	w.open("/demandes/" + id)
	w.choose("recommendation-approve")
	w.fill(map[string]string{"#f-recommendation-amount": "3500", "#f-recommendation-comment": "Dossier solide."})
	w.submitForm("#submit-recommendation")
	settle(t, s, id, lifecycle.StatusAwaitingDecision)
	w.open("/demandes/" + id)
	w.choose("decision-approve")
	w.fill(map[string]string{"#f-decision-amount": "3500", "#f-decision-motivation": "Accord."})
	w.refusedForm(http.StatusForbidden, chromedp.Click("#submit-decision"))
	if msg := w.text("#problem"); !strings.Contains(msg, "Action non autorisée") {
		t.Fatalf("four-eyes refusal shows %q", msg)
	}
	w.signOut()

	// The decider's queue, then the decision.
	w.signIn(s, testenv.Decider)
	if !strings.Contains(w.text("#applications"), id) {
		t.Fatalf("the decider's queue lacks %s", id)
	}
	w.shot("decider")
	w.open("/demandes/" + id)
	if bounds := w.text("#bounds"); !strings.Contains(bounds, "3 500,00") {
		t.Errorf("decision bounds = %q", bounds)
	}
	w.choose("decision-approve")
	w.fill(map[string]string{"#f-decision-amount": "3500", "#f-decision-motivation": "Mission conforme aux priorités du programme."})
	w.submitForm("#submit-decision")
	if got := w.text("#status"); !strings.EqualFold(got, lifecycle.StatusLabel(string(lifecycle.StatusApproved), "fr")) {
		t.Fatalf("status after the decision = %q", got)
	}
	w.signOut()

	// The auditor finds it, reads its timeline with the refused attempt,
	// filters it, and verifies the journal.
	w.signIn(s, testenv.Auditor)
	w.open("/audit")
	w.shot("auditor")
	w.fill(map[string]string{"#search-id": id})
	w.submitForm(`form[action="/audit"] button`)
	if tl := w.text("#timeline"); !strings.Contains(tl, "attempt") || !strings.Contains(tl, "journal") || !strings.Contains(tl, "temporal") {
		t.Fatalf("the timeline lacks a source: %s", tl)
	}
	w.set("#source", "attempt")
	w.submitForm(`form[action$="/historique"] button`)
	if tl := w.text("#timeline"); strings.Contains(tl, "journal") || !strings.Contains(tl, "attempt") {
		t.Fatalf("filtered timeline: %s", tl)
	}
	w.open("/audit")
	w.fill(map[string]string{"#verify-id": id})
	w.submitForm("#run-verify")
	if got := w.text("#verify-result"); !strings.Contains(got, "Intégrité vérifiée") {
		t.Fatalf("audit verify: %s", got)
	}
	w.open("/chiffres")
	w.shot("figures")
	w.signOut()

	w.signIn(s, testenv.Admin)
	w.open("/admin/personnes")
	w.shot("admin")
	w.open("/admin/ambassades")
	w.signOut()

	// English, from the switch.
	w.open("/")
	w.submitForm(`.fr-header__tools-links form[action="/langue"] button`)
	if got := w.text("h1 + p"); !strings.Contains(got, "Ministry") {
		t.Errorf("English home page reads %q", got)
	}
}

// settle waits for the read model to reach the status.
func settle(t *testing.T, s *testenv.Stack, id string, want lifecycle.Status) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, err := s.Store.Application(t.Context(), id)
		if err == nil && a.Status == string(want) {
			return
		}
		if time.Now().After(deadline) {
			raw, _ := json.Marshal(a)
			t.Fatalf("%s did not reach %s: %s %v", id, want, raw, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
