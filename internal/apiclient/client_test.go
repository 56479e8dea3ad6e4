package apiclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daect/expectct/internal/dossier"
)

func server(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return New(s.URL+"/", "tok") // a trailing slash on the base is tolerated
}

func TestProblemError(t *testing.T) {
	p := &Problem{Title: "Unprocessable Entity", Status: 422, Detail: "invalid dossier", Errors: []dossier.FieldError{
		{Field: "agents[0].name", Rule: "required", MessageFR: "Le nom est obligatoire.", MessageEN: "The name is required."},
	}}
	want := "422 Unprocessable Entity: invalid dossier\n  agents[0].name (required): Le nom est obligatoire. / The name is required."
	if got := p.Error(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := (&Problem{Title: "Not Found", Status: 404}).Error(); got != "404 Not Found" {
		t.Errorf("got %q", got)
	}
}

func TestProblemDecoding(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		status            int
		want              Problem
	}{
		{"problem+json", "application/problem+json; charset=utf-8",
			`{"type":"about:blank","title":"Conflict","status":409,"detail":"already decided"}`, 409,
			Problem{Type: "about:blank", Title: "Conflict", Status: 409, Detail: "already decided"}},
		{"problem without title", "application/problem+json", `{"detail":"nope"}`, 403,
			Problem{Title: "Forbidden", Status: 403, Detail: "nope"}},
		{"plain text", "text/plain", "upstream\n  timed out\n", 504,
			Problem{Title: "Gateway Timeout", Status: 504, Detail: "upstream timed out"}},
		{"JSON that is not a problem", "application/json", `{"error":"boom"}`, 500,
			Problem{Title: "Internal Server Error", Status: 500, Detail: `{"error":"boom"}`}},
		{"broken JSON", "application/problem+json", `{"title":`, 500,
			Problem{Title: "Internal Server Error", Status: 500, Detail: `{"title":`}},
		{"empty", "", "", 503, Problem{Title: "Service Unavailable", Status: 503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := server(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			_, err := c.Status(context.Background(), "APP-1")
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("want a *Problem, got %T %v", err, err)
			}
			if p.Type != tt.want.Type || p.Title != tt.want.Title || p.Status != tt.want.Status || p.Detail != tt.want.Detail {
				t.Errorf("got %+v\nwant %+v", *p, tt.want)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	var method, path, query, body, auth, key string
	c := server(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		method, path, query, body = r.Method, r.URL.Path, r.URL.RawQuery, string(b)
		auth, key = r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/applications" && r.Method == http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"application_id":"APP-1","status":"submitted","created":true}`)
		case r.URL.Path == "/v1/applications":
			io.WriteString(w, `{"items":[]}`)
		default:
			io.WriteString(w, `{"application_id":"APP-1","status":"approved"}`)
		}
	})
	ctx := context.Background()

	raw := []byte(`{"not":"validated here"}`)
	r, err := c.Submit(ctx, raw, "K")
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 201 || !r.Value.Created || r.Value.ApplicationID != "APP-1" || body != string(raw) || key != "K" || auth != "Bearer tok" {
		t.Errorf("submit: %+v body %q key %q auth %q", r, body, key, auth)
	}
	if _, err := c.Submit(ctx, raw, ""); err != nil || key != "" {
		t.Errorf("no key: %v %q", err, key)
	}

	if _, err := c.List(ctx, ListParams{Status: "approved", Limit: 10}); err != nil || query != "limit=10&status=approved" {
		t.Errorf("list: %v %q", err, query)
	}

	amount := dossier.Euros(3000) + 5
	st, err := c.Decide(ctx, "APP-1", "approve", &amount, "")
	if err != nil || st.Value.Status != "approved" {
		t.Fatal(err)
	}
	if method != "POST" || path != "/v1/applications/APP-1/decision" || body != `{"decision":"approve","amount":"3000.05"}` {
		t.Errorf("decide: %s %s %s", method, path, body)
	}
	if _, err := c.Recommend(ctx, "APP-1", "reject", nil, "<non> & non"); err != nil {
		t.Fatal(err)
	}
	if body != `{"recommendation":"reject","comment":"<non> & non"}` {
		t.Errorf("recommend body %s", body)
	}
	if _, err := c.Complements(ctx, "APP-1", []byte(`{"a":1}`), ""); err != nil || body != `{"dossier":{"a":1}}` {
		t.Errorf("complements: %v %s", err, body)
	}
	if _, err := c.Complements(ctx, "APP-1", []byte(`{"a":`), ""); err == nil {
		t.Error("invalid JSON dossier accepted")
	}
	if _, err := c.AuditVerify(ctx, "APP 1"); err != nil || path != "/v1/audit/verify" || query != "application_id=APP+1" {
		t.Errorf("audit: %v %s %s", err, path, query)
	}
}

func TestUnexpectedSuccessBody(t *testing.T) {
	c := server(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") })
	if _, err := c.Status(context.Background(), "APP-1"); err == nil || !strings.Contains(err.Error(), "unexpected answer") {
		t.Errorf("err = %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	base := s.URL
	s.Close()
	_, err := New(base, "tok").Embassies(context.Background())
	var u *UnreachableError
	if !errors.As(err, &u) || u.Unwrap() == nil {
		t.Fatalf("want *UnreachableError, got %T %v", err, err)
	}
	if !strings.Contains(err.Error(), "is the API running? expectct api / make run") {
		t.Errorf("no hint: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(base, "tok").Embassies(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestBadBaseURL(t *testing.T) {
	for _, base := range []string{"", "127.0.0.1:8080", "::"} {
		if _, err := New(base, "tok").Embassies(context.Background()); err == nil || !strings.Contains(err.Error(), "absolute") {
			t.Errorf("%q: %v", base, err)
		}
	}
}

// TestRetriesKeyedRequests: a request with an Idempotency-Key is sent again
// with the same key after a 5xx or a dropped connection, within the bounds
// of Retry; a request without a key, or refused with a 4xx, is sent once.
func TestRetriesKeyedRequests(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	answers := []int{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		status := http.StatusOK
		if len(answers) > 0 {
			status, answers = answers[0], answers[1:]
		}
		mu.Unlock()
		if status == 0 { // drop the connection without an answer
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"application_id":"APP-1","status":"under_review","title":"x"}`)
	}))
	t.Cleanup(s.Close)
	c := New(s.URL, "tok")
	c.Retry = Retry{Attempts: 3, Backoff: time.Millisecond}
	c.StepKey = "step-key"
	reset := func(a ...int) {
		mu.Lock()
		defer mu.Unlock()
		keys, answers = nil, a
	}
	sent := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), keys...)
	}
	ctx := context.Background()

	reset(503, 0)
	if r, err := c.Opinion(ctx, "APP-1", "favorable", "ok"); err != nil || r.Value.Status != "under_review" {
		t.Fatalf("step after a 503 and a dropped connection: %v", err)
	}
	if got := sent(); !slices.Equal(got, []string{"step-key", "step-key", "step-key"}) {
		t.Errorf("keys sent %q, want the step key three times", got)
	}

	reset(502, 504, 500)
	var p *Problem
	if _, err := c.Submit(ctx, []byte(`{}`), "sub-key"); !errors.As(err, &p) || p.Status != 500 {
		t.Errorf("after three 5xx: %v, want the last problem", err)
	}
	if got := sent(); len(got) != 3 || got[2] != "sub-key" {
		t.Errorf("keys sent %q, want the submission key three times", got)
	}

	reset(409)
	if _, err := c.Opinion(ctx, "APP-1", "favorable", "ok"); !errors.As(err, &p) || p.Status != 409 {
		t.Errorf("409: %v", err)
	}
	if n := len(sent()); n != 1 {
		t.Errorf("a 409 was sent %d times, want once", n)
	}

	c.StepKey = ""
	reset(503)
	if _, err := c.Opinion(ctx, "APP-1", "favorable", "ok"); !errors.As(err, &p) || p.Status != 503 {
		t.Errorf("503 without a key: %v", err)
	}
	if got := sent(); !slices.Equal(got, []string{""}) {
		t.Errorf("a step without a key was sent as %q, want once without a key", got)
	}
}

func TestStepAccepted(t *testing.T) {
	c := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"application_id":"APP-1","update_id":"decide:k","step":"decide","message":"accepted"}`)
	})
	r, err := c.Decide(context.Background(), "APP-1", "reject", nil, "non")
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != http.StatusAccepted || r.Accepted == nil || r.Accepted.ApplicationID != "APP-1" || r.Accepted.Step != "decide" || r.Value.Status != "" {
		t.Errorf("202 read as %+v (accepted %+v)", r, r.Accepted)
	}
}
