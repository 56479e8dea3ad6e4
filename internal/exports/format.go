package exports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// RowWriter writes the rows of an export in one format.
type RowWriter interface {
	// Header starts the file (the CSV's byte order mark and header row).
	Header() error
	Write(Row) error
	// Close flushes what the writer holds; the underlying writer stays open.
	Close() error
}

// NewWriter returns the writer of the format (CSV unless JSONL).
func NewWriter(format Format, w io.Writer) RowWriter {
	if format == JSONL {
		enc := json.NewEncoder(w)
		// Names with & or < stay as they are: the file is data, not HTML.
		enc.SetEscapeHTML(false)
		return &jsonlWriter{enc: enc}
	}
	cw := &csvWriter{w: w}
	// Each row is encoded on its own, then handed to w: csv.Writer would
	// take a *bufio.Writer given to it for its own buffer and flush it at
	// every row, leaving w no say in when bytes leave.
	cw.c = csv.NewWriter(&cw.row)
	cw.c.Comma = ';'
	cw.c.UseCRLF = true
	return cw
}

// csvHeader names the CSV's columns in French, in the order of csvRecord.
var csvHeader = []string{
	"Identifiant", "Collectivité", "SIREN", "Pays", "Statut", "Statut (libellé)", "Version des règles",
	"Montant demandé (EUR)", "Montant recommandé (EUR)", "Montant accordé (EUR)", "Montant payable (EUR)", "Montant payé (EUR)",
	"Date de dépôt", "Date de consultation du poste", "Date de l'avis", "Date de la recommandation", "Date de la décision",
	"Date du compte rendu", "Date d'acceptation du compte rendu", "Date de l'ordre de paiement", "Date du paiement (soldé)",
	"Consultation (jours)", "Instruction (jours)", "Attente des compléments (jours)", "Décision (jours)",
	"Attente du compte rendu (jours)", "Examen du compte rendu (jours)", "Paiement (jours)",
}

// csvWriter writes CSV as French spreadsheet software opens it as is:
// UTF-8 with a byte order mark (without it, accents are read as
// Windows-1252), semicolons (the comma is the decimal separator), decimal
// commas, CRLF line ends, dates in Paris time.
type csvWriter struct {
	w   io.Writer
	c   *csv.Writer
	row bytes.Buffer
	rec []string
}

func (cw *csvWriter) Header() error {
	if _, err := io.WriteString(cw.w, "\uFEFF"); err != nil {
		return err
	}
	return cw.write(csvHeader)
}

// write encodes one record and hands it to w.
func (cw *csvWriter) write(rec []string) error {
	cw.row.Reset()
	if err := cw.c.Write(rec); err != nil {
		return err
	}
	cw.c.Flush()
	if err := cw.c.Error(); err != nil {
		return err
	}
	_, err := cw.w.Write(cw.row.Bytes())
	return err
}

func (cw *csvWriter) Write(r Row) error {
	cw.rec = append(cw.rec[:0], r.ApplicationID, cell(r.Collectivite), r.SIREN, r.Country, r.Status, lifecycle.StatusLabel(r.Status, "fr"), cell(r.RulesVersion),
		frMoney(&r.Requested), frMoney(r.Recommended), frMoney(r.Granted), frMoney(r.Payable), frMoney(r.Paid))
	for _, d := range r.Dates {
		cw.rec = append(cw.rec, frDate(d))
	}
	for _, d := range r.Durations {
		cw.rec = append(cw.rec, days(d, ','))
	}
	return cw.write(cw.rec)
}

func (cw *csvWriter) Close() error { return nil }

// cell keeps a spreadsheet from reading a text as a formula: a name that
// begins with =, +, - or @ is prefixed with an apostrophe, which the
// spreadsheet shows as text (OWASP, "CSV injection").
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// frMoney is an amount with a decimal comma and no thousands separator, as
// a French spreadsheet reads a number: 1234,50.
func frMoney(m *dossier.Money) string {
	if m == nil {
		return ""
	}
	return strings.Replace(m.String(), ".", ",", 1)
}

// frDate is a date and time in Paris, day first, as a French spreadsheet
// reads it: 04/12/2026 14:05.
func frDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(lifecycle.Paris).Format("02/01/2006 15:04")
}

// tenthOfDay is the unit of the durations: days with one decimal.
const tenthOfDay = 24 * time.Hour / 10

// days is a duration in days, rounded to one decimal, half away from zero,
// with the given decimal separator: 12,5.
func days(d *time.Duration, sep byte) string {
	if d == nil {
		return ""
	}
	v, sign := *d, ""
	if v < 0 {
		v, sign = -v, "-"
	}
	tenths := (v + tenthOfDay/2) / tenthOfDay
	if tenths == 0 {
		sign = ""
	}
	return sign + strconv.FormatInt(int64(tenths/10), 10) + string(sep) + strconv.FormatInt(int64(tenths%10), 10)
}

// jsonlWriter writes one JSON object per line: amounts as numbers with two
// decimals (as everywhere in the API), dates in RFC 3339 (UTC), durations
// as numbers of days with one decimal, null for what was not reached.
type jsonlWriter struct {
	enc *json.Encoder
}

// jsonRow is a row as a JSON line.
type jsonRow struct {
	ApplicationID string `json:"application_id"`
	Collectivite  string `json:"collectivite"`
	SIREN         string `json:"siren"`
	Country       string `json:"country"`
	Status        string `json:"status"`
	RulesVersion  string `json:"rules_version"`

	Requested   *dossier.Money `json:"amount_requested"`
	Recommended *dossier.Money `json:"amount_recommended"`
	Granted     *dossier.Money `json:"amount_granted"`
	Payable     *dossier.Money `json:"amount_payable"`
	Paid        *dossier.Money `json:"amount_paid"`

	SubmittedAt        *rfc3339 `json:"submitted_at"`
	EmbassyConsultedAt *rfc3339 `json:"embassy_consulted_at"`
	OpinionAt          *rfc3339 `json:"opinion_at"`
	RecommendedAt      *rfc3339 `json:"recommended_at"`
	DecidedAt          *rfc3339 `json:"decided_at"`
	ReportSubmittedAt  *rfc3339 `json:"report_submitted_at"`
	ReportAcceptedAt   *rfc3339 `json:"report_accepted_at"`
	PaymentOrderedAt   *rfc3339 `json:"payment_ordered_at"`
	PaidAt             *rfc3339 `json:"paid_at"`

	DaysConsultation *dayCount `json:"days_consultation"`
	DaysInstruction  *dayCount `json:"days_instruction"`
	DaysComplements  *dayCount `json:"days_complements"`
	DaysDecision     *dayCount `json:"days_decision"`
	DaysReportWait   *dayCount `json:"days_report_wait"`
	DaysReportReview *dayCount `json:"days_report_review"`
	DaysPayment      *dayCount `json:"days_payment"`
}

type rfc3339 time.Time

func (t rfc3339) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(time.RFC3339) + `"`), nil
}

type dayCount time.Duration

func (d dayCount) MarshalJSON() ([]byte, error) {
	v := time.Duration(d)
	return []byte(days(&v, '.')), nil
}

func (jw *jsonlWriter) Header() error { return nil }

func (jw *jsonlWriter) Write(r Row) error {
	date := func(s Step) *rfc3339 { return (*rfc3339)(r.Dates[s]) }
	dur := func(p Phase) *dayCount { return (*dayCount)(r.Durations[p]) }
	requested := r.Requested
	return jw.enc.Encode(jsonRow{
		ApplicationID: r.ApplicationID, Collectivite: r.Collectivite, SIREN: r.SIREN, Country: r.Country,
		Status: r.Status, RulesVersion: r.RulesVersion,
		Requested: &requested, Recommended: r.Recommended, Granted: r.Granted, Payable: r.Payable, Paid: r.Paid,
		SubmittedAt: date(StepSubmitted), EmbassyConsultedAt: date(StepEmbassyConsulted), OpinionAt: date(StepOpinion),
		RecommendedAt: date(StepRecommendation), DecidedAt: date(StepDecision), ReportSubmittedAt: date(StepReportFiled),
		ReportAcceptedAt: date(StepReportAccepted), PaymentOrderedAt: date(StepPaymentOrdered), PaidAt: date(StepPaid),
		DaysConsultation: dur(PhaseConsultation), DaysInstruction: dur(PhaseInstruction), DaysComplements: dur(PhaseComplements),
		DaysDecision: dur(PhaseDecision), DaysReportWait: dur(PhaseReportWait), DaysReportReview: dur(PhaseReportReview),
		DaysPayment: dur(PhasePayment),
	})
}

func (jw *jsonlWriter) Close() error { return nil }
