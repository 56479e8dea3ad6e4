package exports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // 10:00 in Paris

func at(days float64) time.Time { return t0.Add(time.Duration(days * float64(24*time.Hour))) }

func cents(v int64) *int64 { return &v }

// paidRecord went the whole way: consultation, complements, a report sent
// back once, a reduced payment.
func paidRecord() *store.ExportRecord {
	return &store.ExportRecord{
		ID: "EXP-AAAAAAAAAAAAAAAA", Status: string(lifecycle.StatusClosed), SIREN: "214401093", Collectivite: "Commune de Saint-Étienne",
		Country: "SN", RulesVersion: "2026.1", RequestedCents: 350000, RecommendedCents: cents(300000), GrantedCents: cents(300000),
		SubmittedAt: t0,
		Events: []store.ExportEvent{
			{Event: lifecycle.EventSubmitted, Status: "submitted", At: at(0)},
			{Event: lifecycle.EventEmbassyConsulted, Status: "embassy_consultation", At: at(0.001)},
			{Event: lifecycle.EventEmbassyReminded, Status: "embassy_consultation", At: at(7)},
			{Event: lifecycle.EventOpinionGiven, Status: "under_review", At: at(10)},
			{Event: lifecycle.EventComplementsRequested, Status: "awaiting_complements", At: at(12)},
			{Event: lifecycle.EventComplementsReceived, Status: "under_review", At: at(15.5)},
			{Event: lifecycle.EventDecisionReminded, Status: "under_review", At: at(16)},
			{Event: lifecycle.EventRecommended, Status: "awaiting_decision", At: at(20)},
			{Event: lifecycle.EventApproved, Status: "approved", At: at(22.25)},
			// Events the export does not read change nothing.
			{Event: "mission_ended", Status: "awaiting_report", At: at(40)},
			{Event: lifecycle.EventReportSubmitted, Status: "report_review", At: at(60)},
			{Event: "report_changes_requested", Status: "awaiting_report_changes", At: at(62)},
			{Event: lifecycle.EventReportSubmitted, Status: "report_review", At: at(65)},
			{Event: lifecycle.EventReportAccepted, Status: "awaiting_payment_order", At: at(66), Amount: "2750.50"},
			{Event: lifecycle.EventPaymentOrdered, Status: "payment_ordered", At: at(70), Amount: ""},
			{Event: lifecycle.EventPaymentConfirmed, Status: string(lifecycle.StatusClosed), At: at(75.04), Amount: "2750.50"},
		},
	}
}

func dur(days float64) time.Duration { return time.Duration(days * float64(24*time.Hour)) }

func TestRowOfWholePath(t *testing.T) {
	r, err := RowOf(paidRecord())
	if err != nil {
		t.Fatal(err)
	}
	if r.Requested != 350000 || *r.Recommended != 300000 || *r.Granted != 300000 || *r.Payable != 275050 || *r.Paid != 275050 {
		t.Errorf("amounts: %v %v %v %v %v", r.Requested, *r.Recommended, *r.Granted, *r.Payable, *r.Paid)
	}
	wantDates := map[Step]time.Time{
		StepSubmitted: at(0), StepEmbassyConsulted: at(0.001), StepOpinion: at(10), StepRecommendation: at(20),
		StepDecision: at(22.25), StepReportFiled: at(60), StepReportAccepted: at(66), StepPaymentOrdered: at(70), StepPaid: at(75.04),
	}
	for s := range stepCount {
		if r.Dates[s] == nil || !r.Dates[s].Equal(wantDates[s]) {
			t.Errorf("date of step %d: %v, want %v", s, r.Dates[s], wantDates[s])
		}
	}
	wantDurations := map[Phase]time.Duration{
		PhaseConsultation: dur(10), PhaseInstruction: dur(2 + 4.5), PhaseComplements: dur(3.5), PhaseDecision: dur(2.25),
		PhaseReportWait: dur(37.75), PhaseReportReview: dur(6), PhasePayment: dur(9.04),
	}
	for p := range phaseCount {
		if r.Durations[p] == nil || (*r.Durations[p]-wantDurations[p]).Abs() > time.Millisecond {
			t.Errorf("phase %d: %v, want %v", p, r.Durations[p], wantDurations[p])
		}
	}
}

func TestRowOfOpenAndEndedEarly(t *testing.T) {
	// Withdrawn during instruction: instruction counts until the
	// withdrawal; what follows was never reached.
	withdrawn := &store.ExportRecord{ID: "EXP-B", Status: "withdrawn", SubmittedAt: t0, Events: []store.ExportEvent{
		{Event: lifecycle.EventSubmitted, Status: "submitted", At: at(0)},
		{Event: lifecycle.EventEmbassyContactMissing, Status: "embassy_consultation", At: at(0)},
		{Event: lifecycle.EventOpinionDeemedGiven, Status: "under_review", At: at(15)},
		{Event: lifecycle.EventWithdrawn, Status: "withdrawn", At: at(18)},
	}}
	r, err := RowOf(withdrawn)
	if err != nil {
		t.Fatal(err)
	}
	if r.Dates[StepEmbassyConsulted] != nil || r.Dates[StepOpinion] == nil || r.Dates[StepDecision] != nil {
		t.Errorf("dates: %v", r.Dates)
	}
	if got := days(r.Durations[PhaseConsultation], ','); got != "15,0" {
		t.Errorf("consultation %s", got)
	}
	if got := days(r.Durations[PhaseInstruction], ','); got != "3,0" {
		t.Errorf("instruction until the withdrawal: %s", got)
	}
	for _, p := range []Phase{PhaseComplements, PhaseDecision, PhaseReportWait, PhaseReportReview, PhasePayment} {
		if r.Durations[p] != nil {
			t.Errorf("phase %d never entered has %v", p, *r.Durations[p])
		}
	}

	// Approved, report still awaited (and approved is terminal on a journal
	// written before the second phase): the wait is open, so not given.
	approved := paidRecord()
	approved.Status = "approved"
	approved.Events = approved.Events[:9]
	r, err = RowOf(approved)
	if err != nil {
		t.Fatal(err)
	}
	if r.Durations[PhaseDecision] == nil || r.Durations[PhaseReportWait] != nil || r.Payable != nil || r.Paid != nil {
		t.Errorf("approved: decision %v, report wait %v, payable %v, paid %v", r.Durations[PhaseDecision], r.Durations[PhaseReportWait], r.Payable, r.Paid)
	}

	// Awaiting complements: instruction so far is given (its clock is
	// paused), the complements' wait is not.
	waiting := paidRecord()
	waiting.Events = waiting.Events[:5]
	r, _ = RowOf(waiting)
	if days(r.Durations[PhaseInstruction], '.') != "2.0" || r.Durations[PhaseComplements] != nil {
		t.Errorf("awaiting complements: instruction %v, complements %v", r.Durations[PhaseInstruction], r.Durations[PhaseComplements])
	}

	if _, err := RowOf(&store.ExportRecord{ID: "EXP-C", Events: []store.ExportEvent{{Event: lifecycle.EventReportAccepted, Amount: "12,5"}}}); err == nil {
		t.Error("an unreadable amount is not reported")
	}
}

func TestDays(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0,0"}, {dur(1), "1,0"}, {dur(12.5), "12,5"}, {dur(0.04), "0,0"}, {dur(0.05), "0,1"}, {dur(0.96), "1,0"},
		{dur(365.25), "365,3"}, {-dur(1.5), "-1,5"}, {-dur(0.01), "0,0"},
	} {
		if got := days(&c.d, ','); got != c.want {
			t.Errorf("days(%v) = %s, want %s", c.d, got, c.want)
		}
	}
	if days(nil, ',') != "" {
		t.Error("no duration is not empty")
	}
}

// readCSV checks the file's framing and returns its records.
func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rest, ok := bytes.CutPrefix(b, []byte("\xEF\xBB\xBF"))
	if !ok {
		t.Fatalf("no UTF-8 byte order mark: % x", b[:min(len(b), 8)])
	}
	if bytes.Contains(bytes.ReplaceAll(rest, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("a line ends without CR")
	}
	if !bytes.HasSuffix(rest, []byte("\r\n")) {
		t.Error("the file does not end with CRLF")
	}
	r := csv.NewReader(bytes.NewReader(rest))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read the CSV back: %v\n%s", err, b)
	}
	return recs
}

func TestCSV(t *testing.T) {
	tricky := paidRecord()
	tricky.Collectivite = "Communauté d'agglo « Sud; Nord »\n\"Les Deux-Rives\""
	formula := paidRecord()
	formula.ID, formula.Collectivite = "EXP-F", "=HYPERLINK(\"http://x\")"
	formula.Events = formula.Events[:4]
	formula.RecommendedCents, formula.GrantedCents = nil, nil
	var buf bytes.Buffer
	n, err := Export(context.Background(), records{tricky, formula}, CSV, Filter{}, &buf)
	if err != nil || n != 2 {
		t.Fatalf("export: %d rows, %v", n, err)
	}
	out := buf.Bytes()
	if !bytes.HasPrefix(out, []byte("\xEF\xBB\xBFIdentifiant;Collectivité;SIREN;Pays;Statut;")) {
		t.Errorf("header: %q", out[:min(len(out), 80)])
	}
	// The name's own line break becomes CRLF inside its quotes, which
	// spreadsheets read as a line break in the cell.
	if !bytes.Contains(out, []byte("\"Communauté d'agglo « Sud; Nord »\r\n\"\"Les Deux-Rives\"\"\"")) {
		t.Errorf("the name with ; quotes and a line break is not quoted: %q", out)
	}
	recs := readCSV(t, out)
	if len(recs) != 3 {
		t.Fatalf("%d records, want a header and 2 rows", len(recs))
	}
	for i, rec := range recs {
		if len(rec) != len(csvHeader) {
			t.Errorf("record %d has %d fields, want %d", i, len(rec), len(csvHeader))
		}
	}
	want := []string{"EXP-AAAAAAAAAAAAAAAA", "Communauté d'agglo « Sud; Nord »\n\"Les Deux-Rives\"", "214401093", "SN", "closed", "soldé", "2026.1",
		"3500,00", "3000,00", "3000,00", "2750,50", "2750,50",
		"02/03/2026 10:00", "02/03/2026 10:01", "12/03/2026 10:00", "22/03/2026 10:00", "24/03/2026 16:00",
		"01/05/2026 11:00", "07/05/2026 11:00", "11/05/2026 11:00", "16/05/2026 11:57", // summer time from 29 March
		"10,0", "6,5", "3,5", "2,3", "37,8", "6,0", "9,0"}
	if strings.Join(recs[1], "|") != strings.Join(want, "|") {
		t.Errorf("row\n got %q\nwant %q", recs[1], want)
	}
	f := recs[2]
	if f[1] != "'=HYPERLINK(\"http://x\")" {
		t.Errorf("a formula name is not neutralised: %q", f[1])
	}
	if f[8] != "" || f[9] != "" || f[15] != "" || f[22] != "" {
		t.Errorf("what was not reached is not empty: %q", f)
	}
	if f[21] != "10,0" {
		t.Errorf("consultation %q", f[21])
	}
}

func TestJSONLines(t *testing.T) {
	open := paidRecord()
	open.ID, open.Status = "EXP-OPEN", "under_review"
	open.Collectivite = "Région Île-de-France & <Outre-mer>"
	open.Events = open.Events[:4]
	open.RecommendedCents, open.GrantedCents = nil, nil
	var buf bytes.Buffer
	if _, err := Export(context.Background(), records{paidRecord(), open}, JSONL, Filter{}, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], `"amount_requested":3500.00,`) || !strings.Contains(lines[0], `"amount_paid":2750.50,`) ||
		!strings.Contains(lines[0], `"submitted_at":"2026-03-02T09:00:00Z"`) || !strings.Contains(lines[0], `"days_instruction":6.5,`) {
		t.Errorf("line 1: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"collectivite":"Région Île-de-France & <Outre-mer>"`) {
		t.Errorf("the name is escaped: %s", lines[1])
	}
	for i, l := range lines {
		dec := json.NewDecoder(strings.NewReader(l))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if len(m) != 6+5+9+7 {
			t.Errorf("line %d has %d keys", i+1, len(m))
		}
		for _, k := range []string{"submitted_at", "opinion_at"} {
			if _, err := time.Parse(time.RFC3339, m[k].(string)); err != nil {
				t.Errorf("line %d: %s: %v", i+1, k, err)
			}
		}
	}
	var second map[string]any
	_ = json.Unmarshal([]byte(lines[1]), &second)
	for _, k := range []string{"amount_granted", "amount_payable", "amount_paid", "decided_at", "paid_at", "days_instruction", "days_decision"} {
		if v, ok := second[k]; !ok || v != nil {
			t.Errorf("open application: %s = %v, want null", k, v)
		}
	}
}

// records is a Source of fixed records.
type records []*store.ExportRecord

func (rs records) EachForExport(_ context.Context, _ store.ExportFilter, fn func(*store.ExportRecord) error) error {
	for _, r := range rs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// endless yields n copies of a record, checking that each row reached the
// writer before the next is read: nothing waits to be written at the end.
type endless struct {
	n       int
	written *bytes.Buffer
	t       *testing.T
}

func (e endless) EachForExport(_ context.Context, _ store.ExportFilter, fn func(*store.ExportRecord) error) error {
	rec := paidRecord()
	for i := range e.n {
		before := e.written.Len()
		if err := fn(rec); err != nil {
			return err
		}
		if e.written.Len() == before {
			e.t.Fatalf("row %d was not written before the next was read", i+1)
		}
		e.written.Reset()
	}
	return nil
}

func TestExportWritesAsItReads(t *testing.T) {
	for _, f := range []Format{CSV, JSONL} {
		var buf bytes.Buffer
		n, err := Export(context.Background(), endless{n: 1000, written: &buf, t: t}, f, Filter{}, &buf)
		if err != nil || n != 1000 {
			t.Errorf("%s: %d rows, %v", f, n, err)
		}
	}
}

type failing struct{}

func (failing) EachForExport(context.Context, store.ExportFilter, func(*store.ExportRecord) error) error {
	return store.ErrUnavailable
}

func TestExportFails(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Export(context.Background(), failing{}, CSV, Filter{}, &buf); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("error %v", err)
	}
}

func TestParseQuery(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	f, flt, err := ParseQuery(url.Values{"format": {"jsonl"}, "status": {"closed"}, "country": {"sn"}, "year": {"2026"}, "siren": {"214401093"}}, now)
	if err != nil || f != JSONL || flt != (Filter{Status: "closed", Country: "SN", Year: 2026, SIREN: "214401093"}) {
		t.Fatalf("%s %+v %v", f, flt, err)
	}
	q := flt.Query()
	if !q.SubmittedFrom.Equal(time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)) || !q.SubmittedBefore.Equal(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("year 2026 in Paris: %v to %v", q.SubmittedFrom, q.SubmittedBefore)
	}
	if f, flt, err := ParseQuery(url.Values{}, now); err != nil || f != CSV || flt != (Filter{}) || !flt.Query().SubmittedFrom.IsZero() {
		t.Errorf("no parameter: %s %+v %v", f, flt, err)
	}

	for _, c := range []struct {
		q     url.Values
		field string
		rule  string
		fr    string
	}{
		{url.Values{"format": {"xlsx"}}, "format", "oneof", "format doit être csv ou jsonl"},
		{url.Values{"status": {"paid"}}, "status", "oneof", "Statut inconnu « paid »"},
		{url.Values{"country": {"FRA"}}, "country", "iso3166_1_alpha2", "n'est pas un code pays"},
		{url.Values{"country": {"XX"}}, "country", "iso3166_1_alpha2", "n'est pas un code pays"},
		{url.Values{"siren": {"214401094"}}, "siren", "siren", "clé de contrôle"},
		{url.Values{"year": {"2019"}}, "year", "range", "entre 2020 (début du programme) et 2026"},
		{url.Values{"year": {"2027"}}, "year", "range", "entre 2020"},
		{url.Values{"year": {"deux mille"}}, "year", "integer", "une année en chiffres"},
		{url.Values{"annee": {"2026"}}, "annee", "unknown_parameter", "Paramètre inconnu « annee »"},
		{url.Values{"status": {"approved", "rejected"}}, "status", "repeated", "donné 2 fois"},
	} {
		_, _, err := ParseQuery(c.q, now)
		var ve *dossier.ValidationError
		if !errors.As(err, &ve) || ve.Kind != dossier.KindInvalid || len(ve.Fields) != 1 {
			t.Errorf("%v: %v", c.q, err)
			continue
		}
		fe := ve.Fields[0]
		if fe.Field != c.field || fe.Rule != c.rule || !strings.Contains(fe.MessageFR, c.fr) || fe.MessageEN == "" || fe.MessageEN == fe.MessageFR {
			t.Errorf("%v: %+v", c.q, fe)
		}
	}
	// Every problem at once.
	_, _, err = ParseQuery(url.Values{"format": {"pdf"}, "status": {"x"}, "country": {"1"}, "year": {"x"}, "siren": {"1"}}, now)
	var ve *dossier.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 5 {
		t.Errorf("all at once: %v", err)
	}
}

func TestStatusesCoverTheSecondPhase(t *testing.T) {
	got := Statuses()
	for _, s := range got {
		if lifecycle.StatusLabel(s, "fr") == s || lifecycle.StatusLabel(s, "en") == "" {
			t.Errorf("the CSV has no French name for %s", s)
		}
	}
	for _, s := range lifecycle.AllStatuses {
		n := 0
		for _, g := range got {
			if g == string(s) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s appears %d times in %v", s, n, got)
		}
	}
}

func TestFileName(t *testing.T) {
	// 23:30 UTC on 4 December is already the 5th in Paris.
	now := time.Date(2026, 12, 4, 23, 30, 0, 0, time.UTC)
	if got := CSV.FileName(now); got != "expectct-dossiers-2026-12-05.csv" {
		t.Error(got)
	}
	if got := JSONL.FileName(now); got != "expectct-dossiers-2026-12-05.jsonl" {
		t.Error(got)
	}
	if CSV.ContentType() != "text/csv; charset=utf-8" || JSONL.ContentType() != "application/x-ndjson" {
		t.Error("content types")
	}
}
