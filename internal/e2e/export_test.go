package e2e_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// seedSIRENs are the collectivités of the seeded applications (valid
// check digits); the first is testenv.Applicant's.
var seedSIRENs = []string{"214401093", "217500016", "200046977", "213105554"}

// seedNames are their names: accents, and the characters a CSV must quote.
var seedNames = []string{
	"Commune de Saint-Étienne-du-Rouvray",
	"Ville de Paris",
	"Métropole « Nice; Côte d'Azur »",
	"Communauté \"Cœur de Garonne\"\nPays Toulousain",
}

var seedCountries = []string{"SN", "BR", "MA", "VN", "JP"}

// seedShape is one way an application's life went, as its journal says.
type seedShape struct {
	status string
	// events, each a number of days after the submission; amounts for
	// the events that carry one.
	events []seedEvent
}

type seedEvent struct {
	event, status string
	day           float64
	amount        string
}

var seedShapes = []seedShape{
	{string(lifecycle.StatusClosed), []seedEvent{
		{lifecycle.EventSubmitted, "submitted", 0, ""},
		{lifecycle.EventEmbassyConsulted, "embassy_consultation", 0.001, ""},
		{lifecycle.EventOpinionGiven, "under_review", 9.5, ""},
		{lifecycle.EventComplementsRequested, "awaiting_complements", 12, ""},
		{lifecycle.EventComplementsReceived, "under_review", 14, ""},
		{lifecycle.EventRecommended, "awaiting_decision", 20, "3000.00"},
		{lifecycle.EventApproved, "approved", 23, "3000.00"},
		{"mission_ended", "awaiting_report", 40, ""},
		{lifecycle.EventReportSubmitted, "report_review", 70, ""},
		{lifecycle.EventReportAccepted, "awaiting_payment_order", 75, "2750.50"},
		{lifecycle.EventPaymentOrdered, "payment_ordered", 80, "2750.50"},
		{lifecycle.EventPaymentConfirmed, string(lifecycle.StatusClosed), 84, "2750.50"},
	}},
	{string(lifecycle.StatusApproved), []seedEvent{
		{lifecycle.EventSubmitted, "submitted", 0, ""},
		{lifecycle.EventEmbassyConsulted, "embassy_consultation", 0.001, ""},
		{lifecycle.EventOpinionDeemedGiven, "under_review", 15, ""},
		{lifecycle.EventRecommended, "awaiting_decision", 18, "2000.00"},
		{lifecycle.EventApproved, "approved", 19, "1800.00"},
	}},
	{string(lifecycle.StatusRejected), []seedEvent{
		{lifecycle.EventSubmitted, "submitted", 0, ""},
		{lifecycle.EventEmbassyConsulted, "embassy_consultation", 0.001, ""},
		{lifecycle.EventOpinionGiven, "under_review", 3, ""},
		{lifecycle.EventRecommended, "awaiting_decision", 8, ""},
		{lifecycle.EventRejected, "rejected", 9, ""},
	}},
	{string(lifecycle.StatusWithdrawn), []seedEvent{
		{lifecycle.EventSubmitted, "submitted", 0, ""},
		{lifecycle.EventEmbassyConsulted, "embassy_consultation", 0.001, ""},
		{lifecycle.EventOpinionGiven, "under_review", 4, ""},
		{lifecycle.EventWithdrawn, "withdrawn", 6, ""},
	}},
	{string(lifecycle.StatusUnderReview), []seedEvent{
		{lifecycle.EventSubmitted, "submitted", 0, ""},
		{lifecycle.EventEmbassyContactMissing, "embassy_consultation", 0.001, ""},
		{lifecycle.EventEmbassyConsulted, "embassy_consultation", 2, ""},
		{lifecycle.EventOpinionGiven, "under_review", 5, ""},
	}},
}

// seedCounts are how many seeded applications each filter selects.
type seedCounts struct {
	total     int
	byStatus  map[string]int
	byCountry map[string]int
	byYear    map[int]int
	bySIREN   map[string]int
	// closedBR2025 is status=closed&country=BR&year=2025.
	closedBR2025 int
}

// seedID is the application ID of the i-th seeded application.
func seedID(i int) string {
	b := make([]byte, 10)
	copy(b, "seed")
	binary.BigEndian.PutUint32(b[6:], uint32(i))
	return "EXP-" + base32.StdEncoding.EncodeToString(b)
}

// seedApplications writes n applications' read-model rows and journals
// (hash-chained, as the worker writes them) straight into the database as
// its owner, with PostgreSQL's COPY: thousands in a second, where running
// their workflows would take minutes. Submissions are spread over 2024 to
// 2026; the first lands at 00:30 on 1 January 2026 in Paris, which is
// still 2025 in UTC.
func seedApplications(t testing.TB, dbURL string, n int) seedCounts {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.OwnerURL(t, dbURL))
	if err != nil {
		t.Fatalf("connect as the owner: %v", err)
	}
	defer conn.Close(ctx)
	c := seedCounts{byStatus: map[string]int{}, byCountry: map[string]int{}, byYear: map[int]int{}, bySIREN: map[string]int{}}
	first := time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)
	// Two thirds go back from the first up to 600 days (into 2024), a
	// third forward up to 300 days (in 2026, before today).
	step := 600 * 24 * time.Hour / time.Duration(n)
	submittedAt := func(i int) time.Time {
		if i%3 == 0 {
			return first.Add(time.Duration(i) * step / 2)
		}
		return first.Add(-time.Duration(i) * step)
	}
	apps := make([][]any, 0, n)
	for i := range n {
		shape := seedShapes[i%len(seedShapes)]
		at := submittedAt(i)
		siren, country := seedSIRENs[i%len(seedSIRENs)], seedCountries[(i/len(seedShapes))%len(seedCountries)]
		var recommended, granted any
		for _, e := range shape.events {
			if e.amount == "" {
				continue
			}
			m, _ := dossier.ParseMoney(e.amount)
			switch e.event {
			case lifecycle.EventRecommended:
				recommended = int64(m)
			case lifecycle.EventApproved:
				granted = int64(m)
			}
		}
		last := shape.events[len(shape.events)-1]
		apps = append(apps, []any{seedID(i), shape.status, siren, seedNames[i%len(seedNames)], country, "Mission d'expertise",
			int64(350000), recommended, granted, "2026.1", []string{}, "{}", len(shape.events), at,
			at.Add(time.Duration(last.day * float64(24*time.Hour))), nil})
		c.total++
		c.byStatus[shape.status]++
		c.byCountry[country]++
		year := at.In(lifecycle.Paris).Year()
		c.byYear[year]++
		c.bySIREN[siren]++
		if shape.status == string(lifecycle.StatusClosed) && country == "BR" && year == 2025 {
			c.closedBR2025++
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"applications"}, []string{"id", "status", "siren", "collectivite", "country",
		"mission_title", "requested_cents", "recommended_cents", "granted_cents", "rules_version", "flags", "dossier", "last_seq",
		"submitted_at", "updated_at", "decided_at"}, pgx.CopyFromRows(apps)); err != nil {
		t.Fatalf("seed applications: %v", err)
	}
	apps = nil
	i, k := 0, 0
	prev := store.GenesisHash
	rows := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		shape := seedShapes[i%len(seedShapes)]
		e := shape.events[k]
		payload := "{}"
		if e.amount != "" {
			payload = `{"amount":` + e.amount + `}`
		}
		entry := store.Entry{ApplicationID: seedID(i), Seq: k + 1, EventType: e.event, Status: e.status,
			ActorID: "seed", ActorRole: "system", Payload: []byte(payload),
			OccurredAt: submittedAt(i).Add(time.Duration(e.day * float64(24*time.Hour))).Truncate(time.Microsecond), PrevHash: prev}
		entry.Hash = entry.ComputeHash()
		prev = entry.Hash
		if k++; k == len(shape.events) {
			i, k, prev = i+1, 0, store.GenesisHash
		}
		return []any{entry.ApplicationID, entry.Seq, entry.EventType, entry.Status, entry.ActorID, entry.ActorRole,
			payload, entry.OccurredAt, entry.PrevHash, entry.Hash}, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"journal"}, []string{"application_id", "seq", "event_type", "status",
		"actor_id", "actor_role", "payload", "occurred_at", "prev_hash", "hash"}, rows); err != nil {
		t.Fatalf("seed the journal: %v", err)
	}
	return c
}

// exportAs fetches an export as the actor and checks its headers.
func exportAs(t *testing.T, s *testenv.Stack, actor lifecycle.Actor, query string) testenv.Response {
	t.Helper()
	r := s.Do(&actor, "GET", "/v1/exports/applications?"+query, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("export %s as %s: %d %s", query, actor.ID, r.Status, r.Body)
	}
	return r
}

// csvRecords checks an export's framing as a French spreadsheet needs it
// (byte order mark, UTF-8, CRLF, semicolons, one header) and returns its
// data rows.
func csvRecords(t *testing.T, body []byte) [][]string {
	t.Helper()
	rest, ok := bytes.CutPrefix(body, []byte("\xEF\xBB\xBF"))
	if !ok {
		t.Fatalf("no byte order mark: %q", body[:min(len(body), 20)])
	}
	if !utf8.Valid(rest) {
		t.Fatal("the export is not valid UTF-8")
	}
	if bare := bytes.Count(rest, []byte("\n")) - bytes.Count(rest, []byte("\r\n")); bare != 0 {
		t.Errorf("%d line ends without CR", bare)
	}
	header, _, _ := bytes.Cut(rest, []byte("\r\n"))
	if !strings.HasPrefix(string(header), "Identifiant;Collectivité;SIREN;Pays;Statut;Statut (libellé);Version des règles;Montant demandé (EUR);") {
		t.Errorf("header row: %s", header)
	}
	r := csv.NewReader(bytes.NewReader(rest))
	r.Comma = ';'
	recs, err := r.ReadAll() // also checks every row has the header's number of fields
	if err != nil {
		t.Fatalf("read the CSV: %v", err)
	}
	return recs[1:]
}

// TestExportApplications exports a few thousand applications, seeded in
// the database, and one that went through its workflow, as CSV and JSON
// lines, through the API and the CLI: row counts, encoding, separators,
// every filter, and who may export.
func TestExportApplications(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	const n = 3000
	want := seedApplications(t, s.DBURL, n)
	// Approved through the API; its workflow may go on (the second phase),
	// what the export reads is recorded when the decision answers.
	ran := submitAs(t, s, testenv.Applicant, testenv.ExampleDossier(t))
	fullPath(t, s, ran)
	total := n + 1

	// CSV, everything, as an auditor.
	r := exportAs(t, s, testenv.Auditor, "")
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	today := time.Now().In(lifecycle.Paris).Format("2006-01-02")
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename=expectct-dossiers-`+today+`.csv` {
		t.Errorf("Content-Disposition %q", cd)
	}
	recs := csvRecords(t, r.Body)
	if len(recs) != total {
		t.Fatalf("%d rows, want %d", len(recs), total)
	}
	byID := map[string][]string{}
	for _, rec := range recs {
		byID[rec[0]] = rec
	}
	if len(byID) != total {
		t.Errorf("%d distinct applications in %d rows", len(byID), len(recs))
	}
	// Oldest first: the one run through its workflow, submitted today,
	// comes last.
	if recs[len(recs)-1][0] != ran {
		t.Errorf("the last row is %s, want the newest application %s", recs[len(recs)-1][0], ran)
	}
	closed := byID[seedID(0)]
	wantClosed := []string{seedID(0), seedNames[0], seedSIRENs[0], "SN", "closed", "soldé", "2026.1",
		"3500,00", "3000,00", "3000,00", "2750,50", "2750,50",
		"01/01/2026 00:30", "01/01/2026 00:31", "10/01/2026 12:30", "21/01/2026 00:30", "24/01/2026 00:30",
		"12/03/2026 00:30", "17/03/2026 00:30", "22/03/2026 00:30", "26/03/2026 00:30",
		"9,5", "8,5", "2,0", "3,0", "47,0", "5,0", "9,0"}
	if strings.Join(closed, "|") != strings.Join(wantClosed, "|") {
		t.Errorf("closed application\n got %q\nwant %q", closed, wantClosed)
	}
	if got := byID[seedID(3)]; got[1] != seedNames[3] || got[4] != "withdrawn" || got[5] != "retiré" || got[9] != "" || got[22] != "2,0" || got[23] != "" {
		t.Errorf("withdrawn application with a quoted, two-line name: %q", got)
	}
	if got := byID[seedID(2)]; got[1] != seedNames[2] {
		t.Errorf("the name with ; and quotes: %q", got[1])
	}
	if !bytes.Contains(r.Body, []byte(`;"Métropole « Nice; Côte d'Azur »";`)) ||
		!bytes.Contains(r.Body, []byte(`;"Communauté ""Cœur de Garonne""`+"\r\n"+`Pays Toulousain";`)) {
		t.Error("names with ; quotes or a line break are not quoted as spreadsheets read them")
	}
	rr := byID[ran]
	if rr[4] != "approved" || rr[5] != "accepté" || rr[7] != "3500,00" || rr[8] != "3000,00" || rr[9] != "2800,00" || rr[10] != "" || rr[16] == "" || rr[17] != "" {
		t.Errorf("the application run through its workflow: %q", rr)
	}

	// Each filter, in CSV.
	count := func(actor lifecycle.Actor, query string) int {
		t.Helper()
		return len(csvRecords(t, exportAs(t, s, actor, query).Body))
	}
	for _, c := range []struct {
		query string
		want  int
	}{
		{"status=closed", want.byStatus["closed"]},
		{"status=approved", want.byStatus["approved"] + 1},
		{"status=awaiting_complements", 0},
		{"country=BR", want.byCountry["BR"]},
		{"country=sn", want.byCountry["SN"] + 1},
		{"year=2024", want.byYear[2024]},
		{"year=2025", want.byYear[2025]},
		{"year=2026", want.byYear[2026] + 1},
		{"siren=" + seedSIRENs[2], want.bySIREN[seedSIRENs[2]]},
		{"siren=" + testenv.Applicant.SIREN, want.bySIREN[testenv.Applicant.SIREN] + 1},
		{"status=closed&country=BR&year=2025", want.closedBR2025},
	} {
		if c.want == 0 && c.query != "status=awaiting_complements" {
			t.Fatalf("%s: the seed selects nothing, which tests nothing", c.query)
		}
		if got := count(testenv.Decider, c.query); got != c.want {
			t.Errorf("%s: %d rows, want %d", c.query, got, c.want)
		}
	}
	if want.byYear[2024]+want.byYear[2025]+want.byYear[2026] != n {
		t.Errorf("the seed spans other years: %v", want.byYear)
	}

	// JSON lines, as an instructor.
	r = exportAs(t, s, testenv.Instructor, "format=jsonl&country=SN")
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasSuffix(cd, today+".jsonl") {
		t.Errorf("Content-Disposition %q", cd)
	}
	lines := bytes.Split(bytes.TrimSuffix(r.Body, []byte("\n")), []byte("\n"))
	if len(lines) != want.byCountry["SN"]+1 {
		t.Fatalf("%d lines, want %d", len(lines), want.byCountry["SN"]+1)
	}
	for i, l := range lines {
		var row map[string]json.RawMessage
		if err := json.Unmarshal(l, &row); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, l)
		}
		if string(row["country"]) != `"SN"` {
			t.Errorf("line %d: country %s", i+1, row["country"])
		}
		var submitted string
		if err := json.Unmarshal(row["submitted_at"], &submitted); err != nil {
			t.Fatalf("line %d: submitted_at %s", i+1, row["submitted_at"])
		}
		if _, err := time.Parse(time.RFC3339, submitted); err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
		if string(row["application_id"]) == `"`+seedID(0)+`"` {
			for k, v := range map[string]string{"amount_requested": "3500.00", "amount_payable": "2750.50", "amount_paid": "2750.50",
				"collectivite": `"` + seedNames[0] + `"`, "paid_at": `"2026-03-25T23:30:00Z"`, "days_report_wait": "47.0"} {
				if string(row[k]) != v {
					t.Errorf("%s: %s is %s, want %s", seedID(0), k, row[k], v)
				}
			}
		}
		if string(row["application_id"]) == `"`+ran+`"` {
			if string(row["amount_granted"]) != "2800.00" || string(row["amount_paid"]) != "null" || string(row["days_report_wait"]) != "null" {
				t.Errorf("%s: %s", ran, l)
			}
		}
	}

	// Who may export: DAECT staff, auditors and admins; an applicant, an
	// embassy and someone without a role are refused and recorded.
	exportAs(t, s, testenv.Admin, "year=2024")
	for _, a := range []lifecycle.Actor{testenv.Applicant, testenv.EmbassySN} {
		r := s.Do(&a, "GET", "/v1/exports/applications?siren="+testenv.Applicant.SIREN, nil)
		if r.Status != http.StatusForbidden || !strings.Contains(r.Header.Get("Content-Type"), "problem+json") {
			t.Errorf("%s: %d %s, want 403", a.ID, r.Status, r.Body)
		}
		var n int
		if err := s.Store.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM attempts WHERE actor_id = $1 AND action = 'export' AND http_status = 403`, a.ID).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s's refused export: %d attempts recorded, %v", a.ID, n, err)
		}
	}
	if r := s.Do(nil, "GET", "/v1/exports/applications", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.Status)
	}

	// Bad parameters: every one named, with its rule, in both languages.
	r = s.Do(&testenv.Auditor, "GET", "/v1/exports/applications?format=xlsx&status=paid&country=XX&year=1999&siren=123456789&annee=2026", nil)
	var p struct {
		Status int                  `json:"status"`
		Errors []dossier.FieldError `json:"errors"`
	}
	r.JSON(t, &p)
	if r.Status != http.StatusUnprocessableEntity || p.Status != http.StatusUnprocessableEntity {
		t.Errorf("bad parameters: %d %s", r.Status, r.Body)
	}
	var got []string
	for _, fe := range p.Errors {
		got = append(got, fe.Field+":"+fe.Rule)
		if fe.MessageFR == "" || fe.MessageEN == "" {
			t.Errorf("%s: a message is missing: %+v", fe.Field, fe)
		}
	}
	if w := "annee:unknown_parameter country:iso3166_1_alpha2 format:oneof siren:siren status:oneof year:range"; strings.Join(got, " ") != w {
		t.Errorf("field errors %v, want %s", got, w)
	}

	// The CLI, to a file and to standard output.
	cli := cliFor(t, s, s.Token(testenv.Auditor))
	file := filepath.Join(t.TempDir(), "export.jsonl")
	res := mustSucceed(t, cli("export", "--format", "jsonl", "--country", "BR", "--year", "2025", "-o", file), "expectct export -o")
	mustContain(t, "stderr", res.stderr, "export written to "+file)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(b, []byte("\n")); lines != countWhere(t, s, "country = 'BR' AND submitted_at >= '2025-01-01T00:00:00+01:00' AND submitted_at < '2026-01-01T00:00:00+01:00'") {
		t.Errorf("the CLI's export has %d lines", lines)
	}
	res = mustSucceed(t, cli("export", "--status", "rejected"), "expectct export")
	if recs := csvRecords(t, []byte(res.stdout)); len(recs) != want.byStatus["rejected"] {
		t.Errorf("the CLI's CSV on standard output has %d rows, want %d", len(recs), want.byStatus["rejected"])
	}
	mustFail(t, cli("export", "--year", "1999"), "expectct export --year 1999", "422", "year (range)", "2020")
	mustFail(t, cliFor(t, s, s.Token(testenv.Applicant))("export"), "an applicant's expectct export", "403")
}

// countWhere counts the read model's applications matching a condition.
func countWhere(t *testing.T, s *testenv.Stack, cond string) int {
	t.Helper()
	var n int
	if err := s.Store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM applications WHERE "+cond).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkExportMemory exports 100,000 seeded applications through the
// API, and a fifth of them (one country), and prints for each the heap's
// peak above what it was before the export (the API runs in the
// benchmark's process): about the same for both, and far below the
// export's size, as the rows are never gathered. Run it with
// go test ./internal/e2e/ -run '^$' -bench ExportMemory -benchtime 1x.
func BenchmarkExportMemory(b *testing.B) {
	s := testenv.NewStack(b, testenv.StackOptions{NoWorker: true})
	const n = 100_000
	seeded := seedApplications(b, s.DBURL, n)
	token := s.Token(testenv.Auditor)
	for _, c := range []struct {
		name, query string
		rows        int
	}{
		{"csv-SN", "country=SN", seeded.byCountry["SN"]},
		{"csv-all", "", n},
		{"jsonl-SN", "format=jsonl&country=SN", seeded.byCountry["SN"]},
		{"jsonl-all", "format=jsonl", n},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				peak := before.HeapInuse
				done, sampled := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(sampled)
					tick := time.NewTicker(2 * time.Millisecond)
					defer tick.Stop()
					var m runtime.MemStats
					for {
						select {
						case <-done:
							return
						case <-tick.C:
							runtime.ReadMemStats(&m)
							peak = max(peak, m.HeapInuse)
						}
					}
				}()
				start := time.Now()
				req, _ := http.NewRequest("GET", s.API.URL+"/v1/exports/applications?"+c.query, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				size, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				close(done)
				<-sampled
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("export: %d %v", resp.StatusCode, err)
				}
				elapsed := time.Since(start)
				grew := float64(peak-before.HeapInuse) / (1 << 20)
				b.ReportMetric(grew, "MiB-heap-peak")
				b.ReportMetric(float64(size)/(1<<20), "MiB-exported")
				b.ReportMetric(float64(c.rows)/elapsed.Seconds(), "rows/s")
				fmt.Fprintf(os.Stderr, "%s: %d rows, %.1f MiB in %v, heap peak +%.1f MiB\n",
					c.name, c.rows, float64(size)/(1<<20), elapsed.Round(time.Millisecond), grew)
			}
		})
	}
}
