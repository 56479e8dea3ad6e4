package web

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

func TestNormalizeMoney(t *testing.T) {
	for in, want := range map[string]string{
		"1 234,50": "1234.50", "1234": "1234", "1234.5": "1234.5", "2 400,00 €": "2400.00", "1.234,5": "1234.5", " 300 ": "300",
		"abc": "abc", "1\u202f000,00": "1000.00",
	} {
		if got := normalizeMoney(in); got != want {
			t.Errorf("normalizeMoney(%q) = %q, want %q", in, got, want)
		}
	}
}

// A form's fields become the dossier the API reads, and the dossier's
// values come back as the same fields.
func TestDossierRoundTrip(t *testing.T) {
	f := formValues{"p.collectivite.name": "Commune de Nantes", "p.budget.travel": "2 400,50", "p.agents[0].name": "A",
		"p.agents[2].name": "C", "p.mission.start_date": "2030-03-11"}
	raw, err := json.Marshal(dossierJSON(f, "p."))
	if err != nil {
		t.Fatal(err)
	}
	var d dossier.Dossier
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	// The empty second row is not an agent.
	if len(d.Agents) != 2 || d.Agents[1].Name != "C" || d.Budget.Travel != 240050 || d.Collectivite.Name != "Commune de Nantes" {
		t.Fatalf("dossier = %+v", d)
	}
	back := dossierFields(d, "q.")
	for k, want := range map[string]string{"q.budget.travel": "2400.50", "q.agents[1].name": "C", "q.mission.start_date": "2030-03-11"} {
		if back[k] != want {
			t.Errorf("%s = %q, want %q", k, back[k], want)
		}
	}
}

func TestFieldIDs(t *testing.T) {
	if got := fieldID("dossier.agents[0].name"); got != "f-dossier-agents-0-name" {
		t.Fatal(got)
	}
}

// Every page parses with the layout.
func TestPagesParse(t *testing.T) {
	pages := parsePages()
	for _, name := range []string{"home", "problem", "verify", "list", "draft", "dossier", "timeline", "audit", "people", "embassies", "figures"} {
		if pages[name] == nil {
			t.Errorf("no page %q", name)
		}
	}
}

// Every message has both languages.
func TestMessagesBilingual(t *testing.T) {
	for k, m := range messages {
		if m[0] == "" || m[1] == "" {
			t.Errorf("message %q lacks a language", k)
		}
	}
}

// The dossier page renders with every form open, in both languages.
func TestDossierPageRenders(t *testing.T) {
	pages := parsePages()
	var forms []string
	for _, f := range stepForms {
		forms = append(forms, f.Path)
	}
	st := lifecycle.State{ApplicationID: "EXP-TEST", Status: lifecycle.StatusUnderReview,
		Steps:     []lifecycle.Step{{Seq: 1, Event: "submitted", Status: lifecycle.StatusSubmitted, Actor: lifecycle.Actor{ID: "a", Role: lifecycle.RoleApplicant}, At: time.Now()}},
		Deadlines: []lifecycle.Deadline{{Name: "complements", Due: time.Now()}},
		Opinion:   &lifecycle.Opinion{Value: "favorable"}, Recommendation: &lifecycle.Recommendation{Value: "approve", Amount: 100}}
	for _, lang := range []string{"fr", "en"} {
		dp := dossierPage{State: st, Stepper: newStepper(st.Status, lang), Forms: forms, Failed: "opinion",
			Values: formValues{"opinion": "favorable"}, Fields: formValues{}, Letters: []string{"approval"}}
		p := page{Lang: lang, Data: dp, Errors: map[string]string{"opinion": "x"}}
		var buf bytes.Buffer
		if err := pages["dossier"].ExecuteTemplate(&buf, "layout", p); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), `id="opinion-error"`) {
			t.Errorf("%s: the opinion's error is not next to it", lang)
		}
	}
}
