// Package apiclient is a Go client of the expectct HTTP API: one method per
// endpoint, typed results, and RFC 9457 problem details turned into *Problem.
//
// Every method returns a *Response holding both the decoded value and the
// body exactly as the server sent it, so a caller can show either (the CLI's
// --output json prints the raw body).
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// DefaultTimeout bounds one request made with the client New builds.
const DefaultTimeout = 60 * time.Second

// MaxResponseBytes bounds the body read from the server.
const MaxResponseBytes = 64 << 20

// UserAgent is sent with every request.
const UserAgent = "expectct-cli"

// Client calls the expectct HTTP API at BaseURL with a bearer Token.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
	// StepKey, when set, is the Idempotency-Key of every step this client
	// sends. The server scopes a key to one step of one application, so a
	// single key can serve a whole command; a step sent again with it gets
	// the first answer instead of a 409.
	StepKey string
	// Retry is how a request carrying an Idempotency-Key is sent again
	// after a timeout, a connection error or a 5xx answer. Only such a
	// request is safe to repeat: the server answers a repeat as the first.
	// The zero value sends it once.
	Retry Retry
}

// Retry bounds the repeats of a request that is safe to repeat.
type Retry struct {
	// Attempts is how many times the request is sent at most, the first
	// included.
	Attempts int
	// Backoff is the wait before the first repeat, doubled before each next.
	Backoff time.Duration
}

// DefaultRetry is the Retry of the client New builds: four attempts within
// about 3.5 seconds of waiting, enough to ride out a restart of the API.
var DefaultRetry = Retry{Attempts: 4, Backoff: 500 * time.Millisecond}

// New returns a client of the API at base (e.g. http://127.0.0.1:8080).
func New(base, token string) *Client {
	return &Client{BaseURL: base, Token: token, HTTP: &http.Client{Timeout: DefaultTimeout}, Retry: DefaultRetry}
}

// Response is a decoded answer of the API.
type Response[T any] struct {
	// Value is the decoded body.
	Value T
	// StatusCode is the HTTP status (200, 201...).
	StatusCode int
	// Body is the body exactly as the server sent it.
	Body []byte
	// Accepted is set, and Value left empty, when a step answered 202: the
	// workflow accepted it but had not finished recording it when the API
	// stopped waiting. It will complete on its own.
	Accepted *StepAccepted
}

// StepAccepted is the answer to a step accepted but still being recorded.
type StepAccepted struct {
	ApplicationID string `json:"application_id"`
	UpdateID      string `json:"update_id"`
	Step          string `json:"step"`
	Message       string `json:"message"`
}

// SubmitResult is the answer to a submission.
type SubmitResult struct {
	ApplicationID string           `json:"application_id"`
	Status        lifecycle.Status `json:"status"`
	RulesVersion  string           `json:"rules_version"`
	Flags         []string         `json:"flags"`
	// Created is false when the idempotency key matched an earlier submission.
	Created bool `json:"created"`
}

// ListParams filters a listing; zero values are not sent.
type ListParams struct {
	Status  string
	Country string
	SIREN   string
	// Order is newest (the server's default), oldest or deadline.
	Order string
	// DeadlineWithinDays keeps the applications due within that many
	// days, when set.
	DeadlineWithinDays *int
	// Followed keeps the applications the caller follows.
	Followed bool
	Limit    int
	Cursor   string
}

// HistoryEntry is one line of an application's history: a workflow event,
// a journal row or a refused attempt.
type HistoryEntry struct {
	At      time.Time       `json:"at"`
	Source  string          `json:"source"`
	Step    string          `json:"step"`
	Actor   lifecycle.Actor `json:"actor"`
	Status  string          `json:"status"`
	Details map[string]any  `json:"details,omitempty"`
}

// History is the full history of an application, with one page of its
// refused attempts.
type History struct {
	ApplicationID string         `json:"application_id"`
	Entries       []HistoryEntry `json:"entries"`
	// NextAttemptsBefore, when set, asks for the older refused attempts.
	NextAttemptsBefore int64 `json:"next_attempts_before,omitempty"`
}

// AttemptsPage picks the refused attempts a history shows: the Limit
// newest (0: the API's default) older than the attempt Before (0: newest).
type AttemptsPage struct {
	Limit  int
	Before int64
}

// AuditReport is the result of a journal verification.
type AuditReport struct {
	OK      bool `json:"ok"`
	Checked int  `json:"checked"`
	// Checkpoints is how many signed checkpoints the journals were checked against.
	Checkpoints int                `json:"checkpoints"`
	Problems    []store.ChainBreak `json:"problems"`
}

// Problem is an error answer of the API (RFC 9457 problem details).
type Problem struct {
	Type   string               `json:"type,omitempty"`
	Title  string               `json:"title"`
	Status int                  `json:"status"`
	Detail string               `json:"detail,omitempty"`
	Errors []dossier.FieldError `json:"errors,omitempty"`
}

// Error is "<status> <title>: <detail>", then one line per field error with
// its French and English messages.
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", p.Status, p.Title)
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "\n  %s (%s): %s / %s", f.Field, f.Rule, f.MessageFR, f.MessageEN)
	}
	return b.String()
}

// UnreachableError is a request that got no HTTP answer at all.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the API at %s: %v (is the API running? expectct api / make run)", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Submit files a dossier. The bytes are sent as they are: the server
// validates them. A non-empty idempotencyKey makes a repeated call return
// the application the first one created (Created false, status 200).
func (c *Client) Submit(ctx context.Context, dossierJSON []byte, idempotencyKey string) (*Response[SubmitResult], error) {
	h := http.Header{}
	if idempotencyKey != "" {
		h.Set("Idempotency-Key", idempotencyKey)
	}
	return call[SubmitResult](ctx, c, http.MethodPost, "/v1/applications", nil, h, dossierJSON)
}

// Status returns the state of one application.
func (c *Client) Status(ctx context.Context, id string) (*Response[lifecycle.State], error) {
	return call[lifecycle.State](ctx, c, http.MethodGet, appPath(id, ""), nil, nil, nil)
}

// List returns one page of applications.
func (c *Client) List(ctx context.Context, p ListParams) (*Response[store.Page], error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": p.Status, "country": p.Country, "siren": p.SIREN, "order": p.Order, "cursor": p.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.DeadlineWithinDays != nil {
		q.Set("deadline_within_days", strconv.Itoa(*p.DeadlineWithinDays))
	}
	if p.Followed {
		q.Set("followed", "me")
	}
	return call[store.Page](ctx, c, http.MethodGet, "/v1/applications", q, nil, nil)
}

// Follow follows the application (on) or stops following it (off): each
// step recorded on a followed application is e-mailed to the caller.
func (c *Client) Follow(ctx context.Context, id string, on bool) (*Response[api.Following], error) {
	method := http.MethodDelete
	if on {
		method = http.MethodPut
	}
	return call[api.Following](ctx, c, method, "/v1/applications/"+url.PathEscape(id)+"/follow", nil, nil, nil)
}

// Opinion records the embassy's avis: favorable, unfavorable or reserved.
func (c *Client) Opinion(ctx context.Context, id, opinion, comment string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "opinion", struct {
		Opinion string `json:"opinion"`
		Comment string `json:"comment"`
	}{opinion, comment})
}

// RequestComplements sends the application back to the applicant.
func (c *Client) RequestComplements(ctx context.Context, id, message string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "complements-request", struct {
		Message string `json:"message"`
	}{message})
}

// Complements answers a request for complements with the amended dossier,
// sent as it is (it must be JSON; the server validates it).
func (c *Client) Complements(ctx context.Context, id string, dossierJSON []byte, comment string) (*Response[lifecycle.State], error) {
	if !json.Valid(dossierJSON) {
		return nil, errors.New("the amended dossier is not valid JSON")
	}
	return c.step(ctx, id, "complements", struct {
		Dossier json.RawMessage `json:"dossier"`
		Comment string          `json:"comment,omitempty"`
	}{dossierJSON, comment})
}

// Recommend records the instructor's recommendation (approve or reject);
// amount is the recommended grant, nil when rejecting.
func (c *Client) Recommend(ctx context.Context, id, recommendation string, amount *dossier.Money, comment string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "recommendation", struct {
		Recommendation string `json:"recommendation"`
		Amount         string `json:"amount,omitempty"`
		Comment        string `json:"comment"`
	}{recommendation, amountString(amount), comment})
}

// Decide records the funding decision (approve or reject); amount is the
// granted amount, nil when rejecting; motivation is mandatory for a refusal.
func (c *Client) Decide(ctx context.Context, id, decision string, amount *dossier.Money, motivation string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "decision", struct {
		Decision   string `json:"decision"`
		Amount     string `json:"amount,omitempty"`
		Motivation string `json:"motivation,omitempty"`
	}{decision, amountString(amount), motivation})
}

// Withdraw withdraws the application.
func (c *Client) Withdraw(ctx context.Context, id, reason string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "withdrawal", struct {
		Reason string `json:"reason"`
	}{reason})
}

// History returns the full history of an application, with one page of
// its refused attempts.
func (c *Client) History(ctx context.Context, id string, page AttemptsPage) (*Response[History], error) {
	q := url.Values{}
	if page.Limit > 0 {
		q.Set("attempts_limit", strconv.Itoa(page.Limit))
	}
	if page.Before > 0 {
		q.Set("attempts_before", strconv.FormatInt(page.Before, 10))
	}
	return call[History](ctx, c, http.MethodGet, appPath(id, "history"), q, nil, nil)
}

// AuditVerify checks the hash chain of the journal: of one application, or
// of all when applicationID is empty.
func (c *Client) AuditVerify(ctx context.Context, applicationID string) (*Response[AuditReport], error) {
	var q url.Values
	if applicationID != "" {
		q = url.Values{"application_id": {applicationID}}
	}
	return call[AuditReport](ctx, c, http.MethodGet, "/v1/audit/verify", q, nil, nil)
}

// AuditVerifyAgainst verifies like AuditVerify, also against checkpoints
// exported earlier (the JSON lines of `expectct audit checkpoint export`).
func (c *Client) AuditVerifyAgainst(ctx context.Context, applicationID string, exported []byte) (*Response[AuditReport], error) {
	var q url.Values
	if applicationID != "" {
		q = url.Values{"application_id": {applicationID}}
	}
	return call[AuditReport](ctx, c, http.MethodPost, "/v1/audit/verify", q, http.Header{"Content-Type": {"application/x-ndjson"}}, exported)
}

// Checkpoints lists every signed checkpoint, oldest first.
func (c *Client) Checkpoints(ctx context.Context) (*Response[[]store.Checkpoint], error) {
	return call[[]store.Checkpoint](ctx, c, http.MethodGet, "/v1/audit/checkpoints", nil, nil, nil)
}

// Embassies lists the embassy directory.
func (c *Client) Embassies(ctx context.Context) (*Response[[]store.Embassy], error) {
	return call[[]store.Embassy](ctx, c, http.MethodGet, "/v1/embassies", nil, nil, nil)
}

// SetEmbassy creates or replaces the contact of a country.
func (c *Client) SetEmbassy(ctx context.Context, country, name string, emails []string) (*Response[store.Embassy], error) {
	body, err := encode(struct {
		Name   string   `json:"name"`
		Emails []string `json:"emails"`
	}{name, emails})
	if err != nil {
		return nil, err
	}
	return call[store.Embassy](ctx, c, http.MethodPut, "/v1/embassies/"+url.PathEscape(country), nil, nil, body)
}

func (c *Client) step(ctx context.Context, id, step string, payload any) (*Response[lifecycle.State], error) {
	body, err := encode(payload)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	if c.StepKey != "" {
		h.Set("Idempotency-Key", c.StepKey)
	}
	return call[lifecycle.State](ctx, c, http.MethodPost, appPath(id, step), nil, h, body)
}

func appPath(id, sub string) string {
	p := "/v1/applications/" + url.PathEscape(id)
	if sub != "" {
		p += "/" + sub
	}
	return p
}

func amountString(m *dossier.Money) string {
	if m == nil {
		return ""
	}
	return m.String()
}

// encode marshals without HTML escaping, so comments travel as typed.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// call makes a request, repeated as c.Retry allows when it carries an
// Idempotency-Key, and decodes a 2xx answer into T (a 202 into Accepted);
// any other status becomes a *Problem.
func call[T any](ctx context.Context, c *Client, method, path string, q url.Values, h http.Header, body []byte) (*Response[T], error) {
	u, err := c.url(path, q)
	if err != nil {
		return nil, err
	}
	retry := Retry{Attempts: 1}
	if h.Get("Idempotency-Key") != "" {
		retry = c.Retry
	}
	wait := retry.Backoff
	var status int
	var ctype string
	var raw []byte
	for attempt := 1; ; attempt++ {
		status, ctype, raw, err = c.send(ctx, method, u, h, body)
		if err == nil || attempt >= retry.Attempts || !transient(err) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
	if err != nil {
		return nil, err
	}
	out := &Response[T]{StatusCode: status, Body: raw}
	var v any = &out.Value
	if status == http.StatusAccepted {
		out.Accepted = &StepAccepted{}
		v = out.Accepted
	}
	// Numbers stay as written (amounts such as 2999.50), never floats.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("%s %s: unexpected answer (%d, %s): %w", method, path, status, ctype, err)
	}
	return out, nil
}

// transient tells whether a failed request may succeed if sent again: no
// answer at all (connection refused or reset, timeout) or a server error.
func transient(err error) bool {
	var unreachable *UnreachableError
	var p *Problem
	return errors.As(err, &unreachable) || errors.As(err, &p) && p.Status >= 500
}

// send makes one request and returns the status, content type and body of
// a 2xx answer; any other status becomes a *Problem.
func (c *Client) send(ctx context.Context, method, u string, h http.Header, body []byte) (int, string, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, "", nil, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	status, header, raw, err := c.do(req)
	return status, header.Get("Content-Type"), raw, err
}

// do sends a request and returns the status, headers and body of a 2xx
// answer; any other status becomes a *Problem.
func (c *Client) do(req *http.Request) (int, http.Header, []byte, error) {
	ctx, method := req.Context(), req.Method
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		return 0, nil, nil, &UnreachableError{URL: c.BaseURL, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		// A timeout or a reset while the answer came: as good as no answer.
		return 0, nil, nil, &UnreachableError{URL: c.BaseURL, Err: fmt.Errorf("%s %s: the answer was cut short: %w", method, req.URL.Path, err)}
	}
	if len(raw) > MaxResponseBytes {
		return 0, nil, nil, fmt.Errorf("%s %s: answer larger than %d bytes", method, req.URL.Path, MaxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, nil, nil, problemOf(resp, raw)
	}
	return resp.StatusCode, resp.Header, raw, nil
}

func (c *Client) url(path string, q url.Values) (string, error) {
	base := strings.TrimRight(c.BaseURL, "/")
	b, err := url.Parse(base)
	if err != nil || b.Scheme == "" || b.Host == "" {
		return "", fmt.Errorf("API URL %q: an absolute http(s) URL expected, e.g. http://127.0.0.1:8080", c.BaseURL)
	}
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u, nil
}

// problemOf reads an error answer: problem+json when the server sent it,
// else the status and the body text.
func problemOf(resp *http.Response, raw []byte) *Problem {
	p := &Problem{}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		if err := json.Unmarshal(raw, p); err != nil || (p.Title == "" && p.Detail == "" && len(p.Errors) == 0) {
			p = &Problem{}
		}
	}
	if p.Title == "" && p.Detail == "" && len(p.Errors) == 0 {
		p.Detail = bodyText(raw)
	}
	if p.Status == 0 {
		p.Status = resp.StatusCode
	}
	if p.Title == "" {
		p.Title = http.StatusText(resp.StatusCode)
	}
	return p
}

// bodyText is the start of a non-problem error body, on one line.
func bodyText(raw []byte) string {
	const max = 500
	if !utf8.Valid(raw) {
		return fmt.Sprintf("(%d bytes of non-text body)", len(raw))
	}
	s := strings.Join(strings.Fields(string(raw)), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Me says who the token speaks for and in which roles.
func (c *Client) Me(ctx context.Context) (*Response[identity.WhoAmI], error) {
	return call[identity.WhoAmI](ctx, c, http.MethodGet, "/v1/me", nil, nil, nil)
}

// People lists the people directory.
func (c *Client) People(ctx context.Context) (*Response[[]store.Person], error) {
	return call[[]store.Person](ctx, c, http.MethodGet, "/v1/people", nil, nil, nil)
}

// Person returns one person of the directory with their roles.
func (c *Client) Person(ctx context.Context, id string) (*Response[store.Person], error) {
	return call[store.Person](ctx, c, http.MethodGet, "/v1/people/"+url.PathEscape(id), nil, nil, nil)
}

// Grant gives a person a role with its scope.
func (c *Client) Grant(ctx context.Context, id string, in identity.GrantInput) (*Response[store.Person], error) {
	body, err := encode(in)
	if err != nil {
		return nil, err
	}
	return call[store.Person](ctx, c, http.MethodPost, "/v1/people/"+url.PathEscape(id)+"/grants", nil, nil, body)
}

// Revoke removes a person's role.
func (c *Client) Revoke(ctx context.Context, id string, in identity.RevokeInput) (*Response[store.Person], error) {
	body, err := encode(in)
	if err != nil {
		return nil, err
	}
	return call[store.Person](ctx, c, http.MethodPost, "/v1/people/"+url.PathEscape(id)+"/revocations", nil, nil, body)
}

// DirectoryJournal returns the grants and revocations, of one person when
// person is not empty.
func (c *Client) DirectoryJournal(ctx context.Context, person string) (*Response[[]store.DirectoryEntry], error) {
	var q url.Values
	if person != "" {
		q = url.Values{"person": {person}}
	}
	return call[[]store.DirectoryEntry](ctx, c, http.MethodGet, "/v1/directory/journal", q, nil, nil)
}

// The second phase's steps; each path is the step's URL under the
// application (renunciation, report, report-review, …).

// Renounce gives up an approved mission before it starts.
func (c *Client) Renounce(ctx context.Context, id, reason string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "renunciation", struct {
		Reason string `json:"reason"`
	}{reason})
}

// DeclareChanges declares changed dates or agents before the mission.
func (c *Client) DeclareChanges(ctx context.Context, id string, changes lifecycle.MissionChanges, reason string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "changes", struct {
		Changes lifecycle.MissionChanges `json:"changes"`
		Reason  string                   `json:"reason"`
	}{changes, reason})
}

// ReviewChanges acknowledges or refuses (with a reason) declared changes.
func (c *Client) ReviewChanges(ctx context.Context, id, outcome, reason string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "changes-review", struct {
		Outcome string `json:"outcome"`
		Reason  string `json:"reason,omitempty"`
	}{outcome, reason})
}

// Report files the mission report.
// Its attachments are named by their IDs (UploadAttachment's answers).
func (c *Client) Report(ctx context.Context, id string, report lifecycle.Report) (*Response[lifecycle.State], error) {
	type body struct {
		Activities  string                `json:"activities"`
		Results     string                `json:"results"`
		FollowUp    string                `json:"follow_up"`
		Agents      []string              `json:"agents"`
		Costs       lifecycle.ActualCosts `json:"costs"`
		Attachments []string              `json:"attachments,omitempty"`
	}
	b := body{Activities: report.Activities, Results: report.Results, FollowUp: report.FollowUp, Agents: report.Agents, Costs: report.Costs}
	for _, a := range report.Attachments {
		b.Attachments = append(b.Attachments, a.ID)
	}
	return c.step(ctx, id, "report", struct {
		Report body `json:"report"`
	}{b})
}

// ReviewReport accepts the report (payable nil: the most the report allows)
// or asks for changes (message).
func (c *Client) ReviewReport(ctx context.Context, id, outcome string, payable *dossier.Money, motivation, message string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "report-review", struct {
		Outcome    string `json:"outcome"`
		Payable    string `json:"payable,omitempty"`
		Motivation string `json:"motivation,omitempty"`
		Message    string `json:"message,omitempty"`
	}{outcome, amountString(payable), motivation, message})
}

// ExtendReport moves the report's due date to the end of until (YYYY-MM-DD).
func (c *Client) ExtendReport(ctx context.Context, id, until, reason string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "report-deadline", struct {
		Until  string `json:"until"`
		Reason string `json:"reason"`
	}{until, reason})
}

// CancelGrant cancels the grant of a report that never came.
func (c *Client) CancelGrant(ctx context.Context, id, motivation string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "cancellation", struct {
		Motivation string `json:"motivation"`
	}{motivation})
}

// OrderPayment orders the payment of the payable amount.
func (c *Client) OrderPayment(ctx context.Context, id, comment string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "payment-order", struct {
		Comment string `json:"comment,omitempty"`
	}{comment})
}

// ConfirmPayment records the payment's accounting reference and date
// (YYYY-MM-DD), which closes the application.
func (c *Client) ConfirmPayment(ctx context.Context, id, reference, paidOn string) (*Response[lifecycle.State], error) {
	return c.step(ctx, id, "payment-confirmation", struct {
		Reference string `json:"reference"`
		PaidOn    string `json:"paid_on"`
	}{reference, paidOn})
}
