package e2e_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/testenv"
)

// pdfText is what pdftotext (poppler-utils) reads in a PDF, its lines
// joined so a phrase is found wherever the layout wrapped it.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext is missing: install the Debian package poppler-utils (make test does)")
	}
	path := filepath.Join(t.TempDir(), "letter.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

func letterSays(t *testing.T, what, text string, phrases ...string) {
	t.Helper()
	for _, p := range phrases {
		if !strings.Contains(text, strings.Join(strings.Fields(p), " ")) {
			t.Errorf("%s does not say %q:\n%s", what, p, text)
		}
	}
}

// download fetches a letter as the actor and checks it is a PDF.
func download(t *testing.T, s *testenv.Stack, a lifecycle.Actor, id, kind string) (pdf []byte, code string) {
	t.Helper()
	r := s.Do(&a, "GET", "/v1/applications/"+id+"/letters/"+kind, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%s letter as %s: %d %s", kind, a.ID, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF-")) {
		t.Fatalf("%s letter: Content-Type %q, body %.20q", kind, ct, r.Body)
	}
	code = r.Header.Get("Expectct-Letter-Code")
	if !regexp.MustCompile(`^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$`).MatchString(code) {
		t.Fatalf("%s letter: verification code %q", kind, code)
	}
	return r.Body, code
}

// attachedLetter waits for the e-mail of the key and returns its one PDF.
func attachedLetter(t *testing.T, s *testenv.Stack, key string) []byte {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		for _, m := range s.Mailpit.Messages(t) {
			if k := m.Headers[mail.HeaderKey]; len(k) != 1 || k[0] != key {
				continue
			}
			if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "application/pdf" ||
				m.Attachments[0].FileName != letterFile.FindString(key)+"-"+letterKindOf(key)+".pdf" {
				t.Fatalf("e-mail %s carries %+v, want its one PDF letter", key, m.Attachments)
			}
			return s.Mailpit.Part(t, m.ID, m.Attachments[0].PartID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no e-mail %s in Mailpit after %s", key, wait)
	return nil
}

var letterFile = regexp.MustCompile(`^EXP-[A-Z2-7]{16}`)

func letterKindOf(key string) string {
	if strings.Contains(key, lifecycle.MailDecisionApproved) {
		return "approval"
	}
	return "refusal"
}

// TestDecisionLetters: an approved application's letter is downloaded by
// those who may read the application, says what was decided, is the same
// file every time and the same as the one attached to the decision e-mail,
// and its code is confirmed by the public endpoint; a refusal's letter
// carries its motivation and the means and time limits of appeal.
func TestDecisionLetters(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: calmRules()})
	id := submitAs(t, s, testenv.Applicant, testenv.ExampleDossier(t))
	// No letter before the decision.
	if r := s.Do(&testenv.Applicant, "GET", "/v1/applications/"+id+"/letters/approval", nil); r.Status != http.StatusNotFound {
		t.Fatalf("approval letter before the decision: %d %s", r.Status, r.Body)
	}
	fullPath(t, s, id)
	s.WaitStatus(id, lifecycle.StatusApproved, wait)

	pdf, code := download(t, s, testenv.Applicant, id, "approval")
	text := pdfText(t, pdf)
	letterSays(t, "the approval letter", text,
		"Objet : attribution d’une subvention EXPE-CT",
		"Commune de Nantes",
		"dossier "+id,
		"du 11 mars 2030 au 20 mars 2030",
		"Montant demandé 3 500,00 €",
		"Montant accordé 2 800,00 €",
		// The mission ends on 20 March 2030: the report is due 30 days later.
		"Compte rendu dû le 19 avril 2030",
		"Code de vérification : "+code,
		testenv.PublicURL+"/v1/letters/verify/"+code,
	)

	// The same letter, downloaded again by another reader, is the same file.
	for _, a := range []lifecycle.Actor{testenv.Applicant, testenv.EmbassySN, testenv.Auditor, testenv.Decider} {
		again, againCode := download(t, s, a, id, "approval")
		if !bytes.Equal(again, pdf) || againCode != code {
			t.Errorf("the approval letter downloaded by %s differs from the first download", a.ID)
		}
	}
	// Others may not read it; letters that do not exist are 404.
	for _, c := range []struct {
		actor  *lifecycle.Actor
		path   string
		status int
	}{
		{&testenv.OtherApplicant, "approval", http.StatusForbidden},
		{&testenv.EmbassyBR, "approval", http.StatusForbidden},
		{nil, "approval", http.StatusUnauthorized},
		{&testenv.Applicant, "refusal", http.StatusNotFound},
		{&testenv.Applicant, "payment_statement", http.StatusNotFound},
		{&testenv.Applicant, "attestation", http.StatusNotFound},
	} {
		if r := s.Do(c.actor, "GET", "/v1/applications/"+id+"/letters/"+c.path, nil); r.Status != c.status {
			t.Errorf("%s letter as %v: %d %s, want %d", c.path, c.actor, r.Status, r.Body, c.status)
		}
	}

	// The decision e-mail carries the same file.
	seq := seqOf(t, s, id, lifecycle.EventApproved)
	attached := attachedLetter(t, s, id+"/"+strconv.Itoa(seq)+"/"+lifecycle.MailDecisionApproved+"/"+string(lifecycle.ToApplicant))
	if !bytes.Equal(attached, pdf) {
		t.Error("the letter attached to the approval e-mail differs from the downloaded one")
	}

	// Anyone holding the code can check it, without a token, as typed.
	person, err := s.Store.Person(context.Background(), testenv.Decider.ID)
	signer := testenv.Decider.ID
	if err == nil && person.Name != "" {
		signer = person.Name
	}
	letterSays(t, "the approval letter", text, signer)
	for _, typed := range []string{code, strings.ToLower(strings.ReplaceAll(code, "-", ""))} {
		r := s.Do(nil, "GET", "/v1/letters/verify/"+typed, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("verify %s: %d %s", typed, r.Status, r.Body)
		}
		var v map[string]any
		r.JSON(t, &v)
		want := map[string]any{"application_id": id, "kind": "approval", "collectivite": "Commune de Nantes",
			"amount": 2800.0, "date": v["date"], "signed_by": signer}
		if date, _ := v["date"].(string); len(v) != len(want) || !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(date) {
			t.Errorf("verify answered %v, want %v", v, want)
		}
		for k, w := range want {
			if v[k] != w {
				t.Errorf("verify: %s = %v, want %v", k, v[k], w)
			}
		}
		if !bytes.Contains(r.Body, []byte(`"amount":2800.00`)) {
			t.Errorf("verify: the amount is not exact to the cent: %s", r.Body)
		}
	}
	for _, c := range []struct{ code, field string }{{"AAAA-AAAA-AAAA-AAAA", ""}, {"not-a-code", "code"}} {
		r := s.Do(nil, "GET", "/v1/letters/verify/"+c.code, nil)
		var p struct {
			Errors []struct{ Field, Rule string }
		}
		r.JSON(t, &p)
		if r.Status != http.StatusNotFound || (c.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != "code" || p.Errors[0].Rule != "letter_code")) {
			t.Errorf("verify %s: %d %s", c.code, r.Status, r.Body)
		}
	}

	// The CLI downloads the same file and checks the code.
	cli := cliFor(t, s, cliToken(t, s, testenv.Applicant))
	out := filepath.Join(t.TempDir(), "lettre.pdf")
	mustContain(t, "expectct letter", mustSucceed(t, cli("letter", id, "approval", "-o", out), "expectct letter").stdout, out, code)
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, pdf) {
		t.Errorf("the CLI's letter differs from the API's (%v)", err)
	}
	verified := mustSucceed(t, runCLI(t, nil, "--api", s.API.URL, "letter", "verify", code), "expectct letter verify").stdout
	mustContain(t, "expectct letter verify", verified, "genuine letter", id, "approval", "Commune de Nantes", "2800.00 EUR", signer)
	mustFail(t, runCLI(t, nil, "--api", s.API.URL, "letter", "verify", "AAAA-AAAA-AAAA-AAAA"), "verify an unknown code", "404")

	// A refusal.
	const motivation = "Le projet ne relève pas de l’expertise d’une collectivité territoriale."
	refused := submitAs(t, s, testenv.Applicant, testenv.ExampleDossier(t))
	waitConsulted(t, s, refused)
	mustStep(t, s, testenv.EmbassySN, refused, "opinion", opinionOK)
	mustStep(t, s, testenv.Instructor, refused, "recommendation", map[string]string{"recommendation": "reject", "comment": "Hors champ"})
	mustStep(t, s, testenv.Decider, refused, "decision", map[string]string{"decision": "reject", "motivation": motivation})
	refusal, refusalCode := download(t, s, testenv.Applicant, refused, "refusal")
	letterSays(t, "the refusal letter", pdfText(t, refusal),
		"Objet : refus d’une subvention EXPE-CT",
		motivation,
		"Voies et délais de recours",
		"recours gracieux auprès de la DAECT",
		"recours contentieux devant le tribunal administratif de Paris dans un délai de deux mois à compter de la notification",
		"Télérecours citoyens",
		"www.telerecours.fr",
		"Code de vérification : "+refusalCode,
	)
	if r := s.Do(&testenv.Applicant, "GET", "/v1/applications/"+refused+"/letters/approval", nil); r.Status != http.StatusNotFound {
		t.Errorf("approval letter of a refused application: %d", r.Status)
	}
	rseq := seqOf(t, s, refused, lifecycle.EventRejected)
	if got := attachedLetter(t, s, refused+"/"+strconv.Itoa(rseq)+"/"+lifecycle.MailDecisionRejected+"/"+string(lifecycle.ToApplicant)); !bytes.Equal(got, refusal) {
		t.Error("the letter attached to the refusal e-mail differs from the downloaded one")
	}
	var v struct{ Kind string }
	r := s.Do(nil, "GET", "/v1/letters/verify/"+refusalCode, nil)
	if r.JSON(t, &v); r.Status != http.StatusOK || v.Kind != "refusal" || !bytes.Contains(r.Body, []byte(`"amount":3500.00`)) {
		t.Errorf("verify the refusal: %d %s", r.Status, r.Body)
	}
	// The embassy's copy of an e-mail is the same message: no other e-mail
	// carries a letter.
	for _, m := range s.Mailpit.Messages(t) {
		k := m.Headers[mail.HeaderKey]
		decision := len(k) == 1 && (strings.Contains(k[0], lifecycle.MailDecisionApproved) || strings.Contains(k[0], lifecycle.MailDecisionRejected))
		if !decision && len(m.Attachments) > 0 {
			t.Errorf("e-mail %v carries %+v", k, m.Attachments)
		}
	}
}
