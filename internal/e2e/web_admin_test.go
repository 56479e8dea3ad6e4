package e2e_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/daect/expectct/internal/browsertest"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// TestWebAdmin changes the directories through the admin's pages in the
// browser: a grant refused for its field and then made, a revocation, the
// admin's own roles out of reach, an embassy's contact refused and then set;
// the auditor reads the same pages without their forms.
func TestWebAdmin(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	w := newWebVisit(t, s)
	w.signIn(s, testenv.Admin)

	w.open("/admin/personnes")
	w.fill(map[string]string{"#f-person": "agent.tunis", "#f-countries": "TN, XX", "#f-name": "Agent Tunis",
		"#f-email": "agent.tunis@diplomatie.gouv.fr", "#f-reason": "Nouvel attaché de coopération"})
	w.set("#f-role", "embassy")
	w.refusedForm(http.StatusUnprocessableEntity, chromedp.Click(`#grant-form button[type="submit"]`))
	if msg := w.text("#f-countries-error"); msg == "" {
		t.Fatal("the refused country is not shown next to the countries field")
	}
	if got := w.value("#f-person"); got != "agent.tunis" {
		t.Fatalf("the refused form lost what was typed: person %q", got)
	}
	w.fill(map[string]string{"#f-countries": "TN"})
	w.submitForm(`#grant-form button[type="submit"]`)
	if !strings.Contains(w.text("#people"), "agent.tunis") {
		t.Fatal("the granted person is not in the directory")
	}
	p, err := s.Store.Person(t.Context(), "agent.tunis")
	if err != nil || !slices.ContainsFunc(p.Grants, func(g store.Grant) bool { return g.Role == "embassy" && slices.Equal(g.Countries, []string{"TN"}) }) {
		t.Fatalf("directory after the grant: %+v, %v", p, err)
	}

	// The revocation, from the person's row.
	w.submitForm(`form[action="/admin/personnes/retrait"]:has(input[value="agent.tunis"]) button`)
	if p, err := s.Store.Person(t.Context(), "agent.tunis"); err != nil || len(p.Grants) != 0 {
		t.Fatalf("directory after the revocation: %+v, %v", p, err)
	}
	// The admin's own roles are out of reach: the API's refusal, in words.
	w.refusedForm(http.StatusForbidden, chromedp.Click(`form[action="/admin/personnes/retrait"]:has(input[value="`+testenv.Admin.ID+`"]) button`))
	if msg := w.text("#problem"); !strings.Contains(msg, "ses propres rôles") {
		t.Fatalf("the refusal says %q", msg)
	}

	// An embassy's contact: "Modifier" fills the form with the entry.
	w.open("/admin/ambassades")
	w.navigates(chromedp.Click(`a[href^="/admin/ambassades?pays=SN"]`))
	w.check()
	if got := w.value("#f-emails"); got == "" {
		t.Fatal("the form is not filled with Senegal's entry")
	}
	w.fill(map[string]string{"#f-emails": "scac.dakar@diplomatie.gouv.fr, pas-une-adresse"})
	w.refusedForm(http.StatusUnprocessableEntity, chromedp.Click(`#embassy-form button[type="submit"]`))
	if msg := w.text("#f-emails-error"); msg == "" {
		t.Fatal("the refused address is not shown next to the e-mails field")
	}
	w.fill(map[string]string{"#f-emails": "scac.dakar@diplomatie.gouv.fr, coop.dakar@diplomatie.gouv.fr"})
	w.submitForm(`#embassy-form button[type="submit"]`)
	e, err := s.Store.Embassy(t.Context(), "SN")
	if err != nil || !slices.Equal(e.Emails, []string{"scac.dakar@diplomatie.gouv.fr", "coop.dakar@diplomatie.gouv.fr"}) {
		t.Fatalf("Senegal's contact after the change: %+v, %v", e, err)
	}
	w.signOut()

	// The auditor reads the directories, without the forms.
	w.signIn(s, testenv.Auditor)
	for _, page := range []string{"/admin/personnes", "/admin/ambassades"} {
		w.open(page)
		if n := w.count("#grant-form, #embassy-form, form[action='/admin/personnes/retrait']"); n != 0 {
			t.Errorf("%s shows the auditor %d forms that change the directory", page, n)
		}
	}
}

// value is what a field holds now.
func (w *webVisit) value(sel string) string {
	w.t.Helper()
	return browsertest.Get(w.b, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).value`, sel)))
}

// count is how many elements the page has that match sel.
func (w *webVisit) count(sel string) int {
	w.t.Helper()
	return browsertest.Get(w.b, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
}
