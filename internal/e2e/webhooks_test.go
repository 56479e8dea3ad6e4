package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"

	"github.com/daect/expectct/internal/codec"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
	"github.com/daect/expectct/internal/webhooks"
)

// receiver is a webhook receiver that refuses (500) until told to accept,
// and checks every request as a receiver must, with webhooks.Verify.
type receiver struct {
	t  *testing.T
	mu sync.Mutex
	// secret is the subscription's, known once it is created.
	secret   string
	accept   bool
	refused  int
	accepted []webhooks.Message
	ids      []string
	bad      []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := webhooks.Verify(rc.secret, r.Header, body, time.Now()); err != nil {
		rc.bad = append(rc.bad, err.Error()+": "+string(body))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if !rc.accept {
		rc.refused++
		http.Error(w, "receiver down for maintenance", http.StatusInternalServerError)
		return
	}
	var m webhooks.Message
	if err := json.Unmarshal(body, &m); err != nil || r.Header.Get("Content-Type") != "application/json" {
		rc.bad = append(rc.bad, "unreadable body: "+string(body))
	}
	rc.accepted = append(rc.accepted, m)
	rc.ids = append(rc.ids, r.Header.Get(webhooks.HeaderID))
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) refusals() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.refused
}

func (rc *receiver) received() ([]webhooks.Message, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.accepted), slices.Clone(rc.ids)
}

// A subscriber whose receiver refuses while an application goes from
// submission to approval loses nothing: once it accepts, it gets every event
// of the lifecycle, in order, each signed so that webhooks.Verify accepts
// it, and the deliveries show the refused attempts, then the successes.
// Subscriptions are the admin's (created with the CLI, the secret shown
// once), deliveries are the auditor's to read too, and a removal stops the
// deliverer. The stack seals Temporal payloads, as in production.
func TestWebhooksDeliveredInOrderAfterRefusals(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: calmRules(), Codec: testCodec(t, "k1")})
	admin, auditor := s.Token(testenv.Admin), s.Token(testenv.Auditor)
	rc := &receiver{t: t}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)

	// Refusals name the field and the rule; only an admin subscribes.
	r := apiCall(t, s, admin, "POST", "/v1/webhooks", map[string]any{"url": "http://hooks.example/expectct", "events": []string{"paid"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"events[0]","rule":"event"`) ||
		!strings.Contains(string(r.Body), `"field":"url","rule":"webhook_url"`) {
		t.Errorf("invalid subscription: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct {
		who          lifecycle.Actor
		method, path string
	}{
		{testenv.Auditor, "POST", "/v1/webhooks"},
		{testenv.Auditor, "GET", "/v1/webhooks"},
		{testenv.Auditor, "DELETE", "/v1/webhooks/WH-AAAAAAAAAAAAAAAA"},
		{testenv.Instructor, "GET", "/v1/webhooks/WH-AAAAAAAAAAAAAAAA/deliveries"},
	} {
		if r := apiCall(t, s, s.Token(c.who), c.method, c.path, map[string]any{"url": srv.URL}); r.Status != http.StatusForbidden {
			t.Errorf("%s %s as %s: %d, want 403: %s", c.method, c.path, c.who.Role, r.Status, r.Body)
		}
	}
	// The history does not show refusals: the attempts table does.
	var refused int
	if err := s.Store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM attempts
		WHERE action IN ('webhook_manage', 'webhook_deliveries') AND http_status = 403`).Scan(&refused); err != nil || refused != 4 {
		t.Errorf("refused webhook attempts recorded: %d (%v), want 4", refused, err)
	}

	adminCLI := cliFor(t, s, admin)
	out := mustSucceed(t, adminCLI("--output", "json", "webhook", "add", srv.URL, "--description", "tableau de bord régional"), "webhook add")
	var created webhooks.Created
	if err := json.Unmarshal([]byte(out.stdout), &created); err != nil {
		t.Fatalf("webhook add: %v\n%s", err, out)
	}
	if !webhooks.ValidID(created.ID) || !strings.HasPrefix(created.Secret, webhooks.SecretPrefix) || len(created.Events) != 0 ||
		created.CreatedBy != testenv.Admin.ID {
		t.Fatalf("created subscription: %s", out.stdout)
	}
	rc.mu.Lock()
	rc.secret = created.Secret
	rc.mu.Unlock()
	var listed []store.WebhookSubscription
	r = apiCall(t, s, admin, "GET", "/v1/webhooks", nil)
	r.JSON(t, &listed)
	if r.Status != http.StatusOK || len(listed) != 1 || listed[0].ID != created.ID || strings.Contains(string(r.Body), created.Secret) {
		t.Errorf("list of subscriptions (never the secret): %d %s", r.Status, r.Body)
	}

	// The application's whole first phase while the receiver refuses.
	id := submitAs(t, s, testenv.Applicant, testenv.ExampleDossier(t))
	fullPath(t, s, id)
	s.WaitSettled(id, wait)
	pollUntil(t, wait, "three refused deliveries", func() bool { return rc.refusals() >= 3 })
	rc.mu.Lock()
	rc.accept = true
	rc.mu.Unlock()

	journal := journalOf(t, s, id)
	pollUntil(t, wait, "every event delivered", func() bool { got, _ := rc.received(); return len(got) >= len(journal) })
	got, ids := rc.received()
	if len(got) != len(journal) {
		t.Fatalf("received %d messages, the journal has %d rows", len(got), len(journal))
	}
	for i, e := range journal {
		m := got[i]
		if m.Type != e.EventType || m.Data.ApplicationID != id || m.Data.Seq != e.Seq || m.Data.Event != e.EventType ||
			m.Data.Status != e.Status || m.Data.ActorRole != e.ActorRole || !m.Data.At.Equal(e.OccurredAt) || !m.Timestamp.Equal(e.OccurredAt) {
			t.Errorf("message %d: %+v, want journal row %d %s %s", i, m, e.Seq, e.EventType, e.Status)
		}
		if ids[i] != webhooks.MessageID(id, e.Seq) {
			t.Errorf("message %d: webhook-id %s, want %s", i, ids[i], webhooks.MessageID(id, e.Seq))
		}
	}
	if last := got[len(got)-1]; last.Type != lifecycle.EventApproved || last.Data.Status != string(lifecycle.StatusApproved) {
		t.Errorf("last message %+v, want the approval", last)
	}
	rc.mu.Lock()
	if len(rc.bad) > 0 {
		t.Errorf("requests the receiver could not verify: %v", rc.bad)
	}
	rc.mu.Unlock()

	// The attempts, as the auditor reads them: the first event refused at
	// each attempt, then delivered; every event delivered once.
	var page webhooks.Deliveries
	r = apiCall(t, s, auditor, "GET", "/v1/webhooks/"+created.ID+"/deliveries?limit=500&application_id="+id, nil)
	r.JSON(t, &page)
	if r.Status != http.StatusOK || page.NextBefore != 0 {
		t.Fatalf("deliveries: %d %s", r.Status, r.Body)
	}
	slices.Reverse(page.Items) // oldest first
	var first []string
	delivered := map[int]int{}
	for _, d := range page.Items {
		if d.Seq == 1 {
			first = append(first, d.Outcome)
		}
		if d.Outcome == store.WebhookDelivered {
			delivered[d.Seq]++
		}
		if d.Outcome == store.WebhookFailed && (d.HTTPStatus != http.StatusInternalServerError || !strings.Contains(d.Error, "receiver down")) {
			t.Errorf("failed attempt without the receiver's answer: %+v", d)
		}
		if d.Seq > 1 && d.Outcome != store.WebhookDelivered {
			t.Errorf("seq %d was attempted before seq 1 was delivered: %+v", d.Seq, d)
		}
	}
	if len(first) < 4 || first[len(first)-1] != store.WebhookDelivered ||
		slices.ContainsFunc(first[:len(first)-1], func(o string) bool { return o != store.WebhookFailed }) {
		t.Errorf("attempts at the first event: %v, want 3 or more failures then the delivery", first)
	}
	for _, e := range journal {
		if delivered[e.Seq] != 1 {
			t.Errorf("seq %d delivered %d times", e.Seq, delivered[e.Seq])
		}
	}
	// Paging: one attempt per page, the next page older.
	var one, older webhooks.Deliveries
	apiCall(t, s, auditor, "GET", "/v1/webhooks/"+created.ID+"/deliveries?limit=1", nil).JSON(t, &one)
	if len(one.Items) != 1 || one.NextBefore != one.Items[0].ID {
		t.Fatalf("first page of one: %+v", one)
	}
	apiCall(t, s, auditor, "GET", "/v1/webhooks/"+created.ID+"/deliveries?limit=1&before="+jsonNumber(one.NextBefore), nil).JSON(t, &older)
	if len(older.Items) != 1 || older.Items[0].ID >= one.Items[0].ID {
		t.Errorf("older page: %+v after %+v", older, one)
	}
	if r := apiCall(t, s, auditor, "GET", "/v1/webhooks/"+created.ID+"/deliveries?limit=0", nil); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), `"field":"limit","rule":"range"`) {
		t.Errorf("limit=0: %d %s", r.Status, r.Body)
	}
	mustContain(t, "webhook deliveries", mustSucceed(t, cliFor(t, s, auditor)("webhook", "deliveries", created.ID), "webhook deliveries").stdout,
		"delivered", "failed", "receiver down", id)

	// What the deliverer sends through Temporal is sealed like the rest.
	sealed := 0
	for _, ev := range testenv.WorkflowHistory(t, s.Temporal, webhooks.WorkflowID(created.ID)).GetEvents() {
		var payloads []*commonpb.Payload
		payloads = append(payloads, ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()...)
		payloads = append(payloads, ev.GetActivityTaskScheduledEventAttributes().GetInput().GetPayloads()...)
		payloads = append(payloads, ev.GetActivityTaskCompletedEventAttributes().GetResult().GetPayloads()...)
		for _, d := range ev.GetMarkerRecordedEventAttributes().GetDetails() { // the settings' local activity
			payloads = append(payloads, d.GetPayloads()...)
		}
		for _, p := range payloads {
			if !codec.IsSealed(p) {
				t.Errorf("event %d %s: a payload in clear", ev.GetEventId(), ev.GetEventType())
			}
			sealed++
		}
	}
	if sealed < 3 {
		t.Errorf("%d sealed payloads in the deliverer's history, want its input, its settings and its round's", sealed)
	}

	// Removed: disabled and kept, its deliverer ends.
	out = mustSucceed(t, adminCLI("webhook", "remove", created.ID), "webhook remove")
	mustContain(t, "webhook remove", out.stdout, created.ID, "removed")
	pollUntil(t, wait, "the deliverer ended", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d, err := s.Temporal.DescribeWorkflow(ctx, webhooks.WorkflowID(created.ID), "")
		return err == nil && d.RawResponse.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
	mustContain(t, "webhook list", mustSucceed(t, adminCLI("webhook", "list"), "webhook list").stdout, created.ID, "removed", "tableau de bord régional")
	if r := apiCall(t, s, admin, "DELETE", "/v1/webhooks/WH-AAAAAAAAAAAAAAAA", nil); r.Status != http.StatusNotFound {
		t.Errorf("removing an unknown subscription: %d %s", r.Status, r.Body)
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// A delivery refused for longer than the retry time is given up, recorded
// so, and the subscriber's next events go out in order; a subscription to
// some events gets those only.
func TestWebhookGivenUpAfterRetryTime(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: calmRules(), Webhooks: webhooks.Settings{RetryFor: 2 * time.Second}})
	admin := s.Token(testenv.Admin)
	var mu sync.Mutex
	secrets := map[string]string{}
	got := map[string][]webhooks.Message{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" { // a redirection is not followed: the event would go elsewhere
			http.Redirect(w, r, "/all", http.StatusTemporaryRedirect)
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhooks.Verify(secrets[r.URL.Path], r.Header, body, time.Now()); err != nil {
			t.Errorf("%s: %v", r.URL.Path, err)
		}
		var m webhooks.Message
		_ = json.Unmarshal(body, &m)
		if m.Data.Seq == 1 { // this receiver cannot take the submission
			http.Error(w, "unknown event", http.StatusUnprocessableEntity)
			return
		}
		got[r.URL.Path] = append(got[r.URL.Path], m)
	}))
	t.Cleanup(srv.Close)
	subscribe := func(path string, events ...string) string {
		var c webhooks.Created
		r := apiCall(t, s, admin, "POST", "/v1/webhooks", webhooks.Input{URL: srv.URL + path, Events: events})
		r.JSON(t, &c)
		if r.Status != http.StatusCreated {
			t.Fatalf("subscribe %s: %d %s", path, r.Status, r.Body)
		}
		mu.Lock()
		secrets[path] = c.Secret
		mu.Unlock()
		return c.ID
	}
	all, decisions := subscribe("/all"), subscribe("/decisions", lifecycle.EventApproved, lifecycle.EventRejected)
	moved := subscribe("/moved", lifecycle.EventApproved)

	id := submitAs(t, s, testenv.Applicant, testenv.ExampleDossier(t))
	fullPath(t, s, id)
	s.WaitSettled(id, wait)
	journal := journalOf(t, s, id)
	pollUntil(t, wait, "every event but the first delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["/all"]) >= len(journal)-1 && len(got["/decisions"]) >= 1
	})
	mu.Lock()
	var seqs []int
	for _, m := range got["/all"] {
		seqs = append(seqs, m.Data.Seq)
	}
	if len(seqs) != len(journal)-1 || !slices.IsSorted(seqs) || seqs[0] != 2 {
		t.Errorf("delivered to /all: seqs %v, want 2 to %d in order", seqs, len(journal))
	}
	if d := got["/decisions"]; len(d) != 1 || d[0].Type != lifecycle.EventApproved {
		t.Errorf("delivered to /decisions: %+v, want the approval only", d)
	}
	mu.Unlock()

	var page webhooks.Deliveries
	apiCall(t, s, admin, "GET", "/v1/webhooks/"+all+"/deliveries?limit=500", nil).JSON(t, &page)
	slices.Reverse(page.Items)
	var first []string
	for _, d := range page.Items {
		if d.Seq == 1 {
			first = append(first, d.Outcome)
			if d.Outcome == store.WebhookGivenUp && (d.HTTPStatus != 0 || !strings.Contains(d.Error, "EXPECTCT_WEBHOOK_RETRY_FOR")) {
				t.Errorf("given up attempt: %+v", d)
			}
		}
	}
	if len(first) < 2 || first[len(first)-1] != store.WebhookGivenUp || first[0] != store.WebhookFailed {
		t.Errorf("attempts at seq 1: %v, want failures then given_up", first)
	}
	apiCall(t, s, admin, "GET", "/v1/webhooks/"+decisions+"/deliveries", nil).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].EventType != lifecycle.EventApproved || page.Items[0].Outcome != store.WebhookDelivered {
		t.Errorf("deliveries of the decisions' subscription: %+v", page.Items)
	}

	pollUntil(t, wait, "the redirected delivery given up", func() bool {
		apiCall(t, s, admin, "GET", "/v1/webhooks/"+moved+"/deliveries", nil).JSON(t, &page)
		return len(page.Items) > 0 && page.Items[0].Outcome == store.WebhookGivenUp
	})
	for _, d := range page.Items[1:] {
		if d.Outcome != store.WebhookFailed || d.HTTPStatus != http.StatusTemporaryRedirect || d.EventType != lifecycle.EventApproved {
			t.Errorf("redirected delivery: %+v, want failed with 307", d)
		}
	}

	// A removal the deliverer finds by itself (no cancellation reached it)
	// completes it; that run is the deliverer's committed history.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := s.Store.DisableWebhook(ctx, all, testenv.Admin.ID); err != nil {
		t.Fatal(err)
	}
	var res any
	if err := s.Temporal.GetWorkflow(ctx, webhooks.WorkflowID(all), "").Get(ctx, &res); err != nil {
		t.Fatalf("the deliverer of a removed subscription: %v", err)
	}
	if testenv.WritingHistories() {
		testenv.WriteHistory(t, s.Temporal, webhooks.WorkflowID(all), webhooks.HistoryName)
	}
}
