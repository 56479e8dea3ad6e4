package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeRequest is what the fake API received.
type fakeRequest struct {
	Method, Path, Query string
	EscapedPath         string
	Header              http.Header
	Body                []byte
}

// fakeReply is what the fake API answers to one request.
type fakeReply struct {
	status      int
	contentType string
	body        string
}

// fakeAPI records every request and answers from a route table keyed by
// "METHOD /path"; a route not in the table answers 404 problem+json.
type fakeAPI struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []fakeRequest
	routes map[string][]fakeReply // consumed in order; the last one repeats
}

func newFakeAPI(t *testing.T, routes map[string][]fakeReply) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, routes: routes}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, fakeRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.URL.EscapedPath(), r.Header.Clone(), body})
		key := r.Method + " " + r.URL.Path
		replies := f.routes[key]
		var rp fakeReply
		if len(replies) == 0 {
			rp = fakeReply{404, "application/problem+json", `{"type":"about:blank","title":"Not Found","status":404,"detail":"no route ` + key + `"}`}
		} else {
			rp = replies[0]
			if len(replies) > 1 {
				f.routes[key] = replies[1:]
			}
		}
		f.mu.Unlock()
		if rp.contentType == "" {
			rp.contentType = "application/json"
		}
		w.Header().Set("Content-Type", rp.contentType)
		if rp.status == 0 {
			rp.status = 200
		}
		w.WriteHeader(rp.status)
		io.WriteString(w, rp.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

// only returns the single request the command made.
func (f *fakeAPI) only() fakeRequest {
	f.t.Helper()
	rs := f.requests()
	if len(rs) != 1 {
		f.t.Fatalf("want exactly 1 request, got %d: %+v", len(rs), rs)
	}
	return rs[0]
}

// runCLI executes the CLI as main does: the error goes to stderr as
// "expectct: <err>" and means exit status 1.
func runCLI(t *testing.T, api string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Setenv("EXPECTCT_TOKEN", "")
	t.Setenv("EXPECTCT_API", "")
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(append([]string{"--api", api, "--token", "tok-123"}, args...))
	err = cmd.Execute()
	if err != nil {
		fmt.Fprintln(&errb, "expectct:", err)
	}
	return out.String(), errb.String(), err
}

func writeTempFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dossier.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func indentedJSON(t *testing.T, body string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(body), "", "  "); err != nil {
		t.Fatal(err)
	}
	return b.String() + "\n"
}

func assertBodyJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request body is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("request body\n got %s\nwant %s", gb, wb)
	}
}

func assertOutContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

const fakeDossierFile = `{"collectivite":{"name":"Ville de Lyon","kind":"commune","siren":"216901231","region":"Auvergne-Rhône-Alpes"}}`

// fakeStateJSON is a State as the API returns it, with a field this client does
// not know, which --output json must keep.
const fakeStateJSON = `{"application_id":"APP-1","status":"awaiting_decision","rules_version":"2025.1",
"flags":["orange_travel_advice"],
"dossier":{"collectivite":{"name":"Ville de Lyon","kind":"commune","siren":"216901231","region":"Auvergne-Rhône-Alpes"},
 "contact":{"name":"Marie Curie","email":"m.curie@lyon.fr","phone":"+33472100000"},
 "partner":{"authority":"Commune de Dakar","city":"Dakar","country":"SN","partnership":"existing"},
 "mission":{"title":"Gestion des déchets","theme":"environnement","objectives":"x","start_date":"2026-03-02","end_date":"2026-03-06"},
 "agents":[{"name":"A","position":"ingénieur","expertise":"déchets"}],
 "budget":{"travel":"2000.00","accommodation":"1000.00","daily_allowances":"800.00","other":"200.00","requested":"3000.00","own_share":"1000.00"}},
"submitted_at":"2026-01-05T09:30:00Z","submitter":{"id":"u-lyon","role":"applicant","siren":"216901231"},
"opinion":{"value":"favorable","comment":"Bon projet\u001b[31m","actor":{"id":"emb-sn","role":"embassy"},"at":"2026-01-08T10:00:00Z"},
"recommendation":{"value":"approve","amount":"2500.00","comment":"Solide","actor":{"id":"instr-1","role":"instructor"},"at":"2026-01-10T10:00:00Z"},
"embassy_contacted":true,
"deadlines":[{"name":"decision_reminder","due":"2026-02-10T09:00:00Z"}],
"steps":[{"seq":1,"event":"submitted","status":"submitted","actor":{"id":"u-lyon","role":"applicant"},"at":"2026-01-05T09:30:00Z"},
 {"seq":2,"event":"recommended","status":"awaiting_decision","actor":{"id":"instr-1","role":"instructor"},"at":"2026-01-10T10:00:00Z"}],
"future_field":{"kept":true}}`

func fakeStateReply() []fakeReply { return []fakeReply{{status: 200, body: fakeStateJSON}} }

func TestClientSubmit(t *testing.T) {
	const created = `{"application_id":"APP-1","status":"submitted","rules_version":"2025.1","flags":["orange_travel_advice"],"created":true}`
	const existing = `{"application_id":"APP-1","status":"submitted","rules_version":"2025.1","flags":[],"created":false}`
	f := newFakeAPI(t, map[string][]fakeReply{"POST /v1/applications": {{201, "", created}, {200, "", existing}, {200, "", existing}}})
	file := writeTempFile(t, fakeDossierFile)
	sum := sha256.Sum256([]byte(fakeDossierFile))
	wantKey := hex.EncodeToString(sum[:])

	out, errOut, err := runCLI(t, f.srv.URL, "submit", file)
	if err != nil {
		t.Fatal(err)
	}
	if out != "APP-1\n" {
		t.Errorf("stdout = %q, want the ID alone", out)
	}
	assertOutContains(t, "stderr", errOut, "created", "orange_travel_advice")
	r := f.only()
	if r.Method != "POST" || r.Path != "/v1/applications" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	if string(r.Body) != fakeDossierFile {
		t.Errorf("body %q: want the file bytes as they are", r.Body)
	}
	if got := r.Header.Get("Idempotency-Key"); got != wantKey {
		t.Errorf("Idempotency-Key = %q, want sha256 of the file %q", got, wantKey)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer tok-123" {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}

	// The same file again: same key, the server answers the existing application.
	out, errOut, err = runCLI(t, f.srv.URL, "submit", file)
	if err != nil || out != "APP-1\n" {
		t.Fatalf("second submit: %q %v", out, err)
	}
	assertOutContains(t, "stderr", errOut, "already submitted")
	if got := f.requests()[1].Header.Get("Idempotency-Key"); got != wantKey {
		t.Errorf("second key %q", got)
	}

	// An explicit key, JSON output.
	out, _, err = runCLI(t, f.srv.URL, "-o", "json", "submit", file, "--idempotency-key", "K-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.requests()[2].Header.Get("Idempotency-Key"); got != "K-1" {
		t.Errorf("explicit key %q", got)
	}
	if out != indentedJSON(t, existing) {
		t.Errorf("json output %q", out)
	}
}

func TestClientSubmitMissingFile(t *testing.T) {
	f := newFakeAPI(t, nil)
	_, _, err := runCLI(t, f.srv.URL, "submit", filepath.Join(t.TempDir(), "nope.json"))
	if err == nil {
		t.Fatal("want an error")
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests made", n)
	}
}

func TestClientStatus(t *testing.T) {
	f := newFakeAPI(t, map[string][]fakeReply{"GET /v1/applications/APP-1": fakeStateReply()})
	out, _, err := runCLI(t, f.srv.URL, "status", "APP-1")
	if err != nil {
		t.Fatal(err)
	}
	r := f.only()
	if r.Method != "GET" || len(r.Body) != 0 || r.Header.Get("Authorization") != "Bearer tok-123" {
		t.Errorf("request %+v", r)
	}
	assertOutContains(t, "status", out,
		"APP-1", "awaiting_decision (en attente de décision)", "Ville de Lyon", "SIREN 216901231", "SN",
		"Commune de Dakar", "Requested", "3000.00 EUR", "Recommended", "2500.00 EUR",
		"favorable by emb-sn (embassy)", "approve 2500.00 EUR by instr-1 (instructor)",
		"decision_reminder", "2026-02-10 10:00 CET", // deadlines in Paris time
		"recommended", "awaiting_decision", "orange_travel_advice", "2026-03-02 to 2026-03-06 (5 days)")
	if strings.Contains(out, "\x1b") {
		t.Errorf("an escape sequence from the server reached the terminal:\n%q", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Granted") && !strings.Contains(line, "-") {
			t.Errorf("granted should be empty: %q", line)
		}
	}

	out, _, err = runCLI(t, f.srv.URL, "status", "APP-1", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	if out != indentedJSON(t, fakeStateJSON) {
		t.Errorf("json output is not the API body indented:\n%s", out)
	}
	assertOutContains(t, "json", out, `"future_field"`)
}

func TestClientStatusEscapesID(t *testing.T) {
	f := newFakeAPI(t, map[string][]fakeReply{})
	runCLI(t, f.srv.URL, "status", "a/b?c")
	if r := f.only(); r.EscapedPath != "/v1/applications/a%2Fb%3Fc" || r.Query != "" {
		t.Errorf("escaped path %q query %q", r.EscapedPath, r.Query)
	}
}

const fakePage1 = `{"items":[{"application_id":"APP-2","status":"under_review","siren":"216901231","collectivite":"Ville de Lyon",
"country":"SN","mission_title":"Gestion des déchets","requested_cents":300000,"recommended_cents":250000,"rules_version":"2025.1",
"flags":[],"last_seq":3,"submitted_at":"2026-01-06T09:00:00Z","updated_at":"2026-01-07T09:00:00Z"}],"next_cursor":"CUR2"}`

const fakePage2 = `{"items":[{"application_id":"APP-1","status":"approved","siren":"216901231","collectivite":"Ville de Lyon",
"country":"SN","mission_title":"Eau potable","requested_cents":400050,"granted_cents":400000,"rules_version":"2025.1",
"flags":[],"last_seq":8,"submitted_at":"2026-01-05T09:00:00Z","updated_at":"2026-01-09T09:00:00Z"}]}`

func TestClientList(t *testing.T) {
	f := newFakeAPI(t, map[string][]fakeReply{"GET /v1/applications": {{200, "", fakePage1}}})
	out, _, err := runCLI(t, f.srv.URL, "list", "--status", "under_review", "--country", "SN", "--siren", "216901231",
		"--limit", "1", "--cursor", "CUR1")
	if err != nil {
		t.Fatal(err)
	}
	r := f.only()
	if r.Method != "GET" || r.Query != "country=SN&cursor=CUR1&limit=1&siren=216901231&status=under_review" {
		t.Errorf("request %s ?%s", r.Method, r.Query)
	}
	assertOutContains(t, "list", out, "ID", "STATUS", "COLLECTIVITÉ", "APP-2", "under_review", "Ville de Lyon",
		"3000.00 EUR", "2500.00 EUR", "--cursor CUR2")

	out, _, err = runCLI(t, f.srv.URL, "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if out != indentedJSON(t, fakePage1) {
		t.Errorf("json output %s", out)
	}
	if _, _, err := runCLI(t, f.srv.URL, "list", "--order", "deadline", "--deadline-within", "7", "--followed"); err != nil {
		t.Fatal(err)
	}
	if rs := f.requests(); rs[len(rs)-1].Query != "deadline_within_days=7&followed=me&order=deadline" {
		t.Errorf("filtered list request ?%s", rs[len(rs)-1].Query)
	}
}

func TestClientFollow(t *testing.T) {
	f := newFakeAPI(t, map[string][]fakeReply{
		"PUT /v1/applications/APP-1/follow":    {{200, "", `{"application_id":"APP-1","following":true}`}},
		"DELETE /v1/applications/APP-1/follow": {{200, "", `{"application_id":"APP-1","following":false}`}},
	})
	out, _, err := runCLI(t, f.srv.URL, "follow", "APP-1")
	if err != nil || !strings.Contains(out, "APP-1: followed") {
		t.Fatalf("follow: %q %v", out, err)
	}
	out, _, err = runCLI(t, f.srv.URL, "unfollow", "APP-1")
	if err != nil || !strings.Contains(out, "APP-1: not followed") {
		t.Fatalf("unfollow: %q %v", out, err)
	}
}

func TestClientListAll(t *testing.T) {
	f := newFakeAPI(t, map[string][]fakeReply{"GET /v1/applications": {{200, "", fakePage1}, {200, "", fakePage2}}})
	out, _, err := runCLI(t, f.srv.URL, "list", "--all", "--limit", "1")
	if err != nil {
		t.Fatal(err)
	}
	rs := f.requests()
	if len(rs) != 2 || rs[0].Query != "limit=1" || rs[1].Query != "cursor=CUR2&limit=1" {
		t.Fatalf("requests %+v", rs)
	}
	assertOutContains(t, "list --all", out, "APP-2", "APP-1", "4000.50 EUR", "4000.00 EUR")
	if strings.Contains(out, "--cursor") {
		t.Errorf("--all should not offer a cursor:\n%s", out)
	}

	f = newFakeAPI(t, map[string][]fakeReply{"GET /v1/applications": {{200, "", fakePage1}, {200, "", fakePage2}}})
	out, _, err = runCLI(t, f.srv.URL, "list", "--all", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 2 || got.Items[0]["application_id"] != "APP-2" || got.Items[1]["application_id"] != "APP-1" {
		t.Errorf("items %v", got.Items)
	}
}

func TestClientListCursorLoop(t *testing.T) {
	f := newFakeAPI(t, map[string][]fakeReply{"GET /v1/applications": {{200, "", fakePage1}}})
	_, _, err := runCLI(t, f.srv.URL, "list", "--all")
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("want a cursor loop error, got %v", err)
	}
}

// TestClientSteps checks each human step sends the right request and prints the state.
func TestClientSteps(t *testing.T) {
	dossierPath := writeTempFile(t, fakeDossierFile)
	tests := []struct {
		name string
		args []string
		path string
		body string
	}{
		{"amend", []string{"amend", "APP-1", dossierPath, "--comment", "budget corrigé"},
			"/v1/applications/APP-1/complements", `{"dossier":` + fakeDossierFile + `,"comment":"budget corrigé"}`},
		{"amend without comment", []string{"amend", "APP-1", dossierPath},
			"/v1/applications/APP-1/complements", `{"dossier":` + fakeDossierFile + `}`},
		{"withdraw", []string{"withdraw", "APP-1", "--reason", "mission annulée"},
			"/v1/applications/APP-1/withdrawal", `{"reason":"mission annulée"}`},
		{"opinion favorable", []string{"opinion", "APP-1", "--favorable", "--comment", "Très pertinent"},
			"/v1/applications/APP-1/opinion", `{"opinion":"favorable","comment":"Très pertinent"}`},
		{"opinion unfavorable", []string{"opinion", "APP-1", "--unfavorable", "--comment", "Contexte <difficile> & instable"},
			"/v1/applications/APP-1/opinion", `{"opinion":"unfavorable","comment":"Contexte <difficile> & instable"}`},
		{"opinion reserved", []string{"opinion", "APP-1", "--reserved", "--comment", "À préciser"},
			"/v1/applications/APP-1/opinion", `{"opinion":"reserved","comment":"À préciser"}`},
		{"request-complements", []string{"request-complements", "APP-1", "--message", "Joindre le budget détaillé"},
			"/v1/applications/APP-1/complements-request", `{"message":"Joindre le budget détaillé"}`},
		{"review approve", []string{"review", "APP-1", "--recommend", "approve", "--amount", "2999.5", "--comment", "ok"},
			"/v1/applications/APP-1/recommendation", `{"recommendation":"approve","amount":"2999.50","comment":"ok"}`},
		{"review reject", []string{"review", "APP-1", "--recommend", "reject", "--comment", "hors programme"},
			"/v1/applications/APP-1/recommendation", `{"recommendation":"reject","comment":"hors programme"}`},
		{"decide approve", []string{"decide", "APP-1", "--approve", "--amount", "3000"},
			"/v1/applications/APP-1/decision", `{"decision":"approve","amount":"3000.00"}`},
		{"decide reject", []string{"decide", "APP-1", "--reject", "--reason", "budget insuffisamment justifié"},
			"/v1/applications/APP-1/decision", `{"decision":"reject","motivation":"budget insuffisamment justifié"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, map[string][]fakeReply{"POST " + tt.path: fakeStateReply()})
			out, errOut, err := runCLI(t, f.srv.URL, tt.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			r := f.only()
			if r.Method != "POST" || r.Path != tt.path {
				t.Errorf("request %s %s, want POST %s", r.Method, r.Path, tt.path)
			}
			if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Bearer tok-123" {
				t.Errorf("headers %v", r.Header)
			}
			assertBodyJSON(t, r.Body, tt.body)
			assertOutContains(t, "stdout", out, "APP-1 is now awaiting_decision")

			f = newFakeAPI(t, map[string][]fakeReply{"POST " + tt.path: fakeStateReply()})
			out, _, err = runCLI(t, f.srv.URL, append([]string{"--output", "json"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if out != indentedJSON(t, fakeStateJSON) {
				t.Errorf("json output is not the API body:\n%s", out)
			}
		})
	}
}

// TestClientStepIdempotencyKey: every step carries an Idempotency-Key, a new
// one per run unless --idempotency-key sets it, and a step answered 503 is
// sent again with the same key.
func TestClientStepIdempotencyKey(t *testing.T) {
	const path = "POST /v1/applications/APP-1/opinion"
	unavailable := fakeReply{503, "application/problem+json", `{"title":"Service Unavailable","status":503,"detail":"Temporal restarting"}`}
	args := []string{"opinion", "APP-1", "--favorable", "--comment", "ok"}

	f := newFakeAPI(t, map[string][]fakeReply{path: append([]fakeReply{unavailable}, fakeStateReply()...)})
	out, errOut, err := runCLI(t, f.srv.URL, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	assertOutContains(t, "stdout", out, "APP-1 is now awaiting_decision")
	rs := f.requests()
	if len(rs) != 2 {
		t.Fatalf("%d requests, want the step and its retry", len(rs))
	}
	first := rs[0].Header.Get("Idempotency-Key")
	if first == "" || rs[1].Header.Get("Idempotency-Key") != first || !bytes.Equal(rs[0].Body, rs[1].Body) {
		t.Errorf("retry sent key %q body %s after key %q body %s, want the same request",
			rs[1].Header.Get("Idempotency-Key"), rs[1].Body, first, rs[0].Body)
	}

	f = newFakeAPI(t, map[string][]fakeReply{path: fakeStateReply()})
	if _, _, err := runCLI(t, f.srv.URL, args...); err != nil {
		t.Fatal(err)
	}
	if again := f.only().Header.Get("Idempotency-Key"); again == "" || again == first {
		t.Errorf("second run sent key %q after %q, want a new one", again, first)
	}

	f = newFakeAPI(t, map[string][]fakeReply{path: fakeStateReply()})
	if _, _, err := runCLI(t, f.srv.URL, append(args, "--idempotency-key", "my-key")...); err != nil {
		t.Fatal(err)
	}
	if got := f.only().Header.Get("Idempotency-Key"); got != "my-key" {
		t.Errorf("--idempotency-key my-key sent %q", got)
	}
}

// TestClientStepAccepted: a step answered 202 is reported as accepted and
// still being recorded, with the command that shows when it is done.
func TestClientStepAccepted(t *testing.T) {
	f := newFakeAPI(t, map[string][]fakeReply{"POST /v1/applications/APP-1/decision": {{202, "",
		`{"application_id":"APP-1","update_id":"decide:k","step":"decide","message":"accepted; being recorded / acceptée ; en cours d'enregistrement"}`}}})
	out, errOut, err := runCLI(t, f.srv.URL, "decide", "APP-1", "--approve", "--amount", "3000")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	assertOutContains(t, "stdout", out, "decide step on APP-1 accepted, still being recorded", "expectct status APP-1")
	if strings.Contains(out, "is now") {
		t.Errorf("a 202 reported as a new status: %q", out)
	}
}

// TestClientRefusedBeforeRequest checks that bad flag combinations never reach the API.
func TestClientRefusedBeforeRequest(t *testing.T) {
	dossierPath := writeTempFile(t, fakeDossierFile)
	badJSON := writeTempFile(t, `{"collectivite":`)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"opinion two flags", []string{"opinion", "APP-1", "--favorable", "--unfavorable", "--comment", "x"}, "exactly one of --favorable"},
		{"opinion three flags", []string{"opinion", "APP-1", "--favorable", "--unfavorable", "--reserved", "--comment", "x"}, "exactly one"},
		{"opinion no flag", []string{"opinion", "APP-1", "--comment", "x"}, "exactly one"},
		{"opinion no comment", []string{"opinion", "APP-1", "--reserved"}, "--comment"},
		{"withdraw no reason", []string{"withdraw", "APP-1"}, "--reason"},
		{"withdraw blank reason", []string{"withdraw", "APP-1", "--reason", "  "}, "--reason"},
		{"request-complements no message", []string{"request-complements", "APP-1"}, "--message"},
		{"review approve no amount", []string{"review", "APP-1", "--recommend", "approve", "--comment", "x"}, "--amount is required"},
		{"review bad amount", []string{"review", "APP-1", "--recommend", "approve", "--amount", "12.345", "--comment", "x"}, "two decimals"},
		{"review float amount", []string{"review", "APP-1", "--recommend", "approve", "--amount", "1e3", "--comment", "x"}, "--amount"},
		{"review negative amount", []string{"review", "APP-1", "--recommend", "approve", "--amount", "-5", "--comment", "x"}, "positive"},
		{"review bad value", []string{"review", "APP-1", "--recommend", "maybe", "--comment", "x"}, "approve or reject"},
		{"review reject with amount", []string{"review", "APP-1", "--recommend", "reject", "--amount", "10", "--comment", "x"}, "only"},
		{"review no comment", []string{"review", "APP-1", "--recommend", "reject"}, "--comment"},
		{"decide both", []string{"decide", "APP-1", "--approve", "--reject", "--amount", "1", "--reason", "x"}, "exactly one of --approve or --reject"},
		{"decide neither", []string{"decide", "APP-1"}, "exactly one"},
		{"decide approve no amount", []string{"decide", "APP-1", "--approve"}, "--amount is required"},
		{"decide reject no reason", []string{"decide", "APP-1", "--reject"}, "motivated"},
		{"decide reject with amount", []string{"decide", "APP-1", "--reject", "--amount", "5", "--reason", "x"}, "only"},
		{"amend bad JSON", []string{"amend", "APP-1", badJSON}, "not valid JSON"},
		{"amend missing arg", []string{"amend", "APP-1"}, "accepts 2 arg"},
		{"embassy set no email", []string{"embassy", "set", "SN", "--name", "x"}, "--email"},
		{"status no ID", []string{"status"}, "accepts 1 arg"},
		{"bad output", []string{"-o", "yaml", "status", "APP-1"}, "--output"},
		{"opinion two flags, odd ID", []string{"opinion", dossierPath, "--favorable", "--reserved", "--comment", "x"}, "exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, nil)
			_, errOut, err := runCLI(t, f.srv.URL, tt.args...)
			if err == nil {
				t.Fatal("want an error (non-zero exit)")
			}
			assertOutContains(t, "stderr", errOut, "expectct: ", tt.want)
			if n := len(f.requests()); n != 0 {
				t.Errorf("%d request(s) reached the API", n)
			}
		})
	}
}

func TestClientNoToken(t *testing.T) {
	f := newFakeAPI(t, nil)
	t.Setenv("EXPECTCT_TOKEN", "")
	t.Setenv("EXPECTCT_CLIENT_ID", "")
	t.Setenv("EXPECTCT_CONFIG_DIR", t.TempDir()) // no session
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"--api", f.srv.URL, "status", "APP-1"})
	err := cmd.Execute()
	if err == nil || err.Error() != "not signed in: run `expectct login`" {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d request(s) made without a token", n)
	}

	// The environment variable is enough.
	f = newFakeAPI(t, map[string][]fakeReply{"GET /v1/applications/APP-1": fakeStateReply()})
	t.Setenv("EXPECTCT_TOKEN", "env-tok")
	cmd = newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"--api", f.srv.URL, "status", "APP-1"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got := f.only().Header.Get("Authorization"); got != "Bearer env-tok" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestClientProblemErrors(t *testing.T) {
	const problem = `{"type":"https://expectct.example/problems/invalid-dossier","title":"Unprocessable Entity","status":422,
"detail":"the dossier breaks 2 rules","errors":[
{"field":"collectivite.siren","rule":"siren","message_fr":"Le SIREN est invalide.","message_en":"The SIREN is invalid."},
{"field":"mission.start_date","rule":"min_notice","message_fr":"La mission doit commencer au moins 21 jours après le dépôt.","message_en":"The mission must start at least 21 days after submission."}]}`
	f := newFakeAPI(t, map[string][]fakeReply{"POST /v1/applications": {{422, "application/problem+json", problem}}})
	out, errOut, err := runCLI(t, f.srv.URL, "submit", writeTempFile(t, fakeDossierFile))
	if err == nil {
		t.Fatal("want a non-zero exit")
	}
	if out != "" {
		t.Errorf("stdout %q", out)
	}
	assertOutContains(t, "stderr", errOut,
		"expectct: 422 Unprocessable Entity: the dossier breaks 2 rules",
		"collectivite.siren (siren): Le SIREN est invalide. / The SIREN is invalid.",
		"mission.start_date (min_notice): La mission doit commencer au moins 21 jours après le dépôt. / The mission must start at least 21 days after submission.")

	// Also in JSON mode the error goes to stderr, not stdout.
	f = newFakeAPI(t, map[string][]fakeReply{"POST /v1/applications/APP-1/decision": {{409, "application/problem+json",
		`{"title":"Conflict","status":409,"detail":"the decider instructed this application (four-eyes)"}`}}})
	out, errOut, err = runCLI(t, f.srv.URL, "-o", "json", "decide", "APP-1", "--approve", "--amount", "100")
	if err == nil || out != "" {
		t.Fatalf("err %v, stdout %q", err, out)
	}
	assertOutContains(t, "stderr", errOut, "409 Conflict: the decider instructed this application (four-eyes)")
}

func TestClientNonProblemErrorAndHints(t *testing.T) {
	f := newFakeAPI(t, map[string][]fakeReply{
		"GET /v1/applications/APP-1": {{502, "text/html", "<html>\n<body>Bad gateway</body></html>"}},
		"GET /v1/embassies":          {{401, "application/problem+json", `{"title":"Unauthorized","status":401,"detail":"token expired"}`}},
	})
	_, errOut, err := runCLI(t, f.srv.URL, "status", "APP-1")
	if err == nil {
		t.Fatal("want an error")
	}
	assertOutContains(t, "stderr", errOut, "502 Bad Gateway: <html> <body>Bad gateway</body></html>")

	_, errOut, err = runCLI(t, f.srv.URL, "embassy", "list")
	if err == nil {
		t.Fatal("want an error")
	}
	assertOutContains(t, "stderr", errOut, "401 Unauthorized: token expired", "expectct login")

	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	_, errOut, err = runCLI(t, url, "status", "APP-1")
	if err == nil {
		t.Fatal("want an error")
	}
	assertOutContains(t, "stderr", errOut, "cannot reach the API at "+url, "is the API running? expectct api / make run")
}

const fakeHistoryJSON = `{"application_id":"APP-1","entries":[
{"at":"2026-01-05T09:30:00Z","source":"temporal","step":"submitted","actor":{"id":"u-lyon","role":"applicant"},"status":"submitted",
 "details":{"rules_version":"2025.1","flags":["orange"],"amount":3000}},
{"at":"2026-01-06T09:30:00Z","source":"attempt","step":"decide","actor":{"id":"instr-1","role":"instructor"},"status":"refused",
 "details":{"reason":"forbidden\nrole"}},
{"at":"2026-01-07T09:30:00Z","source":"journal","step":"embassy_consulted","actor":{"id":"expectct","role":"system"},"status":"embassy_consultation"}]}`

func TestClientHistory(t *testing.T) {
	f := newFakeAPI(t, map[string][]fakeReply{"GET /v1/applications/APP-1/history": {{200, "", fakeHistoryJSON}}})
	out, _, err := runCLI(t, f.srv.URL, "history", "APP-1")
	if err != nil {
		t.Fatal(err)
	}
	if r := f.only(); r.Method != "GET" {
		t.Errorf("method %s", r.Method)
	}
	assertOutContains(t, "history", out, "History of APP-1", "AT", "STEP", "DETAILS",
		"2026-01-05 10:30 CET", "submitted", "u-lyon (applicant)",
		`amount=3000 flags=["orange"] rules_version=2025.1`, // sorted keys, non-strings as JSON
		"attempt", "instr-1 (instructor)", "reason=forbidden role",
		"expectct (system)", "embassy_consultation")
	if n := strings.Count(out, "\n"); n != 5 {
		t.Errorf("want a title, a header and 3 lines, got %d lines:\n%s", n, out)
	}

	out, _, err = runCLI(t, f.srv.URL, "history", "APP-1", "-o", "json")
	if err != nil || out != indentedJSON(t, fakeHistoryJSON) {
		t.Errorf("json: %v\n%s", err, out)
	}
}

// TestClientHistoryAttemptsPage: the flags ask for a page of refused
// attempts, and the output says how to ask for the older ones.
func TestClientHistoryAttemptsPage(t *testing.T) {
	page := strings.Replace(fakeHistoryJSON, `"entries":[`, `"next_attempts_before":41,"entries":[`, 1)
	f := newFakeAPI(t, map[string][]fakeReply{"GET /v1/applications/APP-1/history": {{200, "", page}}})
	out, _, err := runCLI(t, f.srv.URL, "history", "APP-1", "--attempts-limit", "20", "--attempts-before", "97")
	if err != nil {
		t.Fatal(err)
	}
	if q := f.only().Query; q != "attempts_before=97&attempts_limit=20" {
		t.Errorf("query %q", q)
	}
	assertOutContains(t, "history", out, "older refused attempts: expectct history APP-1 --attempts-before 41")
}

func TestClientAuditVerify(t *testing.T) {
	f := newFakeAPI(t, map[string][]fakeReply{"GET /v1/audit/verify": {
		{200, "", `{"ok":true,"checked":12,"problems":[]}`},
		{200, "", `{"ok":true,"checked":1,"problems":[]}`},
		{200, "", `{"ok":false,"checked":12,"problems":[{"application_id":"APP-3","seq":4,"problem":"row content does not match its hash (altered)"},{"application_id":"APP-7","seq":2,"problem":"sequence gap: expected 1"}]}`},
	}})
	out, _, err := runCLI(t, f.srv.URL, "audit", "verify")
	if err != nil {
		t.Fatal(err)
	}
	assertOutContains(t, "audit", out, "OK", "12")
	if r := f.requests()[0]; r.Query != "" {
		t.Errorf("query %q", r.Query)
	}

	if _, _, err = runCLI(t, f.srv.URL, "audit", "verify", "APP-1"); err != nil {
		t.Fatal(err)
	}
	if r := f.requests()[1]; r.Path != "/v1/audit/verify" || r.Query != "application_id=APP-1" {
		t.Errorf("request %s?%s", r.Path, r.Query)
	}

	out, errOut, err := runCLI(t, f.srv.URL, "audit", "verify")
	if err == nil {
		t.Fatal("ok=false must exit non-zero")
	}
	assertOutContains(t, "audit", out, "APPLICATION", "SEQ", "APP-3", "4", "altered", "APP-7", "sequence gap")
	assertOutContains(t, "stderr", errOut, "audit verification failed: 2 problem(s)")

	f = newFakeAPI(t, map[string][]fakeReply{"GET /v1/audit/verify": {{200, "", `{"ok":false,"checked":1,"problems":[{"application_id":"APP-3","seq":4,"problem":"x"}]}`}}})
	out, _, err = runCLI(t, f.srv.URL, "audit", "verify", "-o", "json")
	if err == nil {
		t.Fatal("ok=false must exit non-zero in JSON mode too")
	}
	assertOutContains(t, "json", out, `"ok": false`, `"seq": 4`)
}

func TestClientEmbassy(t *testing.T) {
	const emb = `{"country":"SN","name":"Ambassade de France au Sénégal","emails":["scac@ambafrance-sn.org","coop@ambafrance-sn.org"],"updated_at":"2026-01-05T09:30:00Z"}`
	f := newFakeAPI(t, map[string][]fakeReply{
		"PUT /v1/embassies/SN": {{200, "", emb}},
		"GET /v1/embassies":    {{200, "", "[" + emb + "]"}, {200, "", "[]"}},
	})
	out, _, err := runCLI(t, f.srv.URL, "embassy", "set", "sn", "--email", "scac@ambafrance-sn.org",
		"--email", "coop@ambafrance-sn.org", "--name", "Ambassade de France au Sénégal")
	if err != nil {
		t.Fatal(err)
	}
	r := f.only()
	if r.Method != "PUT" || r.Path != "/v1/embassies/SN" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	assertBodyJSON(t, r.Body, `{"name":"Ambassade de France au Sénégal","emails":["scac@ambafrance-sn.org","coop@ambafrance-sn.org"]}`)
	assertOutContains(t, "set", out, "SN", "Ambassade de France au Sénégal", "scac@ambafrance-sn.org, coop@ambafrance-sn.org")

	out, _, err = runCLI(t, f.srv.URL, "embassy", "list")
	if err != nil {
		t.Fatal(err)
	}
	assertOutContains(t, "list", out, "COUNTRY", "NAME", "EMAILS", "SN", "2026-01-05 10:30 CET")

	out, _, err = runCLI(t, f.srv.URL, "embassy", "list", "-o", "json")
	if err != nil || out != "[]\n" {
		t.Errorf("json list: %v %q", err, out)
	}
}
