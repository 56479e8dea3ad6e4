package letters

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font/sfnt"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func sample(kind Kind) Data {
	d := Data{
		Kind:             kind,
		ApplicationID:    "EXP-ABCDEFGHIJKLMNOP",
		Date:             time.Date(2026, 12, 4, 15, 30, 0, 0, time.UTC),
		SignedBy:         "Hélène Lefèvre",
		Collectivite:     "Communauté d’agglomération du Pays de Fougères",
		SIREN:            "200072452",
		ContactName:      "Claire Martin",
		MissionTitle:     "Œuvre commune : gestion des déchets à Saint-Louis",
		MissionStart:     day("2027-02-01"),
		MissionEnd:       day("2027-02-12"),
		PartnerAuthority: "Commune de Saint-Louis", PartnerCity: "Saint-Louis", Country: "SN",
		RulesVersion: "2026.1",
		Requested:    450000, Granted: 300000, ReportDeadlineDays: 30,
		Motivation: "Le budget présenté ne détaille pas les frais de séjour.\nLes « objectifs » sont à préciser ; l’œuvre reste à définir.",
		Payable:    280000, Paid: 280000, PaymentReference: "DAECT-2027-0042", PaidOn: day("2027-04-15"),
	}
	d.Code = Code(kind, strings.Repeat("ab", 32))
	d.VerifyURL = VerifyURL("https://expe-ct.diplomatie.gouv.fr/", d.Code)
	return d
}

// pdfText is the text pdftotext reads back from the PDF.
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
	return string(out)
}

// flat joins the lines pdftotext breaks, so a phrase is found wherever
// the layout wrapped it.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

func render(t *testing.T, d Data) []byte {
	t.Helper()
	pdf, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(20, len(pdf))])
	}
	return pdf
}

func wantAll(t *testing.T, text string, phrases ...string) {
	t.Helper()
	for _, p := range phrases {
		if !strings.Contains(flat(text), flat(p)) {
			t.Errorf("the letter does not say %q; pdftotext read:\n%s", p, text)
		}
	}
}

func TestApprovalLetter(t *testing.T) {
	d := sample(Approval)
	text := pdfText(t, render(t, d))
	wantAll(t, text,
		"Objet : attribution d’une subvention EXPE-CT",
		"Communauté d’agglomération du Pays de Fougères",
		"Paris, le 4 décembre 2026",
		"dossier EXP-ABCDEFGHIJKLMNOP",
		"«\u202fŒuvre commune : gestion des déchets à Saint-Louis\u202f»",
		"du 1er février 2027 au 12 février 2027",
		"Commune de Saint-Louis, Saint-Louis (Sénégal)",
		"Montant demandé 4\u202f500,00\u00a0€",
		"Montant accordé 3\u202f000,00\u00a0€",
		// The report is due 30 days after the mission's end.
		"Compte rendu dû le 14 mars 2027",
		"dans les 30 jours qui suivent la fin de la mission",
		"Hélène Lefèvre",
		"Code de vérification : "+d.Code,
		"https://expe-ct.diplomatie.gouv.fr/v1/letters/verify/"+d.Code,
	)
}

func TestRefusalLetterMentionsAppeal(t *testing.T) {
	d := sample(Refusal)
	text := pdfText(t, render(t, d))
	wantAll(t, text,
		"Objet : refus d’une subvention EXPE-CT",
		"Le budget présenté ne détaille pas les frais de séjour.",
		"Les « objectifs » sont à préciser ; l’œuvre reste à définir.",
		"Voies et délais de recours",
		"recours gracieux auprès de la DAECT",
		"recours contentieux devant le tribunal administratif de Paris dans un délai de deux mois à compter de la notification",
		"Télérecours citoyens",
		"www.telerecours.fr",
		"Code de vérification : "+d.Code,
	)
	if strings.Contains(text, "Montant accordé") {
		t.Error("a refusal shows a granted amount")
	}
}

func TestPaymentStatement(t *testing.T) {
	d := sample(PaymentStatement)
	text := pdfText(t, render(t, d))
	wantAll(t, text,
		"Objet : relevé de paiement d’une subvention EXPE-CT",
		"Le dossier est soldé",
		"Montant accordé 3\u202f000,00\u00a0€",
		"Montant dû 2\u202f800,00\u00a0€",
		"Montant versé 2\u202f800,00\u00a0€",
		"Référence comptable DAECT-2027-0042",
		"Date du paiement 15 avril 2027",
	)
}

// TestEveryFrenchCharacterComesBack: the embedded font has a glyph, and the
// PDF a Unicode mapping, for every character French writing needs.
// pdftotext writes every kind of space as an ASCII space, so the no-break
// spaces are checked in the font and as spaces where the letter has them.
func TestEveryFrenchCharacterComesBack(t *testing.T) {
	d := sample(Refusal)
	const letters = "éèêëàâçôöîïùûüÿœŒæÆÉÈÊÀÇÔ«»€’"
	const spaces = "\u202f\u00a0"
	d.Motivation = "Caractères : " + letters + " et x" + spaces + "x"
	text := pdfText(t, render(t, d))
	for _, r := range letters {
		if !strings.ContainsRune(text, r) {
			t.Errorf("%q (%U) does not come back from the PDF", r, r)
		}
	}
	if !regexp.MustCompile("Caractères : " + letters + ` et x +x`).MatchString(text) {
		t.Errorf("the no-break spaces do not come back as spaces:\n%s", text)
	}
	for name, font := range map[string][]byte{"regular": fontRegular, "bold": fontBold} {
		f, err := sfnt.Parse(font)
		if err != nil {
			t.Fatal(err)
		}
		var buf sfnt.Buffer
		for _, r := range letters + spaces {
			if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
				t.Errorf("the %s font has no glyph for %q (%U)", name, r, r)
			}
		}
	}
}

// TestLettersAreReproducible: the same data gives the same bytes, dates
// included; another code or date gives other bytes.
func TestLettersAreReproducible(t *testing.T) {
	for _, kind := range Kinds {
		t.Run(string(kind), func(t *testing.T) {
			a, b := render(t, sample(kind)), render(t, sample(kind))
			if !bytes.Equal(a, b) {
				t.Fatal("two renderings of the same letter differ")
			}
			if !bytes.Contains(a, []byte("/CreationDate (D:20261204153000")) {
				t.Error("the creation date is not the event's")
			}
			later := sample(kind)
			later.Date = later.Date.Add(time.Hour)
			if bytes.Equal(a, render(t, later)) {
				t.Error("another date gives the same bytes")
			}
		})
	}
}

func TestCode(t *testing.T) {
	hash := strings.Repeat("0123456789abcdef", 4)
	c := Code(Approval, hash)
	if c != Code(Approval, hash) {
		t.Fatal("the code is not stable")
	}
	if c == Code(Refusal, hash) || c == Code(Approval, strings.Repeat("f", 64)) {
		t.Error("the code does not depend on the kind and the hash")
	}
	if len(c) != 19 || strings.Count(c, "-") != 3 {
		t.Errorf("code %q, want XXXX-XXXX-XXXX-XXXX", c)
	}
	for _, typed := range []string{c, strings.ToLower(c), strings.ReplaceAll(c, "-", ""), " " + strings.ReplaceAll(c, "-", " ") + " "} {
		if got, ok := NormalizeCode(typed); !ok || got != c {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", typed, got, ok, c)
		}
	}
	for _, bad := range []string{"", "ABCD-EFGH-IJKL", "ABCD-EFGH-IJKL-MN01", "ABCD-EFGH-IJKL-MNOPQ", "ÀBCD-EFGH-IJKL-MNOP"} {
		if _, ok := NormalizeCode(bad); ok {
			t.Errorf("NormalizeCode(%q) accepted", bad)
		}
	}
}

func TestFormatting(t *testing.T) {
	for cents, want := range map[int64]string{0: "0,00\u00a0€", 5: "0,05\u00a0€", 99900: "999,00\u00a0€",
		100000: "1\u202f000,00\u00a0€", 123456789: "1\u202f234\u202f567,89\u00a0€", -150: "-1,50\u00a0€"} {
		if got := FormatEuros(cents); got != want {
			t.Errorf("FormatEuros(%d) = %q, want %q", cents, got, want)
		}
	}
	if got := FormatDate(day("2027-07-01")); got != "1er juillet 2027" {
		t.Errorf("FormatDate = %q", got)
	}
	if got := CountryName("CI"); got != "Côte d’Ivoire" {
		t.Errorf("CountryName(CI) = %q", got)
	}
}

func TestOfMail(t *testing.T) {
	if OfMail("decision_approved") != Approval || OfMail("decision_rejected") != Refusal || OfMail("acknowledgement") != "" {
		t.Error("the decision e-mails do not carry their letters")
	}
}

// TestPeoplesTextIsNotMarkup: names and titles that look like the
// templates' markup are printed as written.
func TestPeoplesTextIsNotMarkup(t *testing.T) {
	d := sample(Refusal)
	d.Collectivite = "- Ville :: de # Test"
	d.MissionTitle = "## Titre\n>> sur deux lignes"
	d.Motivation = "# pas un titre\n- pas une liste\nA :: B"
	text := pdfText(t, render(t, d))
	wantAll(t, text, "- Ville : de # Test a sollicité", "## Titre >> sur deux lignes", "# pas un titre", "- pas une liste", "A :: B")
}
