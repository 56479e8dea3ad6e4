package letters

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
	_ "time/tzdata" // the letter's date is a Paris date, whatever the host has

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// The Go fonts lack the narrow no-break space French typography puts in
// amounts and inside guillemets; DejaVu Sans has every character of French.
//
//go:embed fonts/DejaVuSans.ttf
var fontRegular []byte

//go:embed fonts/DejaVuSans-Bold.ttf
var fontBold []byte

// The text of the letters lives in these templates (docs/operations.md,
// "Letter templates").
//
//go:embed templates/*.tmpl
var templateFiles embed.FS

var templates = template.Must(template.New("letters").Funcs(template.FuncMap{
	"euros":    FormatEuros,
	"date":     FormatDate,
	"inParis":  func(t time.Time) time.Time { return t.In(paris) },
	"country":  CountryName,
	"quote":    func(s string) string { return "«\u202f" + s + "\u202f»" },
	"verbatim": quoteBlock,
}).ParseFS(templateFiles, "templates/*.tmpl"))

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// Render writes the letter of d.Kind as a PDF. The same data always gives
// the same bytes: the document's dates are the event's, its catalog is
// sorted and it holds no random identifier.
func Render(d Data) ([]byte, error) {
	if !d.Kind.Valid() {
		return nil, fmt.Errorf("letters: unknown kind %q", d.Kind)
	}
	if d.Date.IsZero() {
		return nil, errors.New("letters: the letter has no date")
	}
	d = plain(d)
	if d.ReportDeadlineDays <= 0 {
		d.ReportDeadlineDays = DefaultReportDeadlineDays
	}
	var body, footer bytes.Buffer
	if err := templates.ExecuteTemplate(&body, string(d.Kind)+".tmpl", d); err != nil {
		return nil, fmt.Errorf("letters: %s: %w", d.Kind, err)
	}
	if err := templates.ExecuteTemplate(&footer, "footer", d); err != nil {
		return nil, fmt.Errorf("letters: footer: %w", err)
	}
	return draw(d, parse(body.String()), footer.String())
}

// Text is the letter's text as its template writes it, before layout: what
// a change of wording can be reviewed on.
func Text(d Data) (string, error) {
	var body bytes.Buffer
	d = plain(d)
	if d.ReportDeadlineDays <= 0 {
		d.ReportDeadlineDays = DefaultReportDeadlineDays
	}
	err := templates.ExecuteTemplate(&body, string(d.Kind)+".tmpl", d)
	return body.String(), err
}

// plain keeps the one-line texts a person wrote (names, titles) from
// reading as markup: one line each, and never the row separator. The
// motivation keeps its lines; the template quotes it line by line.
func plain(d Data) Data {
	flat := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", " :: ", " : ")
	for _, f := range []*string{&d.Collectivite, &d.SIREN, &d.ContactName, &d.MissionTitle, &d.PartnerAuthority,
		&d.PartnerCity, &d.Country, &d.RulesVersion, &d.SignedBy, &d.PaymentReference, &d.ApplicationID} {
		*f = flat.Replace(*f)
	}
	return d
}

// element is one element of a letter's markup (common.tmpl).
type element struct {
	kind  string // sender, right, bold, heading, item, row, verbatim, gap, text
	text  string
	value string // a row's value
}

func parse(markup string) []element {
	var out []element
	add := func(e element) {
		// Runs of blank lines are one gap; no gap opens the letter.
		if e.kind == "gap" && (len(out) == 0 || out[len(out)-1].kind == "gap") {
			return
		}
		out = append(out, e)
	}
	for _, line := range strings.Split(markup, "\n") {
		line = strings.TrimRight(line, " \t\r")
		switch {
		case line == "":
			add(element{kind: "gap"})
		case strings.HasPrefix(line, "^ "):
			add(element{kind: "sender", text: line[2:]})
		case strings.HasPrefix(line, ">> "):
			add(element{kind: "right", text: line[3:]})
		case strings.HasPrefix(line, "## "):
			add(element{kind: "heading", text: line[3:]})
		case strings.HasPrefix(line, "# "):
			add(element{kind: "bold", text: line[2:]})
		case strings.HasPrefix(line, "- "):
			add(element{kind: "item", text: line[2:]})
		case strings.HasPrefix(line, "| ") || line == "|":
			add(element{kind: "verbatim", text: strings.TrimPrefix(strings.TrimPrefix(line, "|"), " ")})
		case strings.Contains(line, " :: "):
			label, value, _ := strings.Cut(line, " :: ")
			add(element{kind: "row", text: label, value: value})
		default:
			if n := len(out); n > 0 && out[n-1].kind == "text" {
				out[n-1].text += " " + line
			} else {
				add(element{kind: "text", text: line})
			}
		}
	}
	for len(out) > 0 && out[len(out)-1].kind == "gap" {
		out = out[:len(out)-1]
	}
	return out
}

// Page geometry, in millimetres.
const (
	margin     = 20.0
	lineHeight = 5.2
	fontSize   = 10.0
	labelWidth = 55.0
)

func draw(d Data, elements []element, footer string) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	at := d.Date.UTC()
	pdf.SetCreationDate(at)
	pdf.SetModificationDate(at)
	pdf.SetCatalogSort(true)
	pdf.SetProducer("expectct", true)
	pdf.SetCreator("expectct", true)
	pdf.SetAuthor("DAECT", true)
	pdf.SetTitle(title(d), true)
	pdf.SetLang("fr-FR")
	pdf.AddUTF8FontFromBytes("dejavu", "", fontRegular)
	pdf.AddUTF8FontFromBytes("dejavu", "B", fontBold)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(true, margin+8)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-margin - 4)
		pdf.SetFont("dejavu", "", 7.5)
		pdf.SetTextColor(80, 80, 80)
		pdf.MultiCell(0, 3.6, footer, "T", "L", false)
		pdf.CellFormat(0, 3.6, fmt.Sprintf("Page %d/{nb}", pdf.PageNo()), "", 0, "R", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	width, _ := pdf.GetPageSize()
	text := width - 2*margin
	for _, e := range elements {
		switch e.kind {
		case "gap":
			pdf.Ln(lineHeight * 0.8)
		case "sender":
			pdf.SetFont("dejavu", "", 8.5)
			pdf.MultiCell(text, 4.2, e.text, "", "L", false)
		case "right":
			pdf.SetFont("dejavu", "", fontSize)
			pdf.MultiCell(text, lineHeight, e.text, "", "R", false)
		case "bold":
			pdf.SetFont("dejavu", "B", fontSize)
			pdf.MultiCell(text, lineHeight, e.text, "", "L", false)
		case "heading":
			pdf.Ln(lineHeight * 0.4)
			pdf.SetFont("dejavu", "B", fontSize+1)
			pdf.MultiCell(text, lineHeight+0.8, e.text, "B", "L", false)
			pdf.Ln(lineHeight * 0.3)
		case "item":
			pdf.SetFont("dejavu", "", fontSize)
			y := pdf.GetY()
			pdf.SetX(margin + 2)
			pdf.CellFormat(5, lineHeight, "–", "", 0, "L", false, 0, "")
			pdf.SetXY(margin+7, y)
			pdf.MultiCell(text-7, lineHeight, e.text, "", "J", false)
			pdf.Ln(1)
		case "row":
			y := pdf.GetY()
			pdf.SetFont("dejavu", "B", fontSize)
			pdf.MultiCell(labelWidth, lineHeight, e.text, "", "L", false)
			below := pdf.GetY()
			pdf.SetXY(margin+labelWidth, y)
			pdf.SetFont("dejavu", "", fontSize)
			pdf.MultiCell(text-labelWidth, lineHeight, e.value, "", "L", false)
			pdf.SetY(max(below, pdf.GetY()))
		case "verbatim":
			pdf.SetFont("dejavu", "", fontSize)
			pdf.SetX(margin + 8)
			pdf.MultiCell(text-8, lineHeight, e.text, "", "L", false)
		default:
			pdf.SetFont("dejavu", "", fontSize)
			pdf.MultiCell(text, lineHeight, e.text, "", "J", false)
		}
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("letters: PDF: %w", err)
	}
	return out.Bytes(), nil
}

func title(d Data) string {
	switch d.Kind {
	case Approval:
		return "Décision d’attribution EXPE-CT " + d.ApplicationID
	case Refusal:
		return "Décision de refus EXPE-CT " + d.ApplicationID
	default:
		return "Relevé de paiement EXPE-CT " + d.ApplicationID
	}
}

// quoteBlock keeps a person's text as written: every line, empty ones too.
func quoteBlock(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "| " + l
	}
	return strings.Join(lines, "\n")
}

// FormatEuros writes an amount in euro cents the French way, thousands
// apart by a narrow no-break space and a no-break space before the sign:
// "4 500,00 €". Integer arithmetic only: no amount is ever rounded.
func FormatEuros(cents int64) string {
	sign := ""
	abs := uint64(cents)
	if cents < 0 {
		sign, abs = "-", -abs
	}
	whole := strconv.FormatUint(abs/100, 10)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteRune('\u202f')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s%s,%02d\u00a0€", sign, b.String(), abs%100)
}

var months = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
	"août", "septembre", "octobre", "novembre", "décembre"}

// FormatDate writes the calendar date of t, in t's own location, the
// French way: "1er juillet 2026"; a zero time is empty.
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	day := strconv.Itoa(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return day + " " + months[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// CountryName turns an ISO 3166-1 code into its French name, "Sénégal";
// an unknown code is shown as given.
func CountryName(code string) string {
	region, err := language.ParseRegion(code)
	if err != nil || !region.IsCountry() {
		return code
	}
	if name := display.French.Regions().Name(region); name != "" {
		return name
	}
	return code
}
