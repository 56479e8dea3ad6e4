package mail_test

import (
	"flag"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current templates")

const separator = "— English version —"

func paris(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func sample(t *testing.T) mail.Data {
	return mail.Data{
		ApplicationID:    "EXP-7Q2K9",
		CollectiviteName: "Métropole de Lyon",
		ContactName:      "Camille Martin",
		MissionTitle:     "Gestion des déchets ménagers",
		Country:          "SN",
		PartnerAuthority: "Ville de Dakar",
		PartnerCity:      "Dakar",
		StartDate:        "2026-09-01",
		EndDate:          "2026-09-10",
		RulesVersion:     "2026.1",
		Requested:        512345,
		Granted:          450000,
		Amount:           390000,
		Reference:        "DAECT-2026-0042",
		PaidOn:           "2026-11-02",
		Opinion:          "unfavorable",
		Comment:          "Dossier solide.\nBudget à revoir.",
		Motivation:       "Le budget ne détaille pas les frais de séjour.",
		Message:          "Merci de joindre le budget détaillé\net la lettre du partenaire.",
		Reason:           "Mission reportée à 2027.",
		Deadline:         time.Date(2026, 7, 15, 18, 0, 0, 0, paris(t)),
		Flags:            []string{mail.FlagTravelAdviceOrange},
		Status:           "awaiting_decision",
		Event:            "recommended",
		Follower:         "Luc Bernard",
	}
}

// splitParts returns the French and the English halves of a body.
func splitParts(t *testing.T, name, body string) (fr, en string) {
	t.Helper()
	fr, en, ok := strings.Cut(body, separator)
	if !ok {
		t.Fatalf("%s: no %q separator in:\n%s", name, separator, body)
	}
	if strings.Contains(en, separator) {
		t.Fatalf("%s: separator appears twice", name)
	}
	return fr, en
}

func TestRenderEveryTemplate(t *testing.T) {
	d := sample(t)
	// What a reader of each e-mail must find, in the French then the English part.
	want := map[string]struct{ fr, en []string }{
		lifecycle.MailAcknowledgement: {
			fr: []string{"Nous accusons réception", "version 2026.1", "classée orange", "5 123,45 €"},
			en: []string{"We acknowledge receipt", "version 2026.1", "orange travel advice", "EUR 5,123.45"},
		},
		lifecycle.MailSecretariatNotice: {
			fr: []string{"Une nouvelle demande", "Métropole de Lyon", "Sénégal (SN)", "5 123,45 €", "classée orange"},
			en: []string{"A new EXPE-CT application", "Métropole de Lyon", "Senegal (SN)", "EUR 5,123.45", "orange travel advice"},
		},
		lifecycle.MailEmbassyConsultation: {
			fr: []string{"l'avis du poste", "avant le 15 juillet 2026", "classée orange", "réputé rendu"},
			en: []string{"embassy's opinion", "by 15 July 2026", "orange travel advice", "deemed given"},
		},
		lifecycle.MailEmbassyReminder: {
			fr: []string{"pas encore parvenu", "avant le 15 juillet 2026"},
			en: []string{"has not reached us yet", "by 15 July 2026"},
		},
		lifecycle.MailEmbassyDeadlinePassed: {
			fr: []string{"n'a pas rendu d'avis", "réputé rendu"},
			en: []string{"gave no opinion", "deemed given"},
		},
		lifecycle.MailEmbassyContactMissing: {
			fr: []string{"aucun contact pour le pays Sénégal (SN)", "dès qu'un contact aura été renseigné"},
			en: []string{"no contact for Senegal (SN)", "as soon as a contact is set"},
		},
		lifecycle.MailComplementsRequest: {
			fr: []string{"compléments suivants", "    Merci de joindre le budget détaillé\n    et la lettre du partenaire.", "avant le 15 juillet 2026", "classée sans suite"},
			en: []string{"additional information", "    Merci de joindre le budget détaillé", "by 15 July 2026", "closed without action"},
		},
		lifecycle.MailComplementsReceived: {
			fr: []string{"a transmis les compléments", "L'instruction peut reprendre"},
			en: []string{"has sent the additional information", "The review can resume"},
		},
		lifecycle.MailDecisionReminder: {
			fr: []string{"attend une décision", "Avis du poste : défavorable", "Dossier solide."},
			en: []string{"awaits a funding decision", "Embassy opinion: unfavourable", "Dossier solide."},
		},
		lifecycle.MailDecisionApproved: {
			fr: []string{"un soutien de 4 500,00 €", "montant demandé : 5 123,45 €", "au plus tard le 15 juillet 2026"},
			en: []string{"support of EUR 4,500.00", "amount requested: EUR 5,123.45", "by 15 July 2026"},
		},
		lifecycle.MailDecisionRejected: {
			fr: []string{"n'a pas retenu", "Le budget ne détaille pas les frais de séjour."},
			en: []string{"has not granted", "Le budget ne détaille pas les frais de séjour."},
		},
		lifecycle.MailWithdrawn: {
			fr: []string{"retrait de la demande EXP-7Q2K9", "Mission reportée à 2027."},
			en: []string{"withdrawal of application EXP-7Q2K9", "Mission reportée à 2027."},
		},
		lifecycle.MailClosedWithoutAction: {
			fr: []string{"classée sans suite", "échéance du 15 juillet 2026"},
			en: []string{"closed without action", "deadline 15 July 2026"},
		},
		lifecycle.MailRenounced: {
			fr: []string{"Métropole de Lyon renonce à la mission", "clos sans paiement", "Mission reportée à 2027."},
			en: []string{"Métropole de Lyon gives up the mission", "closed without payment", "Mission reportée à 2027."},
		},
		lifecycle.MailChangesDeclared: {
			fr: []string{"Métropole de Lyon déclare un changement", "du 2026-09-01 au 2026-09-10", "Mission reportée à 2027."},
			en: []string{"Métropole de Lyon declares changed dates", "from 2026-09-01 to 2026-09-10", "Mission reportée à 2027."},
		},
		lifecycle.MailChangesAcknowledged: {
			fr: []string{"prend acte du changement", "désormais du 2026-09-01 au 2026-09-10"},
			en: []string{"acknowledges the changes", "now from 2026-09-01 to 2026-09-10"},
		},
		lifecycle.MailChangesRefused: {
			fr: []string{"ne retient pas le changement", "Mission reportée à 2027."},
			en: []string{"does not accept the changes", "Mission reportée à 2027."},
		},
		lifecycle.MailReportRequested: {
			fr: []string{"est terminée", "au plus tard le 15 juillet 2026", "coûts réels"},
			en: []string{"is over", "by 15 July 2026", "actual costs"},
		},
		lifecycle.MailReportReminder: {
			fr: []string{"est attendu au plus tard le 15 juillet 2026"},
			en: []string{"is due by 15 July 2026"},
		},
		lifecycle.MailReportOverdue: {
			fr: []string{"n'a pas été déposé à l'échéance du 15 juillet 2026", "période de grâce"},
			en: []string{"was not filed by its due date of 15 July 2026", "grace period"},
		},
		lifecycle.MailReportGraceExpired: {
			fr: []string{"période de grâce", "annuler la subvention"},
			en: []string{"grace period", "cancel the grant"},
		},
		lifecycle.MailReportDeadlineExtended: {
			fr: []string{"jusqu'au 15 juillet 2026", "Mission reportée à 2027."},
			en: []string{"to 15 July 2026", "Mission reportée à 2027."},
		},
		lifecycle.MailGrantCancelled: {
			fr: []string{"annule la subvention", "Le budget ne détaille pas les frais de séjour."},
			en: []string{"cancels the grant", "Le budget ne détaille pas les frais de séjour."},
		},
		lifecycle.MailReportReceived: {
			fr: []string{"a déposé le compte rendu", "examen d'un instructeur"},
			en: []string{"filed the report", "instructor's review"},
		},
		lifecycle.MailReportChangesRequest: {
			fr: []string{"demande des compléments au compte rendu", "au plus tard le 15 juillet 2026", "Merci de joindre le budget détaillé"},
			en: []string{"asks for changes to the report", "by 15 July 2026", "Merci de joindre le budget détaillé"},
		},
		lifecycle.MailReportAccepted: {
			fr: []string{"Montant à verser : 3 900,00 €", "montant accordé : 4 500,00 €", "Motif de la réduction"},
			en: []string{"Amount to be paid: EUR 3,900.00", "amount granted: EUR 4,500.00", "Reason for the reduction"},
		},
		lifecycle.MailPaymentOrdered: {
			fr: []string{"ordonné le paiement de 3 900,00 €"},
			en: []string{"ordered the payment of EUR 3,900.00"},
		},
		lifecycle.MailPaymentConfirmed: {
			fr: []string{"3 900,00 €", "le 2026-11-02", "référence comptable DAECT-2026-0042", "est soldé"},
			en: []string{"EUR 3,900.00", "on 2026-11-02", "accounting reference DAECT-2026-0042", "is closed"},
		},
		lifecycle.MailFollowedStep: {
			fr: []string{"Bonjour Luc Bernard,", "que vous suivez", "« en attente de décision » (événement recommended)", "cesser de la suivre"},
			en: []string{"Dear Luc Bernard,", "which you follow", `"awaiting decision" (event recommended)`, "stop following it"},
		},
	}
	if len(want) != len(mail.Templates()) {
		t.Fatalf("test covers %d templates, package has %d", len(want), len(mail.Templates()))
	}

	for _, name := range mail.Templates() {
		t.Run(name, func(t *testing.T) {
			r, err := mail.Render(name, d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r.Subject, "[EXPE-CT] ") || !strings.Contains(r.Subject, " / ") ||
				strings.Count(r.Subject, d.ApplicationID) != 2 || strings.ContainsAny(r.Subject, "\r\n") {
				t.Errorf("subject %q: want one line, [EXPE-CT], French / English, the reference in both", r.Subject)
			}
			for _, body := range []string{r.Text, r.HTML} {
				for _, bad := range []string{"<no value>", "%!", "{{"} {
					if strings.Contains(body, bad) {
						t.Errorf("body holds %q:\n%s", bad, body)
					}
				}
			}
			if !strings.HasPrefix(r.HTML, "<!DOCTYPE html>") || !strings.Contains(r.HTML, `<div lang="en">`) {
				t.Errorf("HTML is not a whole bilingual document:\n%s", r.HTML)
			}

			textFR, textEN := splitParts(t, name, r.Text)
			htmlFR, htmlEN := splitParts(t, name, r.HTML)
			for _, s := range want[name].fr {
				if !strings.Contains(textFR, s) {
					t.Errorf("French text lacks %q:\n%s", s, textFR)
				}
				if !strings.Contains(visible(htmlFR), words(s)) {
					t.Errorf("French HTML lacks %q:\n%s", s, htmlFR)
				}
			}
			for _, s := range want[name].en {
				if !strings.Contains(textEN, s) {
					t.Errorf("English text lacks %q:\n%s", s, textEN)
				}
				if !strings.Contains(visible(htmlEN), words(s)) {
					t.Errorf("English HTML lacks %q:\n%s", s, htmlEN)
				}
			}
			golden(t, name, r)
		})
	}
}

var tag = regexp.MustCompile(`<[^>]*>`)

// visible is what a mail client shows of an HTML body, as one line of words.
func visible(h string) string { return words(html.UnescapeString(tag.ReplaceAllString(h, " "))) }

func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// golden compares the whole e-mail with testdata/golden, which is there for
// people to review the wording; go test -run TestRenderEveryTemplate -update rewrites it.
func golden(t *testing.T, name string, r mail.Rendered) {
	t.Helper()
	files := map[string]string{
		name + ".txt":  "Subject: " + r.Subject + "\n\n" + r.Text,
		name + ".html": r.HTML,
	}
	for file, got := range files {
		path := filepath.Join("testdata", "golden", file)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/mail -run TestRenderEveryTemplate -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from the golden file; review the change and rerun with -update.\ngot:\n%s", path, got)
		}
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	d := sample(t)
	d.Comment = `<script>alert("x")</script>`
	d.CollectiviteName = `Commune d'Aÿ & <b>Champagne</b>`
	for _, name := range []string{lifecycle.MailDecisionReminder, lifecycle.MailDecisionApproved, lifecycle.MailAcknowledgement} {
		r, err := mail.Render(name, d)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.HTML, "<script>") || strings.Contains(r.HTML, "<b>Champagne") {
			t.Errorf("%s: HTML carries unescaped markup:\n%s", name, r.HTML)
		}
		if !strings.Contains(r.HTML, "&amp; &lt;b&gt;Champagne&lt;/b&gt;") {
			t.Errorf("%s: HTML lacks the escaped collectivité name:\n%s", name, r.HTML)
		}
		// Plain text is not markup: it shows what was typed.
		if !strings.Contains(r.Text, "Commune d'Aÿ & <b>Champagne</b>") {
			t.Errorf("%s: text altered the collectivité name:\n%s", name, r.Text)
		}
		if name != lifecycle.MailAcknowledgement && (!strings.Contains(r.HTML, "&lt;script&gt;") || !strings.Contains(r.Text, `<script>alert("x")</script>`)) {
			t.Errorf("%s: comment not escaped in HTML or altered in text:\n%s\n%s", name, r.HTML, r.Text)
		}
	}
}

func TestRenderOrangeOnlyWhenFlagged(t *testing.T) {
	d := sample(t)
	d.Flags = nil
	r, err := mail.Render(lifecycle.MailEmbassyConsultation, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.Text, "orange") || strings.Contains(r.HTML, "orange") {
		t.Errorf("consultation mentions orange travel advice without the flag:\n%s", r.Text)
	}
	r, err = mail.Render(lifecycle.MailSecretariatNotice, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "Aucun point d'attention") || !strings.Contains(r.Text, "No point of attention") {
		t.Errorf("secretariat notice does not say there is no flag:\n%s", r.Text)
	}
}

func TestRenderUnknownFlagShownAsIs(t *testing.T) {
	d := sample(t)
	d.Flags = []string{"embassy_requested"}
	r, err := mail.Render(lifecycle.MailAcknowledgement, d)
	if err != nil {
		t.Fatal(err)
	}
	fr, en := splitParts(t, "acknowledgement", r.Text)
	if !strings.Contains(fr, "- embassy_requested") || !strings.Contains(en, "- embassy_requested") {
		t.Errorf("unknown flag lost:\n%s", r.Text)
	}
}

func TestRenderSparseData(t *testing.T) {
	// An e-mail sent before every field is known must still read well.
	d := mail.Data{ApplicationID: "EXP-1"}
	for _, name := range mail.Templates() {
		r, err := mail.Render(name, d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, bad := range []string{"<no value>", "Pays :", "Montant demandé", "avant le .", " le  ", "()"} {
			if strings.Contains(r.Text, bad) {
				t.Errorf("%s: text holds %q:\n%s", name, bad, r.Text)
			}
		}
		if strings.Contains(r.Text, "\n\n\n") {
			t.Errorf("%s: runs of blank lines:\n%s", name, r.Text)
		}
	}
}

func TestRenderDeadlineInParisTime(t *testing.T) {
	d := sample(t)
	d.Deadline = time.Date(2026, 3, 31, 22, 30, 0, 0, time.UTC) // 1 April 00:30 in Paris
	r, err := mail.Render(lifecycle.MailComplementsRequest, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "avant le 1er avril 2026") || !strings.Contains(r.Text, "by 1 April 2026") {
		t.Errorf("deadline not shown as a Paris date:\n%s", r.Text)
	}
}

func TestRenderSubjectStaysOnOneLine(t *testing.T) {
	d := sample(t)
	d.CollectiviteName = "Commune\r\nBcc: victim@example.org"
	r, err := mail.Render(lifecycle.MailSecretariatNotice, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Errorf("subject spans lines: %q", r.Subject)
	}
}

func TestRenderUnknownTemplate(t *testing.T) {
	_, err := mail.Render("no_such_mail", sample(t))
	if err == nil || !strings.Contains(err.Error(), `unknown template "no_such_mail"`) {
		t.Fatalf("Render(no_such_mail) error = %v, want unknown template", err)
	}
}
