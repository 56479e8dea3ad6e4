package web

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/api"
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
		Opinion:   &lifecycle.Opinion{Value: "favorable"}, Recommendation: &lifecycle.Recommendation{Value: "approve", Amount: 100},
		Decision: &lifecycle.Decision{Value: "approve", Amount: 300000}}
	file := lifecycle.Attachment{ID: "ATT-ONE", Name: "rapport.pdf", MediaType: "application/pdf", Size: 2048}
	st.FollowUp = &lifecycle.FollowUp{Report: &lifecycle.Report{Activities: "a", Agents: []string{"A"}, Attachments: []lifecycle.Attachment{file}},
		DeclaredChanges: &lifecycle.MissionChanges{Agents: []dossier.Agent{{Name: "B"}}}}
	for _, lang := range []string{"fr", "en"} {
		dp := dossierPage{State: st, Stepper: newStepper(st.Status, lang), Forms: forms, Failed: "report",
			Values: formValues{"report.activities": "typed"}, Fields: formValues{}, Letters: []string{"approval"},
			Prefill:  map[string]formValues{"changes": changesValues(dossier.Dossier{Agents: []dossier.Agent{{Name: "Awa Diop"}}})},
			Attached: []lifecycle.Attachment{file}}
		p := page{Lang: lang, Data: dp, Errors: map[string]string{"report.attachments": "too big", "outcome": "x"}}
		var buf bytes.Buffer
		if err := pages["dossier"].ExecuteTemplate(&buf, "layout", p); err != nil {
			t.Fatal(err)
		}
		html := buf.String()
		for _, want := range []string{
			`id="f-report-files-error"`, `enctype="multipart/form-data"`, `>typed</textarea>`, // the refused report, refilled
			`href="/demandes/EXP-TEST/pieces-jointes/ATT-ONE"`, `value="ATT-ONE/rapport.pdf" checked`, // its files kept
			`value="Awa Diop"`, `id="outcome-acknowledge"`, `id="outcome-accept"`, `id="opinion-favorable"`,
		} {
			if !strings.Contains(html, want) {
				t.Errorf("%s: no %s", lang, want)
			}
		}
	}
}

// An amount left empty is left out of the step's body, not sent as null.
func TestEmptyAmountOmitted(t *testing.T) {
	i := slices.IndexFunc(stepForms, func(f stepForm) bool { return f.Path == "report-review" })
	raw, err := json.Marshal(withoutEmpty(stepForms[i].body(formValues{"outcome": "accept", "payable": " "})))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "payable") {
		t.Fatalf("body %s", raw)
	}
	raw, _ = json.Marshal(reportJSON(formValues{"report.agents": "A\n\n B ", "report.costs.travel": "1 200,50"}))
	if want := `"agents":["A","B"]`; !strings.Contains(string(raw), want) || !strings.Contains(string(raw), `"costs":{"travel":"1200.50"}`) {
		t.Fatalf("report body %s", raw)
	}
}

// The declaration opens with the mission as approved, and its fields
// become the changes the API reads.
func TestChangesRoundTrip(t *testing.T) {
	d := dossier.Dossier{Agents: []dossier.Agent{{Name: "Awa Diop", Position: "DGS"}}}
	d.Mission.StartDate = dossier.Date{Time: time.Date(2030, 3, 11, 0, 0, 0, 0, time.UTC)}
	d.Mission.EndDate = dossier.Date{Time: time.Date(2030, 3, 20, 0, 0, 0, 0, time.UTC)}
	raw, err := json.Marshal(changesJSON(changesValues(d)))
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		Changes lifecycle.MissionChanges `json:"changes"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if in.Changes.StartDate.String() != "2030-03-11" || in.Changes.EndDate.String() != "2030-03-20" || len(in.Changes.Agents) != 1 || in.Changes.Agents[0].Position != "DGS" {
		t.Fatalf("changes %+v from %s", in.Changes, raw)
	}
}

// Changes and renunciation are offered until the mission's first day,
// after which the workflow refuses them.
func TestBeforeStartForms(t *testing.T) {
	st := lifecycle.State{Status: lifecycle.StatusApproved}
	st.Dossier.Mission.StartDate = dossier.Date{Time: time.Date(2030, 3, 11, 0, 0, 0, 0, time.UTC)}
	i := slices.IndexFunc(stepForms, func(f stepForm) bool { return f.Path == "changes" })
	if !stepForms[i].offered(st, time.Date(2030, 3, 10, 22, 59, 0, 0, time.UTC)) {
		t.Error("not offered the day before")
	}
	if stepForms[i].offered(st, time.Date(2030, 3, 10, 23, 0, 0, 0, time.UTC)) {
		t.Error("offered at midnight in Paris on the first day")
	}
}

// A refused upload names its file next to the files' input; a refusal of
// the person stays whole.
func TestFileProblem(t *testing.T) {
	p := fileProblem(&api.Problem{Status: 422, Errors: []dossier.FieldError{{Field: "file", MessageFR: "Le fichier est vide", MessageEN: "The file is empty"}}}, "a.pdf")
	if len(p.Errors) != 1 || p.Errors[0].Field != "report.attachments" || p.Errors[0].MessageFR != "a.pdf : Le fichier est vide" {
		t.Fatalf("%+v", p.Errors)
	}
	if got := keptAttachments([]string{"ATT-X/a b.pdf", "junk"}); len(got) != 1 || got[0].Name != "a b.pdf" {
		t.Fatalf("kept %+v", got)
	}
	if got := fileSize("fr", 10<<20); got != "10 Mo" {
		t.Fatal(got)
	}
}
