package faults_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/daect/expectct/internal/faults"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// badRequest is one kind of bad request and the status it must get.
type badRequest struct {
	name   string
	method string
	path   string
	token  string // Authorization header value; empty for none
	body   func(r *rand.Rand) []byte
	// chunked hides the body's length: the server learns it is too large
	// only by reading it.
	chunked bool
	header  []string
	want    int
}

// TestBadTraffic sends 2,000 bad requests from 16 concurrent clients on the
// loopback: malformed, truncated, oversized and ill-typed bodies, missing,
// forged, expired and unsigned tokens, wrong roles, bad queries, unknown
// applications. Every one gets its 4xx problem, never a 5xx nor a dropped
// connection; every refusal of an identified caller but the 404s is in the
// attempts log, and none of the unauthenticated ones (401); nothing
// reaches the applications, the journal or the outbox; and a valid
// submission succeeds afterwards.
func TestBadTraffic(t *testing.T) {
	t.Parallel()
	s := testenv.NewStack(t, testenv.StackOptions{Rules: steadyRules()})
	phase := phases(t)
	kinds := badRequests(t, s)

	const total, clients = 2000, 16
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	type result struct {
		kind   int
		status int
		ct     string
		body   []byte
		err    error
	}
	results := make([]result, total)
	jobs := make(chan int)
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, uint64(c)))
			for i := range jobs {
				k := i % len(kinds)
				res := result{kind: k}
				res.status, res.ct, res.body, res.err = send(hc, s.API.URL, kinds[k], rnd)
				results[i] = res
			}
		}()
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	phase(fmt.Sprintf("%d bad requests", total))

	perKind := make([]map[int]int, len(kinds))
	notLogged := 0 // 404s and 401s: not attempts by anyone identified
	for _, res := range results {
		k := kinds[res.kind]
		if perKind[res.kind] == nil {
			perKind[res.kind] = map[int]int{}
		}
		if res.err != nil {
			t.Errorf("%s: %v", k.name, res.err)
			continue
		}
		perKind[res.kind][res.status]++
		if res.status == http.StatusNotFound || res.status == http.StatusUnauthorized {
			notLogged++
		}
		if res.status != k.want {
			t.Errorf("%s: %d %s, want %d", k.name, res.status, truncate(res.body), k.want)
			continue
		}
		var p struct {
			Status int    `json:"status"`
			Title  string `json:"title"`
		}
		if res.ct != "application/problem+json" || json.Unmarshal(res.body, &p) != nil || p.Status != res.status || p.Title == "" {
			t.Errorf("%s: %d answered %q %s, want a problem document", k.name, res.status, res.ct, truncate(res.body))
		}
	}
	for i, k := range kinds {
		t.Logf("%-40s %v", k.name, perKind[i])
	}

	// Every refusal except the 404s and the 401s is logged as an attempt.
	wantAttempts := total - notLogged
	waitFor(t, 30*time.Second, "the refused attempts logged", func() (bool, string) {
		n := count(t, s.Store, `SELECT count(*) FROM attempts`)
		return n == wantAttempts, fmt.Sprintf("%d attempts logged, want %d", n, wantAttempts)
	})
	for _, table := range []string{"applications", "journal", "outbox"} {
		if n := count(t, s.Store, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%d rows in %s after bad requests only", n, table)
		}
	}

	// The server is still up and serves a valid request.
	a := newAPI(s)
	r := a.must(t, nil, "GET", "/healthz", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("/healthz after the bad traffic: %d %s", r.Status, r.Body)
	}
	r, err := a.submit(newKey())
	expect(t, "a valid submission after the bad traffic", r, err, 201)
	id := submittedID(t, r)
	waitStatuses(t, s.Store, []string{id}, lifecycle.StatusEmbassyConsultation, time.Minute)
	s.Mailpit.WaitFor(t, 3, 30*time.Second)
	phase("valid request")
	faults.CheckInvariants(t, faults.System{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.TaskQueue, Mailpit: s.Mailpit})
}

// send sends one request of the kind and reads the whole answer.
func send(hc *http.Client, base string, k badRequest, rnd *rand.Rand) (int, string, []byte, error) {
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body(rnd))
		if k.chunked {
			body = io.MultiReader(body) // no Len method: sent chunked
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), k.method, base+k.path, body)
	if err != nil {
		return 0, "", nil, err
	}
	if k.token != "" {
		req.Header.Set("Authorization", k.token)
	}
	for i := 0; i+1 < len(k.header); i += 2 {
		req.Header.Set(k.header[i], k.header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), data, err
}

// badRequests are the kinds of bad traffic, each with the status it must get.
func badRequests(t *testing.T, s *testenv.Stack) []badRequest {
	t.Helper()
	example := testenv.ExampleDossier(t)
	bearer := func(a lifecycle.Actor) string { return "Bearer " + s.Token(a) }
	applicant, embassy, decider := bearer(testenv.Applicant), bearer(testenv.EmbassySN), bearer(testenv.Decider)
	forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(testenv.PersonClaims(s.OIDC, testenv.Applicant.ID))).
		SignedString([]byte("a-shared-secret-nobody-should-trust"))
	if err != nil {
		t.Fatal(err)
	}
	claims := testenv.PersonClaims(s.OIDC, testenv.Applicant.ID)
	claims["exp"] = time.Now().Add(-time.Hour).Unix()
	expired := testenv.ForgeToken(t, s.OIDC, claims)
	b64 := base64.RawURLEncoding.EncodeToString
	unsigned := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		b64(fmt.Appendf(nil, `{"iss":"expectct","sub":"x","role":"admin","exp":%d}`, time.Now().Add(time.Hour).Unix())) + "."
	// The example with its closing brace (and what follows) cut at random.
	end := bytes.LastIndexByte(example, '}')
	fixed := func(b []byte) func(*rand.Rand) []byte { return func(*rand.Rand) []byte { return b } }
	edit := func(f func(d map[string]any)) func(*rand.Rand) []byte {
		var d map[string]any
		if err := json.Unmarshal(example, &d); err != nil {
			t.Fatal(err)
		}
		f(d)
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return fixed(b)
	}
	// A dossier just over the 1 MiB limit: long objectives.
	oversized := edit(func(d map[string]any) {
		d["mission"].(map[string]any)["objectives"] = strings.Repeat("Diagnostic partagé. ", (1<<20)/20+3000)
	})
	unknown := "/v1/applications/EXP-AAAAAAAAAAAAAAAA"
	return []badRequest{
		{name: "garbage body", method: "POST", path: "/v1/applications", token: applicant, want: 400,
			body: func(r *rand.Rand) []byte {
				// An object opened and never closed: no closing brace.
				b := make([]byte, 1+r.IntN(512))
				for i := range b {
					if b[i] = byte(r.IntN(256)); b[i] == '}' {
						b[i] = '{'
					}
				}
				b[0] = '{'
				return b
			}},
		{name: "truncated dossier", method: "POST", path: "/v1/applications", token: applicant, want: 400,
			body: func(r *rand.Rand) []byte { return example[:1+r.IntN(end-1)] }},
		{name: "empty body", method: "POST", path: "/v1/applications", token: applicant, want: 400, body: fixed(nil)},
		{name: "JSON array", method: "POST", path: "/v1/applications", token: applicant, want: 400, body: fixed([]byte(`[` + string(example) + `]`))},
		{name: "JSON null", method: "POST", path: "/v1/applications", token: applicant, want: 400, body: fixed([]byte(`null`))},
		{name: "deep nesting", method: "POST", path: "/v1/applications", token: applicant, want: 400,
			body: fixed([]byte(`{"collectivite":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`))},
		{name: "trailing data", method: "POST", path: "/v1/applications", token: applicant, want: 400,
			body: fixed(append(slices.Clone(example), []byte(`{"x":1}`)...))},
		{name: "unknown field", method: "POST", path: "/v1/applications", token: applicant, want: 400,
			body: edit(func(d map[string]any) { d["admin"] = true })},
		{name: "wrong type", method: "POST", path: "/v1/applications", token: applicant, want: 400,
			body: edit(func(d map[string]any) { d["collectivite"].(map[string]any)["siren"] = 214401093 })},
		{name: "amount out of range", method: "POST", path: "/v1/applications", token: applicant, want: 400,
			body: edit(func(d map[string]any) { d["budget"].(map[string]any)["requested"] = "1e400" })},
		{name: "duplicate key", method: "POST", path: "/v1/applications", token: applicant, want: 400,
			body: fixed([]byte(strings.Replace(string(example), `"collectivite": {`, `"collectivite": {"name": "X", `, 1)))},
		{name: "oversized body", method: "POST", path: "/v1/applications", token: applicant, want: 413, body: oversized},
		{name: "oversized chunked body", method: "POST", path: "/v1/applications", token: applicant, want: 413,
			body: fixed(bytes.Repeat([]byte(" "), 4<<20)), chunked: true},
		{name: "invalid dossier", method: "POST", path: "/v1/applications", token: applicant, want: 422,
			body: edit(func(d map[string]any) { d["agents"] = []any{} })},
		{name: "idempotency key too long", method: "POST", path: "/v1/applications", token: applicant, want: 400,
			body: fixed(example), header: []string{"Idempotency-Key", strings.Repeat("k", 201)}},
		{name: "no token", method: "POST", path: "/v1/applications", want: 401, body: fixed(example)},
		{name: "garbage token", method: "POST", path: "/v1/applications", token: "Bearer abc.def.ghi", want: 401, body: fixed(example)},
		{name: "forged token", method: "POST", path: "/v1/applications", token: "Bearer " + forged, want: 401, body: fixed(example)},
		{name: "expired token", method: "POST", path: "/v1/applications", token: "Bearer " + expired, want: 401, body: fixed(example)},
		{name: "unsigned token", method: "GET", path: "/v1/applications", token: "Bearer " + unsigned, want: 401},
		{name: "basic authentication", method: "GET", path: "/v1/applications", token: "Basic YWRtaW46YWRtaW4=", want: 401},
		{name: "embassy submits", method: "POST", path: "/v1/applications", token: embassy, want: 403, body: fixed(example)},
		{name: "another collectivité's dossier", method: "POST", path: "/v1/applications", token: bearer(testenv.OtherApplicant),
			want: 403, body: fixed(example)},
		{name: "bad limit", method: "GET", path: "/v1/applications?limit=0", token: decider, want: 400},
		{name: "bad status filter", method: "GET", path: "/v1/applications?status=%27%3B%20DROP%20TABLE%20journal", token: decider, want: 400},
		{name: "forged cursor", method: "GET", path: "/v1/applications?cursor=Zm9yZ2Vk", token: decider, want: 400},
		{name: "malformed decision", method: "POST", path: unknown + "/decision", token: decider, want: 400,
			body: func(r *rand.Rand) []byte { return []byte(`{"decision": "approve", "amount": `)[:1+r.IntN(30)] }},
		{name: "oversized decision", method: "POST", path: unknown + "/decision", token: decider, want: 413,
			body: fixed(bytes.Repeat([]byte(" "), 2<<20)), chunked: true},
		{name: "decision on no application", method: "POST", path: unknown + "/decision", token: decider, want: 404,
			body: fixed([]byte(`{"decision": "approve", "amount": "1000.00"}`))},
		{name: "unknown route", method: "GET", path: "/v1/admin", token: decider, want: 404},
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
