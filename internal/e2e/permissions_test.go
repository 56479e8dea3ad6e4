package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// ---------------------------------------------------------------------------
// Helpers shared by the end-to-end tests of this package (permissions,
// bad input, CLI, audit). They take the calling test's t, so they may be used
// from subtests, unlike the Stack's own helpers, which report on the test
// that created the stack.
// ---------------------------------------------------------------------------

// slowRules are the test rules with timers that never fire during a test, so
// an application stays in the state a test put it in.
func slowRules() *rules.Rules {
	r := testenv.FastRules()
	r.Version = "test-slow"
	r.Timers.EmbassyReminder = rules.Duration(time.Hour)
	r.Timers.EmbassyDeadline = rules.Duration(2 * time.Hour)
	r.Timers.ComplementsDeadline = rules.Duration(time.Hour)
	r.Timers.DecisionReminder = rules.Duration(time.Hour)
	return &r
}

// call sends a request with a raw Authorization token ("" sends none).
// body may be nil, []byte, string or a value to encode as JSON.
func apiCall(t testing.TB, s *testenv.Stack, token, method, path string, body any, headers ...string) testenv.Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.API.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return testenv.Response{Status: resp.StatusCode, Body: raw, Header: resp.Header}
}

// problemDoc is an RFC 9457 problem as the API writes it.
type problemDoc struct {
	Type     string               `json:"type"`
	Title    string               `json:"title"`
	Status   int                  `json:"status"`
	Detail   string               `json:"detail"`
	Instance string               `json:"instance"`
	Errors   []dossier.FieldError `json:"errors"`
}

// asProblem checks that r is a problem+json document of the given status and
// returns it.
func asProblem(t testing.TB, r testenv.Response, status int) problemDoc {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, r.Body)
	}
	var p problemDoc
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("problem body is not JSON: %v: %s", err, r.Body)
	}
	if p.Status != status || p.Title == "" || p.Type == "" {
		t.Fatalf("problem incomplete (status %d, title %q, type %q): %s", p.Status, p.Title, p.Type, r.Body)
	}
	return p
}

// waitFor polls cond until it holds or the timeout passes.
func pollUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readState reads an application as the instructor.
func readState(t testing.TB, s *testenv.Stack, id string) lifecycle.State {
	t.Helper()
	r := apiCall(t, s, s.Token(testenv.Instructor), "GET", "/v1/applications/"+id, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("read %s: %d %s", id, r.Status, r.Body)
	}
	var st lifecycle.State
	if err := json.Unmarshal(r.Body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// submitAs submits a dossier with a fresh idempotency key and returns the ID.
func submitAs(t testing.TB, s *testenv.Stack, a lifecycle.Actor, d []byte) string {
	t.Helper()
	r := apiCall(t, s, s.Token(a), "POST", "/v1/applications", d, "Idempotency-Key", fmt.Sprintf("k-%d", time.Now().UnixNano()))
	if r.Status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	var res struct {
		ApplicationID string `json:"application_id"`
	}
	if err := json.Unmarshal(r.Body, &res); err != nil || res.ApplicationID == "" {
		t.Fatalf("submit answer %s: %v", r.Body, err)
	}
	return res.ApplicationID
}

// waitConsulted waits until the embassy has been consulted, the point from
// which it may give its opinion.
func waitConsulted(t testing.TB, s *testenv.Stack, id string) {
	t.Helper()
	pollUntil(t, 30*time.Second, id+" consulting its embassy", func() bool {
		st := readState(t, s, id)
		return st.Status == lifecycle.StatusEmbassyConsultation && st.EmbassyContacted &&
			slices.ContainsFunc(journalOf(t, s, id), func(e store.Entry) bool { return e.EventType == lifecycle.EventEmbassyConsulted })
	})
}

// step runs a human step that must succeed and returns the new status.
func mustStep(t testing.TB, s *testenv.Stack, a lifecycle.Actor, id, path string, body any) lifecycle.Status {
	t.Helper()
	r := apiCall(t, s, s.Token(a), "POST", "/v1/applications/"+id+"/"+path, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%s by %s on %s: %d %s", path, a.ID, id, r.Status, r.Body)
	}
	var st lifecycle.State
	if err := json.Unmarshal(r.Body, &st); err != nil {
		t.Fatal(err)
	}
	return st.Status
}

// The bodies of the steps of a full path.
var (
	opinionOK   = map[string]string{"opinion": "favorable", "comment": "Partenariat solide, avis favorable"}
	rcOK        = map[string]string{"message": "Merci de préciser le programme des journées"}
	recommendOK = map[string]string{"recommendation": "approve", "amount": "3000.00", "comment": "Dossier solide"}
	decideOK    = map[string]string{"decision": "approve", "amount": "2800.00"}
)

func complementsOK(t testing.TB) map[string]any {
	return map[string]any{"dossier": json.RawMessage(testenv.ExampleDossier(t)), "comment": "Programme précisé"}
}

// fullPath takes a consulted application to approval: opinion,
// recommendation of 3000 EUR, decision of 2800 EUR.
func fullPath(t testing.TB, s *testenv.Stack, id string) {
	t.Helper()
	waitConsulted(t, s, id)
	if st := mustStep(t, s, testenv.EmbassySN, id, "opinion", opinionOK); st != lifecycle.StatusUnderReview {
		t.Fatalf("after opinion: %s", st)
	}
	if st := mustStep(t, s, testenv.Instructor, id, "recommendation", recommendOK); st != lifecycle.StatusAwaitingDecision {
		t.Fatalf("after recommendation: %s", st)
	}
	if st := mustStep(t, s, testenv.Decider, id, "decision", decideOK); st != lifecycle.StatusApproved {
		t.Fatalf("after decision: %s", st)
	}
}

// journalOf returns the application's journal rows.
func journalOf(t testing.TB, s *testenv.Stack, id string) []store.Entry {
	t.Helper()
	entries, err := s.Store.Journal(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// sameJournal tells whether two snapshots of a journal are identical.
func sameJournal(a, b []store.Entry) bool {
	return slices.EqualFunc(a, b, func(x, y store.Entry) bool {
		return x.Seq == y.Seq && x.Hash == y.Hash && x.EventType == y.EventType
	})
}

// acceptedUpdates lists the updates the workflow's Temporal history accepted,
// as "update by actor-id".
func acceptedUpdates(t testing.TB, s *testenv.Stack, id string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := s.Temporal.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []string
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		if ev.GetEventType() != enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED {
			continue
		}
		in := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput()
		var arg struct {
			Actor lifecycle.Actor `json:"actor"`
		}
		if args := in.GetArgs().GetPayloads(); len(args) > 0 {
			if err := converter.GetDefaultDataConverter().FromPayload(args[0], &arg); err != nil {
				t.Fatalf("update input of %s: %v", id, err)
			}
		}
		out = append(out, in.GetName()+" by "+arg.Actor.ID)
	}
	return out
}

// rowCount returns SELECT count(*) FROM table.
func rowCount(t testing.TB, s *testenv.Stack, table string) int {
	t.Helper()
	var n int
	if err := s.Store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// lastAttemptID is the highest attempts row ID so far (0 when none).
func lastAttemptID(t testing.TB, s *testenv.Stack) int64 {
	t.Helper()
	var id int64
	if err := s.Store.Pool.QueryRow(context.Background(), "SELECT COALESCE(max(id), 0) FROM attempts").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// attemptsSince returns the attempts rows rowCounts after the row ID.
func attemptsSince(t testing.TB, s *testenv.Stack, after int64) []store.Attempt {
	t.Helper()
	rows, err := s.Store.Pool.Query(context.Background(), `SELECT id, at, actor_id, actor_role, action,
		COALESCE(application_id, ''), reason, http_status FROM attempts WHERE id > $1 ORDER BY id`, after)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []store.Attempt
	for rows.Next() {
		var a store.Attempt
		if err := rows.Scan(&a.ID, &a.At, &a.ActorID, &a.ActorRole, &a.Action, &a.ApplicationID, &a.Reason, &a.HTTPStatus); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ---------------------------------------------------------------------------
// The permission matrix.
// ---------------------------------------------------------------------------

// matrixPrincipal is who calls: an actor with a good token, or a bad token.
type matrixPrincipal struct {
	name  string
	actor *lifecycle.Actor // nil: the token is not to be trusted (401)
	token func(s *testenv.Stack, as lifecycle.Actor) string
}

func goodToken(a lifecycle.Actor) matrixPrincipal {
	return matrixPrincipal{name: a.ID + "/" + string(a.Role), actor: &a,
		token: func(s *testenv.Stack, _ lifecycle.Actor) string { return s.Token(a) }}
}

// withClaim is a genuine token of the stack's provider for the actor, but
// for one claim.
func withClaim(name string, value any) func(s *testenv.Stack, as lifecycle.Actor) string {
	return func(s *testenv.Stack, as lifecycle.Actor) string {
		s.Grant(as)
		c := testenv.PersonClaims(s.OIDC, as.ID)
		v := value
		if at, ok := v.(func() int64); ok {
			v = at()
		}
		if v == nil {
			delete(c, name)
		} else {
			c[name] = v
		}
		return testenv.ForgeToken(s.T, s.OIDC, c)
	}
}

// heldRoles are the roles the directory grants the person now, as a refusal
// by none of them records them (the four-eyes row grants the instructor a
// decider's role).
func heldRoles(t *testing.T, s *testenv.Stack, id string) string {
	t.Helper()
	p, err := s.Store.Person(context.Background(), id)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, a := range (identity.Caller{Person: p}).Actors() {
		roles = append(roles, string(a.Role))
	}
	return strings.Join(roles, ",")
}

// sharedSecret is a token of the old kind: signed with a shared secret
// (HS256), which anyone holding the secret could mint.
func sharedSecret(s *testenv.Stack, as lifecycle.Actor) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(testenv.PersonClaims(s.OIDC, as.ID))).
		SignedString([]byte("a-secret-of-at-least-32-bytes-long!!"))
	if err != nil {
		panic(err)
	}
	return tok
}

// otherIssuer is the test's second provider: its people are real, but not
// the API's.
var otherIssuer *devstack.OIDCProvider

// matrixBadTokens are tokens the API must not trust. Each speaks for the actor the
// action allows (as), so that only the token is at fault.
var matrixBadTokens = []matrixPrincipal{
	{name: "no token", token: func(*testenv.Stack, lifecycle.Actor) string { return "" }},
	{name: "not a JWT", token: func(*testenv.Stack, lifecycle.Actor) string { return "not-a-jwt" }},
	// Times are read when the token is made, not when the table is.
	{name: "expired", token: withClaim("exp", func() int64 { return time.Now().Add(-2 * identity.Leeway).Unix() })},
	{name: "issued in the future", token: withClaim("iat", func() int64 { return time.Now().Add(2 * identity.Leeway).Unix() })},
	{name: "no issue time", token: withClaim("iat", nil)},
	{name: "another audience", token: withClaim("aud", []string{"another-client"})},
	{name: "another issuer named", token: withClaim("iss", "https://issuer.invalid")},
	{name: "shared secret (HS256)", token: sharedSecret},
	{name: "alg none", token: func(s *testenv.Stack, as lifecycle.Actor) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(testenv.PersonClaims(s.OIDC, as.ID))).
			SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			panic(err)
		}
		return tok
	}},
	{name: "another provider's person", token: func(s *testenv.Stack, as lifecycle.Actor) string {
		s.Grant(as)
		return testenv.SignIn(s.T, otherIssuer, as.ID)
	}},
}

// noRole is a person the provider knows but the directory grants nothing:
// identified, so refused with 403 and recorded under their name.
var noRole = matrixPrincipal{name: "sans.role/none", actor: &lifecycle.Actor{ID: "sans.role"},
	token: func(s *testenv.Stack, _ lifecycle.Actor) string { return testenv.SignIn(s.T, s.OIDC, "sans.role") }}

// matrixRoles are the actors with good tokens, each in or out of scope.
var matrixRoles = []matrixPrincipal{
	goodToken(testenv.Applicant),      // the applying collectivité
	goodToken(testenv.OtherApplicant), // another collectivité
	goodToken(testenv.EmbassySN),      // the embassy of the destination
	goodToken(testenv.EmbassyBR),      // another country's embassy
	goodToken(testenv.Instructor),
	goodToken(testenv.Decider),
	goodToken(testenv.Auditor),
	goodToken(testenv.Admin),
	noRole,
}

// matrixAction is one row of the matrix: what is sent, who may do it (the
// status they get) and the application whose record a refusal must leave alone.
type matrixAction struct {
	action  lifecycle.Action
	method  string
	path    func() string
	body    func() any
	allowed map[string]int // matrixPrincipal name -> status when allowed
	// as is the actor the bad tokens speak for.
	as lifecycle.Actor
	// target is the application in the path (refusals are logged against it
	// and must not change its journal or history).
	target func() string
	// extra are principals for this action alone, refused with 403.
	extra []matrixPrincipal
	// check looks at an allowed answer.
	check func(t *testing.T, p matrixPrincipal, r testenv.Response)
}

func allowedTo(status int, actors ...lifecycle.Actor) map[string]int {
	m := map[string]int{}
	for _, a := range actors {
		m[goodToken(a).name] = status
	}
	return m
}

// TestPermissionMatrix tries every action as every role and with every kind
// of bad token, against the real API. Allowed steps are run in a state where
// they succeed; every refusal must be a 401 or 403 problem, logged in the
// attempts table with its actor, action, application and reason, and leave
// the journal and the Temporal history as they were.
func TestPermissionMatrix(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	otherIssuer = testenv.OwnOIDC(t)
	example := testenv.ExampleDossier(t)

	// One application goes through every step; another, submitted by the
	// matrix itself, is withdrawn.
	chain := submitAs(t, s, testenv.Applicant, example)
	waitConsulted(t, s, chain)
	var submitted string

	onChain := func(suffix string) func() string {
		return func() string { return "/v1/applications/" + chain + suffix }
	}
	chainID := func() string { return chain }
	stateIs := func(want lifecycle.Status) func(*testing.T, matrixPrincipal, testenv.Response) {
		return func(t *testing.T, p matrixPrincipal, r testenv.Response) {
			var st lifecycle.State
			if err := json.Unmarshal(r.Body, &st); err != nil || st.Status != want {
				t.Errorf("%s: state after the step: %v %s, want %s", p.name, err, st.Status, want)
			}
		}
	}
	staff := []lifecycle.Actor{testenv.Instructor, testenv.Decider, testenv.Auditor, testenv.Admin}

	actions := []matrixAction{
		{
			action: lifecycle.ActionSubmit, method: "POST", path: func() string { return "/v1/applications" },
			body:    func() any { return example },
			allowed: allowedTo(http.StatusCreated, testenv.Applicant),
			as:      testenv.Applicant, target: func() string { return "" },
			check: func(t *testing.T, p matrixPrincipal, r testenv.Response) {
				var res struct {
					ApplicationID string `json:"application_id"`
				}
				if err := json.Unmarshal(r.Body, &res); err != nil || res.ApplicationID == "" {
					t.Fatalf("submit answer %s: %v", r.Body, err)
				}
				submitted = res.ApplicationID
				// Its journal and read model are rowCounts by the workflow,
				// right after: let them settle before the next action
				// counts rows.
				waitConsulted(t, s, submitted)
			},
		},
		{
			action: lifecycle.ActionRead, method: "GET", path: onChain(""),
			allowed: allowedTo(http.StatusOK, append([]lifecycle.Actor{testenv.Applicant, testenv.EmbassySN}, staff...)...),
			as:      testenv.Applicant, target: chainID,
			check: func(t *testing.T, p matrixPrincipal, r testenv.Response) {
				var st lifecycle.State
				if err := json.Unmarshal(r.Body, &st); err != nil || st.ApplicationID != chain {
					t.Errorf("%s read %s: %v %s", p.name, chain, err, r.Body)
				}
			},
		},
		{
			action: lifecycle.ActionList, method: "GET", path: func() string { return "/v1/applications" },
			allowed: allowedTo(http.StatusOK, testenv.Applicant, testenv.OtherApplicant, testenv.EmbassySN, testenv.EmbassyBR,
				testenv.Instructor, testenv.Decider, testenv.Auditor, testenv.Admin),
			as: testenv.Instructor, target: func() string { return "" },
			check: func(t *testing.T, p matrixPrincipal, r testenv.Response) {
				var page store.Page
				if err := json.Unmarshal(r.Body, &page); err != nil {
					t.Fatalf("%s list: %v %s", p.name, err, r.Body)
				}
				var ids []string
				for _, a := range page.Items {
					ids = append(ids, a.ID)
				}
				// Everything here is the example's collectivité, going to SN:
				// the other collectivité and the other embassy see nothing.
				wantSome := p.actor.ID != testenv.OtherApplicant.ID && p.actor.ID != testenv.EmbassyBR.ID
				if got := slices.Contains(ids, chain); got != wantSome {
					t.Errorf("%s lists %v: contains %s = %v, want %v", p.name, ids, chain, got, wantSome)
				}
				if !wantSome && len(ids) > 0 {
					t.Errorf("%s sees applications out of its scope: %v", p.name, ids)
				}
			},
		},
		{
			action: lifecycle.ActionHistory, method: "GET", path: onChain("/history"),
			allowed: allowedTo(http.StatusOK, staff...), as: testenv.Auditor, target: chainID,
		},
		{
			action: lifecycle.ActionOpinion, method: "POST", path: onChain("/opinion"),
			body:    func() any { return opinionOK },
			allowed: allowedTo(http.StatusOK, testenv.EmbassySN), as: testenv.EmbassySN, target: chainID,
			check: stateIs(lifecycle.StatusUnderReview),
		},
		{
			action: lifecycle.ActionRequestComplements, method: "POST", path: onChain("/complements-request"),
			body:    func() any { return rcOK },
			allowed: allowedTo(http.StatusOK, testenv.Instructor), as: testenv.Instructor, target: chainID,
			check: stateIs(lifecycle.StatusAwaitingComplements),
		},
		{
			action: lifecycle.ActionComplements, method: "POST", path: onChain("/complements"),
			body:    func() any { return complementsOK(t) },
			allowed: allowedTo(http.StatusOK, testenv.Applicant), as: testenv.Applicant, target: chainID,
			check: stateIs(lifecycle.StatusUnderReview),
		},
		{
			action: lifecycle.ActionRecommend, method: "POST", path: onChain("/recommendation"),
			body:    func() any { return recommendOK },
			allowed: allowedTo(http.StatusOK, testenv.Instructor), as: testenv.Instructor, target: chainID,
			check: stateIs(lifecycle.StatusAwaitingDecision),
		},
		{
			action: lifecycle.ActionDecide, method: "POST", path: onChain("/decision"),
			body:    func() any { return decideOK },
			allowed: allowedTo(http.StatusOK, testenv.Decider), as: testenv.Decider, target: chainID,
			// Four-eyes: the instructor holding a decider's role may not
			// decide what they instructed.
			extra: []matrixPrincipal{goodToken(testenv.InstructorAsDec)},
			check: stateIs(lifecycle.StatusApproved),
		},
		{
			action: lifecycle.ActionWithdraw, method: "POST",
			path:    func() string { return "/v1/applications/" + submitted + "/withdrawal" },
			body:    func() any { return map[string]string{"reason": "Mission reportée"} },
			allowed: allowedTo(http.StatusOK, testenv.Applicant), as: testenv.Applicant,
			target: func() string { return submitted },
			check:  stateIs(lifecycle.StatusWithdrawn),
		},
		{
			action: lifecycle.ActionAuditVerify, method: "GET",
			path:    func() string { return "/v1/audit/verify?application_id=" + chain },
			allowed: allowedTo(http.StatusOK, testenv.Auditor, testenv.Admin), as: testenv.Auditor,
			target: func() string { return "" },
			check: func(t *testing.T, p matrixPrincipal, r testenv.Response) {
				var rep struct {
					OK      bool `json:"ok"`
					Checked int  `json:"checked"`
				}
				if err := json.Unmarshal(r.Body, &rep); err != nil || !rep.OK || rep.Checked != 1 {
					t.Errorf("%s verify: %v %s", p.name, err, r.Body)
				}
			},
		},
		{
			action: lifecycle.ActionEmbassyList, method: "GET", path: func() string { return "/v1/embassies" },
			allowed: allowedTo(http.StatusOK, staff...), as: testenv.Instructor, target: func() string { return "" },
		},
		{
			action: lifecycle.ActionFollow, method: "PUT", path: onChain("/follow"),
			allowed: allowedTo(http.StatusOK, testenv.Instructor, testenv.Decider, testenv.Finance), as: testenv.Instructor, target: chainID,
		},
		{
			action: lifecycle.ActionFigures, method: "GET", path: func() string { return "/v1/figures" },
			allowed: allowedTo(http.StatusOK, staff...), as: testenv.Auditor, target: func() string { return "" },
		},
		{
			action: lifecycle.ActionEmbassyDirectory, method: "PUT", path: func() string { return "/v1/embassies/NZ" },
			body: func() any {
				return map[string]any{"name": "Ambassade de France en Nouvelle-Zélande", "emails": []string{"scac.wellington@diplomatie.gouv.fr"}}
			},
			allowed: allowedTo(http.StatusOK, testenv.Admin), as: testenv.Admin, target: func() string { return "" },
		},
		{
			action: lifecycle.ActionMailFailed, method: "GET", path: func() string { return "/v1/mail/failed" },
			allowed: allowedTo(http.StatusOK, testenv.Auditor, testenv.Admin), as: testenv.Auditor, target: func() string { return "" },
		},
	}

	for _, act := range actions {
		t.Run(string(act.action), func(t *testing.T) {
			target := act.target()
			var journalBefore []store.Entry
			var updatesBefore []string
			if target != "" {
				journalBefore = journalOf(t, s, target)
				updatesBefore = acceptedUpdates(t, s, target)
			}
			appsBefore := rowCount(t, s, "applications")
			embassiesBefore := rowCount(t, s, "embassies")

			// Refusals first, while the application is in the state where
			// the allowed actor's step succeeds.
			var allowed []matrixPrincipal
			var refused []matrixPrincipal
			for _, p := range matrixRoles {
				if _, ok := act.allowed[p.name]; ok {
					allowed = append(allowed, p)
				} else {
					refused = append(refused, p)
				}
			}
			refused = append(refused, act.extra...)
			refused = append(refused, matrixBadTokens...)
			for _, p := range refused {
				want := http.StatusForbidden
				if p.actor == nil {
					want = http.StatusUnauthorized
				}
				var body any
				if act.body != nil {
					body = act.body()
				}
				mark := lastAttemptID(t, s)
				r := apiCall(t, s, p.token(s, act.as), act.method, act.path(), body)
				if r.Status != want {
					t.Errorf("%s %s as %s: %d, want %d: %s", act.method, act.path(), p.name, r.Status, want, r.Body)
					continue
				}
				prob := asProblem(t, r, want)
				got := attemptsSince(t, s, mark)
				if want == http.StatusUnauthorized {
					// Nobody identified: counted in the metrics, not stored.
					if len(got) != 0 {
						t.Errorf("%s as %s: %d attempts rows for an unauthenticated request, want none: %+v", act.action, p.name, len(got), got)
					}
					continue
				}
				if len(got) != 1 {
					t.Errorf("%s as %s: %d attempts rows rowCounts, want 1: %+v", act.action, p.name, len(got), got)
					continue
				}
				a := got[0]
				wantActor, wantRole := p.actor.ID, heldRoles(t, s, p.actor.ID)
				if lifecycle.Allows(p.actor.Role, act.action) {
					wantRole = string(p.actor.Role) // acting in it, refused for scope or four-eyes
				}
				if a.ActorID != wantActor || a.ActorRole != wantRole || a.Action != string(act.action) ||
					a.HTTPStatus != want || !strings.Contains(a.Reason, prob.Title) || strings.TrimSpace(a.Reason) == prob.Title {
					t.Errorf("%s as %s: attempt %+v; want actor %q role %q action %s status %d and the reason (%q: %q)",
						act.action, p.name, a, wantActor, wantRole, act.action, want, prob.Title, prob.Detail)
				}
				if target != "" && a.ApplicationID != target {
					t.Errorf("%s as %s: attempt logged against application %q, want %q", act.action, p.name, a.ApplicationID, target)
				}
			}
			if target != "" {
				if after := journalOf(t, s, target); !sameJournal(journalBefore, after) {
					t.Errorf("%s: refusals changed the journal of %s: %d rows, then %d", act.action, target, len(journalBefore), len(after))
				}
				if after := acceptedUpdates(t, s, target); !slices.Equal(updatesBefore, after) {
					t.Errorf("%s: refused updates entered the Temporal history of %s: %v, then %v", act.action, target, updatesBefore, after)
				}
			}
			if n := rowCount(t, s, "applications"); n != appsBefore {
				t.Errorf("%s: refusals changed the applications: %d rows, then %d", act.action, appsBefore, n)
			}
			if n := rowCount(t, s, "embassies"); n != embassiesBefore {
				t.Errorf("%s: refusals changed the embassy directory: %d rows, then %d", act.action, embassiesBefore, n)
			}

			// Then the allowed actors.
			for _, p := range allowed {
				if act.action == lifecycle.ActionWithdraw {
					waitConsulted(t, s, submitted)
				}
				var body any
				if act.body != nil {
					body = act.body()
				}
				mark := lastAttemptID(t, s)
				r := apiCall(t, s, p.token(s, act.as), act.method, act.path(), body)
				if want := act.allowed[p.name]; r.Status != want {
					t.Errorf("%s %s as %s: %d, want %d: %s", act.method, act.path(), p.name, r.Status, want, r.Body)
					continue
				}
				if got := attemptsSince(t, s, mark); len(got) != 0 {
					t.Errorf("%s as %s succeeded but wrote attempts: %+v", act.action, p.name, got)
				}
				if act.check != nil {
					act.check(t, p, r)
				}
			}
		})
	}

	t.Run("applicant lists another collectivité", func(t *testing.T) {
		mark := lastAttemptID(t, s)
		r := apiCall(t, s, s.Token(testenv.Applicant), "GET", "/v1/applications?siren="+testenv.OtherApplicant.SIREN, nil)
		asProblem(t, r, http.StatusForbidden)
		if got := attemptsSince(t, s, mark); len(got) != 1 || got[0].ActorID != testenv.Applicant.ID || got[0].Action != string(lifecycle.ActionList) {
			t.Errorf("attempts: %+v", got)
		}
	})

	t.Run("only allowed steps in the history", func(t *testing.T) {
		// Only the allowed steps entered the workflow's history.
		want := []string{
			"opinion by " + testenv.EmbassySN.ID,
			"request_complements by " + testenv.Instructor.ID,
			"complements by " + testenv.Applicant.ID,
			"recommend by " + testenv.Instructor.ID,
			"decide by " + testenv.Decider.ID,
		}
		if got := acceptedUpdates(t, s, chain); !slices.Equal(got, want) {
			t.Errorf("accepted updates of %s: %v, want %v", chain, got, want)
		}
		// The refusals are in the attempts table, and shown as such in the
		// application's history; none of them as a step.
		attempts, err := s.Store.Attempts(context.Background(), chain)
		if err != nil {
			t.Fatal(err)
		}
		// More than the default page of 50 attempts: ask for them all.
		r := apiCall(t, s, s.Token(testenv.Auditor), "GET", "/v1/applications/"+chain+"/history?attempts_limit=500", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("history: %d %s", r.Status, r.Body)
		}
		var tl struct {
			Entries []struct {
				Source string `json:"source"`
				Step   string `json:"step"`
				Actor  struct {
					ID string `json:"id"`
				} `json:"actor"`
			} `json:"entries"`
		}
		if err := json.Unmarshal(r.Body, &tl); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range tl.Entries {
			if e.Source == "attempt" {
				n++
			}
		}
		if n != len(attempts) || n == 0 {
			t.Errorf("history shows %d attempts, the attempts table has %d", n, len(attempts))
		}
		if st := readState(t, s, chain); st.Status != lifecycle.StatusApproved || st.Decision == nil ||
			st.Decision.Actor.ID != testenv.Decider.ID || st.Decision.Amount != dossier.Euros(2800) {
			t.Errorf("final state: %s %+v", st.Status, st.Decision)
		}
	})
}
