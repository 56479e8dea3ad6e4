package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// badCase is one bad request and what the API must answer: the status and,
// among the problem's field errors, one naming this field and rule.
type badCase struct {
	name    string
	body    any
	headers []string
	status  int
	field   string
	rule    string
}

// rowCounts counts the rows a request could write.
type rowCounts struct{ applications, journal, outbox, embassies int }

func rowsWritten(t testing.TB, s *testenv.Stack) rowCounts {
	t.Helper()
	return rowCounts{rowCount(t, s, "applications"), rowCount(t, s, "journal"), rowCount(t, s, "outbox"), rowCount(t, s, "embassies")}
}

// expectProblem checks the answer to a bad request: the status, a
// problem+json body whose errors name the field and rule, with messages in
// both languages on every error.
func expectProblem(t *testing.T, r testenv.Response, c badCase) {
	t.Helper()
	p := asProblem(t, r, c.status)
	if len(p.Errors) == 0 {
		t.Fatalf("no field errors in the problem: %s", r.Body)
	}
	found := false
	for _, e := range p.Errors {
		if e.Field == "" || e.Rule == "" || strings.TrimSpace(e.MessageFR) == "" || strings.TrimSpace(e.MessageEN) == "" {
			t.Errorf("incomplete field error %+v", e)
		}
		if e.Field == c.field && e.Rule == c.rule {
			found = true
		}
	}
	if !found {
		t.Errorf("no error on field %q with rule %q: %s", c.field, c.rule, r.Body)
	}
}

// expectAttempt checks the refusal, and it alone, was logged in the
// attempts table (which is not part of what a bad request must not write).
func expectAttempt(t *testing.T, s *testenv.Stack, mark int64, actor lifecycle.Actor, action lifecycle.Action, status int) {
	t.Helper()
	got := attemptsSince(t, s, mark)
	if len(got) != 1 || got[0].ActorID != actor.ID || got[0].Action != string(action) || got[0].HTTPStatus != status || got[0].Reason == "" {
		t.Errorf("attempts logged: %+v, want one by %s on %s with status %d", got, actor.ID, action, status)
	}
}

// dossierWith returns the example dossier changed by f.
func dossierWith(t testing.TB, f func(d map[string]any)) []byte {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(testenv.ExampleDossier(t), &d); err != nil {
		t.Fatal(err)
	}
	f(d)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func objectAt(d map[string]any, key string) map[string]any { return d[key].(map[string]any) }

// controls are characters no text accepts, multi-line or not: NUL, an ANSI
// escape sequence, DEL, a CR without its LF, a C1 control.
var controls = []string{"\x00", "\x1b[2J", "\x7f", "\r", "\u0085"}

// textPaths lists the JSON paths of the example dossier's texts: every
// string but the amounts and dates, which are parsed rather than shown.
func textPaths(v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case string:
		if !strings.HasPrefix(path, "budget.") && !strings.HasSuffix(path, "_date") {
			out = append(out, path)
		}
	case []any:
		for i, e := range x {
			out = append(out, textPaths(e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out = append(out, textPaths(x[k], strings.TrimPrefix(path+"."+k, "."))...)
		}
	}
	return out
}

// setText puts ctrl before the string at target in v.
func setText(v any, path, target, ctrl string) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			if p := fmt.Sprintf("%s[%d]", path, i); p == target {
				x[i] = ctrl + e.(string)
			} else {
				setText(e, p, target, ctrl)
			}
		}
	case map[string]any:
		for k, e := range x {
			if p := strings.TrimPrefix(path+"."+k, "."); p == target {
				x[k] = ctrl + e.(string)
			} else {
				setText(e, p, target, ctrl)
			}
		}
	}
}

// controlCorpus is the example dossier with a control character in each of
// its texts in turn, each refused 422 on its path (under prefix), rule
// nocontrol.
func controlCorpus(t testing.TB, prefix string, wrap func(dossier []byte) any) []badCase {
	var d map[string]any
	if err := json.Unmarshal(testenv.ExampleDossier(t), &d); err != nil {
		t.Fatal(err)
	}
	var out []badCase
	for i, path := range textPaths(d, "") {
		ctrl := controls[i%len(controls)]
		body := dossierWith(t, func(d map[string]any) { setText(d, "", path, ctrl) })
		out = append(out, badCase{name: fmt.Sprintf("%U in %s", []rune(ctrl)[0], path), body: wrap(body),
			status: 422, field: strings.TrimPrefix(prefix+"."+path, "."), rule: "nocontrol"})
	}
	if len(out) < 15 {
		t.Fatalf("only %d texts found in the example dossier", len(out))
	}
	return out
}

// textCases are the valid body with its text field holding each control
// character in turn, and, when the field is a single line, a line break and
// a tab.
func textCases(valid map[string]any, field string, multiline bool) []badCase {
	bad := controls
	if !multiline {
		bad = append(slices.Clone(controls), "\n", "\t")
	}
	var out []badCase
	for _, ctrl := range bad {
		body := maps.Clone(valid)
		body[field] = "Texte " + ctrl + "suite"
		out = append(out, badCase{name: fmt.Sprintf("%U in %s", []rune(ctrl)[0], field), body: body,
			status: 422, field: field, rule: "nocontrol"})
	}
	return out
}

// workflowIDFor is the application ID the API derives from a collectivité and
// an idempotency key (api.applicationID), checked against a real submission
// in the test, so a bad submission's workflow can be looked up directly.
func workflowIDFor(siren, key string) string {
	sum := sha256.Sum256([]byte("expectct/submission/" + siren + "/" + key))
	return "EXP-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:10])
}

// noWorkflow checks Temporal has no workflow of that ID.
func noWorkflow(t *testing.T, s *testenv.Stack, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.Temporal.DescribeWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("workflow %s: %v, want not found", id, err)
	}
}

// submitCorpus are bad submissions. Every one is refused before anything is
// rowCounts or started.
func submitCorpus(t *testing.T) []badCase {
	example := testenv.ExampleDossier(t)
	big := strings.Repeat("x", 1<<20+16)
	cases := []badCase{
		// 400: not a dossier document.
		{name: "empty body", body: "", status: 400, field: "$", rule: "malformed"},
		{name: "blank body", body: " \n\t ", status: 400, field: "$", rule: "malformed"},
		{name: "malformed JSON", body: `{"collectivite": {"name": "Nantes",}}`, status: 400, field: "$", rule: "malformed"},
		{name: "truncated body", body: example[:len(example)/2], status: 400, field: "$", rule: "malformed"},
		{name: "form-encoded", body: "collectivite=Nantes&siren=214401093", headers: []string{"Content-Type", "application/x-www-form-urlencoded"},
			status: 400, field: "$", rule: "malformed"},
		{name: "XML", body: `<?xml version="1.0"?><dossier/>`, headers: []string{"Content-Type", "application/xml"}, status: 400, field: "$", rule: "malformed"},
		{name: "JSON array", body: `[` + string(example) + `]`, status: 400, field: "$", rule: "malformed"},
		{name: "JSON null", body: `null`, status: 400, field: "$", rule: "malformed"},
		{name: "JSON string", body: `"dossier"`, status: 400, field: "$", rule: "malformed"},
		{name: "trailing data", body: string(example) + `{}`, status: 400, field: "$", rule: "malformed"},
		{name: "wrong type: agents a string", body: dossierWith(t, func(d map[string]any) { d["agents"] = "deux agents" }),
			status: 400, field: "agents", rule: "type"},
		{name: "wrong type: SIREN a number", body: dossierWith(t, func(d map[string]any) { objectAt(d, "collectivite")["siren"] = 214401093 }),
			status: 400, field: "collectivite.siren", rule: "type"},
		{name: "wrong type: amount not a number", body: dossierWith(t, func(d map[string]any) { objectAt(d, "budget")["travel"] = "abc" }),
			status: 400, field: "budget.travel", rule: "format"},
		{name: "amount with three decimals", body: dossierWith(t, func(d map[string]any) { objectAt(d, "budget")["other"] = "300.001" }),
			status: 400, field: "budget.other", rule: "format"},
		{name: "unknown field", body: dossierWith(t, func(d map[string]any) { d["priority"] = "high" }),
			status: 400, field: "priority", rule: "unknown_field"},
		{name: "unknown nested field", body: dossierWith(t, func(d map[string]any) { objectAt(d, "collectivite")["mayor"] = "X" }),
			status: 400, field: "collectivite.mayor", rule: "unknown_field"},
		{name: "duplicate key", body: strings.Replace(string(example), `"collectivite": {`, `"collectivite": {"name": "Autre",`, 1),
			status: 400, field: "collectivite.name", rule: "duplicate_field"},
		{name: "impossible date", body: dossierWith(t, func(d map[string]any) { objectAt(d, "mission")["start_date"] = "2030-02-30" }),
			status: 400, field: "mission.start_date", rule: "format"},
		{name: "date in another format", body: dossierWith(t, func(d map[string]any) { objectAt(d, "mission")["end_date"] = "20/03/2030" }),
			status: 400, field: "mission.end_date", rule: "format"},
		// 413: too large.
		{name: "oversized dossier", body: dossierWith(t, func(d map[string]any) { objectAt(d, "mission")["objectives"] = big }),
			status: 413, field: "$", rule: "too_large"},
		{name: "oversized junk", body: big + big, headers: []string{"Content-Type", "text/plain"}, status: 413, field: "$", rule: "too_large"},
		// 422: a dossier that breaks the rules.
		{name: "missing section", body: dossierWith(t, func(d map[string]any) { delete(d, "contact") }),
			status: 422, field: "contact", rule: "required"},
		{name: "missing field", body: dossierWith(t, func(d map[string]any) { delete(objectAt(d, "mission"), "title") }),
			status: 422, field: "mission.title", rule: "required"},
		{name: "end before start", body: dossierWith(t, func(d map[string]any) { objectAt(d, "mission")["end_date"] = "2030-03-01" }),
			status: 422, field: "mission.end_date", rule: "date_order"},
		{name: "mission too long", body: dossierWith(t, func(d map[string]any) { objectAt(d, "mission")["end_date"] = "2030-04-20" }),
			status: 422, field: "mission.end_date", rule: "mission_length"},
		{name: "start too soon", body: dossierWith(t, func(d map[string]any) {
			today := time.Now().In(lifecycle.Paris)
			objectAt(d, "mission")["start_date"] = today.AddDate(0, 0, 3).Format("2006-01-02")
			objectAt(d, "mission")["end_date"] = today.AddDate(0, 0, 5).Format("2006-01-02")
		}), status: 422, field: "mission.start_date", rule: "min_notice"},
		{name: "amount above the cap", body: dossierWith(t, func(d map[string]any) {
			b := objectAt(d, "budget")
			b["travel"], b["accommodation"], b["daily_allowances"], b["other"] = "5000.00", "1500.00", "500.00", "0"
			b["requested"], b["own_share"] = "6000.00", "1000.00"
		}), status: 422, field: "budget.requested", rule: "max_cap"},
		{name: "amount above the share", body: dossierWith(t, func(d map[string]any) {
			b := objectAt(d, "budget")
			b["requested"], b["own_share"] = "4500.00", "300.00" // 93.75% of 4800.00, SN allows 90%
		}), status: 422, field: "budget.requested", rule: "max_share"},
		{name: "budget does not balance", body: dossierWith(t, func(d map[string]any) { objectAt(d, "budget")["own_share"] = "1000.00" }),
			status: 422, field: "budget", rule: "budget_balance"},
		{name: "red travel advice", body: dossierWith(t, func(d map[string]any) {
			p := objectAt(d, "partner")
			p["country"], p["city"], p["authority"] = "ML", "Bamako", "District de Bamako"
		}), status: 422, field: "partner.country", rule: "travel_advice_red"},
		{name: "bad SIREN check digit", body: dossierWith(t, func(d map[string]any) { objectAt(d, "collectivite")["siren"] = "214401094" }),
			status: 422, field: "collectivite.siren", rule: "siren"},
		{name: "too many agents", body: dossierWith(t, func(d map[string]any) {
			a := d["agents"].([]any)
			d["agents"] = append(a, a[0], a[1], a[0])
		}), status: 422, field: "agents", rule: "agents_count"},
		{name: "bad e-mail", body: dossierWith(t, func(d map[string]any) { objectAt(d, "contact")["email"] = "claire.martin" }),
			status: 422, field: "contact.email", rule: "email"},
		{name: "unknown country", body: dossierWith(t, func(d map[string]any) { objectAt(d, "partner")["country"] = "XX" }),
			status: 422, field: "partner.country", rule: "iso3166_1_alpha2"},
		// The request's header, not the dossier.
		{name: "idempotency key too long", body: example, headers: []string{"Idempotency-Key", strings.Repeat("k", 201)},
			status: 400, field: "Idempotency-Key", rule: "max"},
		{name: "line break in a single-line text", body: dossierWith(t, func(d map[string]any) { objectAt(d, "mission")["title"] = "Ligne 1\nLigne 2" }),
			status: 422, field: "mission.title", rule: "nocontrol"},
	}
	return append(cases, controlCorpus(t, "", func(d []byte) any { return d })...)
}

// stepCase is a bad body for one step, sent by the actor allowed to take it,
// while the application is in the state where the step is possible.
type stepCase struct {
	badCase
	path   string
	action lifecycle.Action
	actor  lifecycle.Actor
}

// bodyCorpus are the bodies every step refuses as not readable or too large.
func bodyCorpus(valid map[string]any, typedField string) []badCase {
	withUnknown := map[string]any{"unexpected": true}
	wrongType := map[string]any{}
	for k, v := range valid {
		withUnknown[k] = v
		wrongType[k] = v
	}
	wrongType[typedField] = []int{1, 2}
	raw, _ := json.Marshal(valid)
	huge := map[string]any{}
	for k, v := range valid {
		huge[k] = v
	}
	huge[typedField] = strings.Repeat("x", 1<<20+16)
	return []badCase{
		{name: "empty body", body: "", status: 400, field: "$", rule: "malformed"},
		{name: "malformed JSON", body: `{"` + typedField + `": `, status: 400, field: "$", rule: "malformed"},
		{name: "truncated body", body: raw[:len(raw)-3], status: 400, field: "$", rule: "malformed"},
		{name: "not JSON", body: typedField + "=yes", headers: []string{"Content-Type", "application/x-www-form-urlencoded"},
			status: 400, field: "$", rule: "malformed"},
		{name: "JSON array", body: "[" + string(raw) + "]", status: 400, field: "$", rule: "malformed"},
		{name: "trailing data", body: string(raw) + " {}", status: 400, field: "$", rule: "malformed"},
		{name: "unknown field", body: withUnknown, status: 400, field: "unexpected", rule: "unknown_field"},
		// encoding/json alone would take these: the last value, or the key
		// in any case.
		{name: "duplicate key", body: `{"` + typedField + `": null, ` + string(raw[1:]), status: 400, field: typedField, rule: "duplicate_field"},
		{name: "case-folded key", body: strings.Replace(string(raw), `"`+typedField+`"`, `"`+strings.ToUpper(typedField)+`"`, 1),
			status: 400, field: strings.ToUpper(typedField), rule: "unknown_field"},
		{name: "wrong type", body: wrongType, status: 400, field: typedField, rule: "type"},
		{name: "oversized", body: huge, status: 413, field: "$", rule: "too_large"},
	}
}

// TestBadInput sends malformed, oversized and invalid requests to the
// submission and to every step: each gets the documented status with a
// problem naming the field and rule in French and English, and nothing is
// rowCounts: no application, journal or outbox row, no workflow started, no
// update accepted.
func TestBadInput(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	example := testenv.ExampleDossier(t)

	// The derivation of IDs the checks below rely on.
	key := fmt.Sprintf("derivation-%d", time.Now().UnixNano())
	r := apiCall(t, s, s.Token(testenv.Applicant), "POST", "/v1/applications", example, "Idempotency-Key", key)
	if r.Status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	var res struct {
		ApplicationID string `json:"application_id"`
	}
	r.JSON(t, &res)
	if want := workflowIDFor(testenv.Applicant.SIREN, key); res.ApplicationID != want {
		t.Fatalf("application ID %s, the test derives %s: update workflowIDFor", res.ApplicationID, want)
	}
	// consult stays in embassy consultation; chain walks through the steps.
	consult := res.ApplicationID
	chain := submitAs(t, s, testenv.Applicant, example)
	waitConsulted(t, s, consult)
	waitConsulted(t, s, chain)
	created := 2

	t.Run("submit", func(t *testing.T) {
		for i, c := range submitCorpus(t) {
			t.Run(c.name, func(t *testing.T) {
				before := rowsWritten(t, s)
				key := fmt.Sprintf("bad-%d-%d", i, time.Now().UnixNano())
				headers := append([]string{"Idempotency-Key", key}, c.headers...)
				mark := lastAttemptID(t, s)
				r := apiCall(t, s, s.Token(testenv.Applicant), "POST", "/v1/applications", c.body, headers...)
				expectProblem(t, r, c)
				expectAttempt(t, s, mark, testenv.Applicant, lifecycle.ActionSubmit, c.status)
				if after := rowsWritten(t, s); after != before {
					t.Errorf("rows rowCounts: %+v, then %+v", before, after)
				}
				if c.field != "Idempotency-Key" {
					noWorkflow(t, s, workflowIDFor(testenv.Applicant.SIREN, key))
				}
			})
		}
	})

	// runSteps sends each case to the application and checks nothing moved.
	runSteps := func(t *testing.T, id string, cases []stepCase) {
		for _, c := range cases {
			t.Run(c.path+"/"+c.name, func(t *testing.T) {
				before := rowsWritten(t, s)
				journal := journalOf(t, s, id)
				updates := acceptedUpdates(t, s, id)
				status := readState(t, s, id).Status
				headers := c.headers
				if c.body != nil && len(headers) == 0 {
					headers = []string{"Content-Type", "application/json"}
				}
				mark := lastAttemptID(t, s)
				r := apiCall(t, s, s.Token(c.actor), "POST", "/v1/applications/"+id+"/"+c.path, c.body, headers...)
				expectProblem(t, r, c.badCase)
				expectAttempt(t, s, mark, c.actor, c.action, c.status)
				if after := rowsWritten(t, s); after != before {
					t.Errorf("rows rowCounts: %+v, then %+v", before, after)
				}
				if after := journalOf(t, s, id); !sameJournal(journal, after) {
					t.Errorf("journal changed: %d rows, then %d", len(journal), len(after))
				}
				if after := acceptedUpdates(t, s, id); !slices.Equal(updates, after) {
					t.Errorf("the Temporal history accepted an update: %v, then %v", updates, after)
				}
				if after := readState(t, s, id).Status; after != status {
					t.Errorf("status changed: %s, then %s", status, after)
				}
			})
		}
	}
	actionOf := map[string]lifecycle.Action{"opinion": lifecycle.ActionOpinion, "withdrawal": lifecycle.ActionWithdraw,
		"complements-request": lifecycle.ActionRequestComplements, "complements": lifecycle.ActionComplements,
		"recommendation": lifecycle.ActionRecommend, "decision": lifecycle.ActionDecide}
	// textSteps are cases of one step alone; stepCases add the body corpus.
	textSteps := func(path string, actor lifecycle.Actor, cases []badCase) []stepCase {
		var out []stepCase
		for _, c := range cases {
			out = append(out, stepCase{badCase: c, path: path, action: actionOf[path], actor: actor})
		}
		return out
	}
	stepCases := func(path string, actor lifecycle.Actor, valid map[string]any, typedField string, invalid ...badCase) []stepCase {
		return textSteps(path, actor, append(bodyCorpus(valid, typedField), invalid...))
	}

	t.Run("embassy consultation", func(t *testing.T) {
		runSteps(t, consult, stepCases("opinion", testenv.EmbassySN,
			map[string]any{"opinion": "favorable", "comment": "Avis favorable"}, "opinion",
			badCase{name: "missing fields", body: map[string]any{}, status: 422, field: "opinion", rule: "required"},
			badCase{name: "missing comment", body: map[string]any{"opinion": "favorable"}, status: 422, field: "comment", rule: "required"},
			badCase{name: "unknown opinion", body: map[string]any{"opinion": "maybe", "comment": "?"}, status: 422, field: "opinion", rule: "oneof"},
			badCase{name: "comment too long", body: map[string]any{"opinion": "reserved", "comment": strings.Repeat("é", 4001)},
				status: 422, field: "comment", rule: "max"},
		))
		runSteps(t, consult, textSteps("opinion", testenv.EmbassySN, textCases(map[string]any{"opinion": "favorable"}, "comment", true)))
		runSteps(t, consult, stepCases("withdrawal", testenv.Applicant,
			map[string]any{"reason": "Mission reportée"}, "reason",
			badCase{name: "missing reason", body: map[string]any{}, status: 422, field: "reason", rule: "required"},
			badCase{name: "blank reason", body: map[string]any{"reason": ""}, status: 422, field: "reason", rule: "required"},
		))
		runSteps(t, consult, textSteps("withdrawal", testenv.Applicant, textCases(map[string]any{}, "reason", true)))
	})

	if st := mustStep(t, s, testenv.EmbassySN, chain, "opinion", opinionOK); st != lifecycle.StatusUnderReview {
		t.Fatalf("after opinion: %s", st)
	}
	t.Run("under review", func(t *testing.T) {
		runSteps(t, chain, stepCases("complements-request", testenv.Instructor,
			map[string]any{"message": "Précisez le programme"}, "message",
			badCase{name: "missing message", body: map[string]any{}, status: 422, field: "message", rule: "required"},
		))
		runSteps(t, chain, textSteps("complements-request", testenv.Instructor, textCases(map[string]any{}, "message", true)))
		runSteps(t, chain, stepCases("recommendation", testenv.Instructor,
			map[string]any{"recommendation": "approve", "amount": "3000.00", "comment": "Solide"}, "recommendation",
			badCase{name: "amount not a number", body: map[string]any{"recommendation": "approve", "amount": "abc", "comment": "x"},
				status: 400, field: "amount", rule: "format"},
			badCase{name: "unknown recommendation", body: map[string]any{"recommendation": "perhaps", "comment": "x"},
				status: 422, field: "recommendation", rule: "oneof"},
			badCase{name: "approve without amount", body: map[string]any{"recommendation": "approve", "comment": "x"},
				status: 422, field: "amount", rule: "required_if"},
			badCase{name: "above the request", body: map[string]any{"recommendation": "approve", "amount": "3500.01", "comment": "x"},
				status: 422, field: "amount", rule: "max_requested"},
			badCase{name: "missing comment", body: map[string]any{"recommendation": "reject"}, status: 422, field: "comment", rule: "required"},
		))
		runSteps(t, chain, textSteps("recommendation", testenv.Instructor, textCases(map[string]any{"recommendation": "reject"}, "comment", true)))
	})

	if st := mustStep(t, s, testenv.Instructor, chain, "complements-request", rcOK); st != lifecycle.StatusAwaitingComplements {
		t.Fatalf("after request for complements: %s", st)
	}
	t.Run("awaiting complements", func(t *testing.T) {
		valid := complementsOK(t)
		runSteps(t, chain, stepCases("complements", testenv.Applicant, valid, "comment",
			badCase{name: "missing dossier", body: map[string]any{"comment": "x"}, status: 422, field: "dossier", rule: "required"},
			badCase{name: "dossier not an object", body: map[string]any{"dossier": "voir pièce jointe"}, status: 400, field: "dossier", rule: "type"},
			badCase{name: "dossier with unknown field", body: map[string]any{"dossier": json.RawMessage(dossierWith(t, func(d map[string]any) { d["x"] = 1 }))},
				status: 400, field: "dossier.x", rule: "unknown_field"},
			badCase{name: "dossier with impossible date", body: map[string]any{"dossier": json.RawMessage(dossierWith(t, func(d map[string]any) {
				objectAt(d, "mission")["end_date"] = "2030-02-30"
			}))}, status: 400, field: "dossier.mission.end_date", rule: "format"},
			badCase{name: "dossier end before start", body: map[string]any{"dossier": json.RawMessage(dossierWith(t, func(d map[string]any) {
				objectAt(d, "mission")["end_date"] = "2030-03-01"
			}))}, status: 422, field: "dossier.mission.end_date", rule: "date_order"},
			badCase{name: "dossier above the cap", body: map[string]any{"dossier": json.RawMessage(dossierWith(t, func(d map[string]any) {
				b := objectAt(d, "budget")
				b["travel"], b["accommodation"], b["daily_allowances"], b["other"] = "5000.00", "1500.00", "500.00", "0"
				b["requested"], b["own_share"] = "6000.00", "1000.00"
			}))}, status: 422, field: "dossier.budget.requested", rule: "max_cap"},
			badCase{name: "dossier to another country", body: map[string]any{"dossier": json.RawMessage(dossierWith(t, func(d map[string]any) {
				objectAt(d, "partner")["country"] = "BR"
				// Within the 70% share of a country that is not least-developed.
				objectAt(d, "budget")["requested"], objectAt(d, "budget")["own_share"] = "3360.00", "1440.00"
			}))}, status: 422, field: "dossier.partner.country", rule: "unchanged"},
			badCase{name: "dossier without a title", body: map[string]any{"dossier": json.RawMessage(dossierWith(t, func(d map[string]any) {
				delete(objectAt(d, "mission"), "title")
			}))}, status: 422, field: "dossier.mission.title", rule: "required"},
			badCase{name: "dossier with a bad SIREN", body: map[string]any{"dossier": json.RawMessage(dossierWith(t, func(d map[string]any) {
				objectAt(d, "collectivite")["siren"] = "214401094"
			}))}, status: 422, field: "dossier.collectivite.siren", rule: "siren"},
		))
		runSteps(t, chain, textSteps("complements", testenv.Applicant, append(
			textCases(map[string]any{"dossier": valid["dossier"]}, "comment", true),
			controlCorpus(t, "dossier", func(d []byte) any { return map[string]any{"dossier": json.RawMessage(d)} })...)))
	})

	if st := mustStep(t, s, testenv.Applicant, chain, "complements", complementsOK(t)); st != lifecycle.StatusUnderReview {
		t.Fatalf("after complements: %s", st)
	}
	if st := mustStep(t, s, testenv.Instructor, chain, "recommendation", recommendOK); st != lifecycle.StatusAwaitingDecision {
		t.Fatalf("after recommendation: %s", st)
	}
	t.Run("awaiting decision", func(t *testing.T) {
		runSteps(t, chain, stepCases("decision", testenv.Decider,
			map[string]any{"decision": "approve", "amount": "2800.00"}, "decision",
			badCase{name: "amount not a number", body: map[string]any{"decision": "approve", "amount": "abc"},
				status: 400, field: "amount", rule: "format"},
			badCase{name: "amount with three decimals", body: map[string]any{"decision": "approve", "amount": "2800.001"},
				status: 400, field: "amount", rule: "format"},
			badCase{name: "unknown decision", body: map[string]any{"decision": "maybe", "amount": "2800.00"}, status: 422, field: "decision", rule: "oneof"},
			badCase{name: "missing decision", body: map[string]any{"amount": "2800.00"}, status: 422, field: "decision", rule: "required"},
			badCase{name: "approve without amount", body: map[string]any{"decision": "approve"}, status: 422, field: "amount", rule: "required_if"},
			badCase{name: "negative amount", body: map[string]any{"decision": "approve", "amount": "-5"}, status: 422, field: "amount", rule: "gte"},
			badCase{name: "above the request", body: map[string]any{"decision": "approve", "amount": "3600.00"}, status: 422, field: "amount", rule: "max_requested"},
			badCase{name: "refusal without motivation", body: map[string]any{"decision": "reject"}, status: 422, field: "motivation", rule: "required_if"},
		))
		runSteps(t, chain, textSteps("decision", testenv.Decider, textCases(map[string]any{"decision": "reject"}, "motivation", true)))
	})

	t.Run("embassy directory", func(t *testing.T) {
		valid := map[string]any{"name": "Ambassade de France en Nouvelle-Zélande", "emails": []string{"scac.wellington@diplomatie.gouv.fr"}}
		cases := append(bodyCorpus(valid, "name"),
			badCase{name: "missing fields", body: map[string]any{}, status: 422, field: "name", rule: "required"},
			badCase{name: "bad e-mail", body: map[string]any{"name": "X", "emails": []string{"scac"}}, status: 422, field: "emails[0]", rule: "email"},
		)
		cases = append(cases, textCases(map[string]any{"emails": valid["emails"]}, "name", false)...)
		for _, ctrl := range controls {
			cases = append(cases, badCase{name: fmt.Sprintf("%U in emails[1]", []rune(ctrl)[0]), status: 422, field: "emails[1]", rule: "nocontrol",
				body: map[string]any{"name": valid["name"], "emails": []string{"scac.wellington@diplomatie.gouv.fr", "scac" + ctrl + "@diplomatie.gouv.fr"}}})
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := rowsWritten(t, s)
				mark := lastAttemptID(t, s)
				r := apiCall(t, s, s.Token(testenv.Admin), "PUT", "/v1/embassies/NZ", c.body, c.headers...)
				expectProblem(t, r, c)
				expectAttempt(t, s, mark, testenv.Admin, lifecycle.ActionEmbassyDirectory, c.status)
				if after := rowsWritten(t, s); after != before {
					t.Errorf("rows rowCounts: %+v, then %+v", before, after)
				}
			})
		}
		c := badCase{name: "unknown country", body: valid, status: 422, field: "country", rule: "iso3166_1_alpha2"}
		r := apiCall(t, s, s.Token(testenv.Admin), "PUT", "/v1/embassies/ZZ", c.body)
		expectProblem(t, r, c)
	})

	t.Run("list parameters", func(t *testing.T) {
		for _, c := range []struct{ query, field, rule string }{
			{"status=pending", "status", "oneof"},
			{"limit=0", "limit", "range"},
			{"limit=many", "limit", "range"},
			{"limit=201", "limit", "range"},
		} {
			r := apiCall(t, s, s.Token(testenv.Instructor), "GET", "/v1/applications?"+c.query, nil)
			expectProblem(t, r, badCase{status: 400, field: c.field, rule: c.rule})
		}
	})

	t.Run("not found", func(t *testing.T) {
		const unknown = "EXP-AAAAAAAAAAAAAAAA"
		for _, c := range []struct {
			actor        lifecycle.Actor
			method, path string
			body         any
		}{
			{testenv.Instructor, "GET", "/v1/nowhere", nil},
			{testenv.Instructor, "GET", "/v2/applications", nil},
			{testenv.Instructor, "DELETE", "/v1/applications/" + chain, nil},
			{testenv.Instructor, "GET", "/v1/applications/" + unknown, nil},
			{testenv.Applicant, "GET", "/v1/applications/" + unknown, nil},
			{testenv.Auditor, "GET", "/v1/applications/" + unknown + "/history", nil},
			{testenv.Auditor, "GET", "/v1/audit/verify?application_id=" + unknown, nil},
			{testenv.Applicant, "POST", "/v1/applications/" + unknown + "/withdrawal", map[string]string{"reason": "x"}},
			{testenv.Decider, "POST", "/v1/applications/" + unknown + "/decision", decideOK},
		} {
			before := rowsWritten(t, s)
			r := apiCall(t, s, s.Token(c.actor), c.method, c.path, c.body)
			if r.Status != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404: %s", c.method, c.path, r.Status, r.Body)
				continue
			}
			asProblem(t, r, http.StatusNotFound)
			if after := rowsWritten(t, s); after != before {
				t.Errorf("%s %s: rows rowCounts: %+v, then %+v", c.method, c.path, before, after)
			}
		}
		noWorkflow(t, s, unknown)
	})

	t.Run("malformed application IDs", func(t *testing.T) {
		// Checked before the token and the body: no token, a bad token or a
		// malformed body change nothing to the answer.
		for _, c := range []struct {
			token        string
			method, path string
			body         any
		}{
			{"", "GET", "/v1/applications/nope", nil},
			{s.Token(testenv.Instructor), "GET", "/v1/applications/" + strings.ToLower(chain), nil},
			{s.Token(testenv.Auditor), "GET", "/v1/applications/" + chain + "A/history", nil},
			{"", "POST", "/v1/applications/EXP-AAAAAAAAAAAAAAA1/withdrawal", map[string]string{"reason": "x"}},
			{"not-a-token", "POST", "/v1/applications/EXP-AAAAAAAAAAAAAAA%00/opinion", opinionOK},
			{s.Token(testenv.Decider), "POST", "/v1/applications/" + chain + "%0D%0A/decision", "{"},
			{s.Token(testenv.Applicant), "POST", "/v1/applications/%1B%5B2J/complements", complementsOK(t)},
		} {
			before := rowsWritten(t, s)
			mark := lastAttemptID(t, s)
			r := apiCall(t, s, c.token, c.method, c.path, c.body)
			if r.Status != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404: %s", c.method, c.path, r.Status, r.Body)
				continue
			}
			expectProblem(t, r, badCase{status: http.StatusNotFound, field: "id", rule: "application_id"})
			if after := rowsWritten(t, s); after != before {
				t.Errorf("%s %s: rows written: %+v, then %+v", c.method, c.path, before, after)
			}
			if got := attemptsSince(t, s, mark); len(got) != 0 {
				t.Errorf("%s %s: attempts logged: %+v", c.method, c.path, got)
			}
		}
	})

	// Temporal's visibility store lists exactly the two applications set up
	// on this stack's task queue.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int64
	pollUntil(t, 30*time.Second, "visibility to list the workflows", func() bool {
		resp, err := s.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = '%s'", s.TaskQueue)})
		if err != nil {
			t.Fatalf("count workflows: %v", err)
		}
		n = resp.GetCount()
		return n >= int64(created)
	})
	time.Sleep(time.Second) // a late extra start would show by now
	resp, err := s.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = '%s'", s.TaskQueue)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCount() != int64(created) {
		t.Errorf("%d workflows on the task queue, want %d", resp.GetCount(), created)
	}
	if got := rowCount(t, s, "applications"); got != created {
		t.Errorf("%d applications, want %d", got, created)
	}
}
