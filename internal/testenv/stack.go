package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/daect/expectct/activities"
	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/codec"
	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/letters"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/outbox"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/webhooks"
	"github.com/daect/expectct/worker"
	"github.com/daect/expectct/workflows"
)

// Secretariat is the DAECT secretariat address the stack's worker writes to.
const Secretariat = "secretariat.test@diplomatie.gouv.fr"

// PublicURL is the API's public address the test stacks' letters print.
const PublicURL = "https://expe-ct.test"

// TemporalUIOrigin is the Temporal Web UI origin test stacks let call their
// codec endpoint.
const TemporalUIOrigin = "http://temporal-ui.test:8233"

// Stack is the whole system for one test: its own database, task queue,
// Mailpit, an in-process worker and the API on an httptest server, against
// the package's shared Temporal dev server (or one given in StackOptions).
type Stack struct {
	T         testing.TB
	Store     *store.Store
	DBURL     string
	Temporal  client.Client
	Mailpit   *Mailpit
	Worker    sdkworker.Worker
	API       *httptest.Server
	Server    *api.Server
	Rules     rules.Rules
	TaskQueue string
	// OIDC is the provider the stack's people sign in with.
	OIDC *devstack.OIDCProvider

	grantsMu sync.Mutex
	granted  map[string]bool

	checkpoints *checkpoint.Key
	webhooks    webhooks.Settings
}

// Checkpoint runs the checkpoint workflow once on the stack's worker, as
// its schedule does at each interval, and returns what it did.
func (s *Stack) Checkpoint() lifecycle.CheckpointTaken {
	s.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "checkpoint-now-" + randomHex(6), TaskQueue: s.TaskQueue},
		workflows.CheckpointWorkflowName)
	if err != nil {
		s.T.Fatalf("start a checkpoint: %v", err)
	}
	var taken lifecycle.CheckpointTaken
	if err := run.Get(ctx, &taken); err != nil {
		s.T.Fatalf("checkpoint: %v", err)
	}
	return taken
}

// StackOptions adjust a stack.
type StackOptions struct {
	// Rules default to the embedded ones with timers of seconds.
	Rules *rules.Rules
	// NoWorker leaves the worker to the test (a child process, say).
	NoWorker bool
	// Mailpit sets how the stack's Mailpit runs.
	Mailpit MailpitOptions
	// Codec, when set, seals every payload the stack's clients send.
	Codec *codec.Codec
	// RateLimits of the API; the zero value, no limit, unless a test opts in.
	RateLimits api.RateLimits
	// Log receives the API's log; nil discards it.
	Log *slog.Logger
	// Checkpoints, when set, is the key the stack's worker signs
	// checkpoints with (its schedule created, first run at once) and the
	// one its API checks them with.
	Checkpoints *checkpoint.Key
	// Webhooks are the webhook deliverers' timings; zero fields take
	// FastWebhooks'.
	Webhooks webhooks.Settings
}

// FastWebhooks are webhook timings short enough for end-to-end tests: a
// failed delivery is retried after 200 ms, then at most every second.
var FastWebhooks = webhooks.Settings{RetryFor: time.Minute, Backoff: 200 * time.Millisecond, MaxBackoff: time.Second,
	IdleWait: 5 * time.Second, Poll: 100 * time.Millisecond, Timeout: 5 * time.Second}

// FastRules are the default rules with timers short enough for end-to-end tests.
func FastRules() rules.Rules {
	r := rules.Default()
	r.Version = "test-fast"
	r.Timers.EmbassyReminder = rules.Duration(2 * time.Second)
	r.Timers.EmbassyDeadline = rules.Duration(4 * time.Second)
	r.Timers.ComplementsDeadline = rules.Duration(3 * time.Second)
	r.Timers.DecisionReminder = rules.Duration(time.Hour)
	return r
}

// NewStack starts a stack; everything stops when the test ends.
func NewStack(t testing.TB, opts StackOptions) *Stack {
	t.Helper()
	return NewStackOn(t, opts, Servers{})
}

// StartWorker runs an in-process worker on the stack's task queue, with its
// outbox relay, as `expectct worker` does.
func (s *Stack) StartWorker() sdkworker.Worker {
	s.T.Helper()
	sender, err := mail.NewSender(s.Mailpit.SMTPConfig())
	if err != nil {
		s.T.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	acts := &activities.Activities{Store: s.Store, Secretariat: Secretariat, Log: quiet}
	if s.checkpoints != nil {
		acts.Checkpoint = s.checkpoints
	}
	hooks := &webhooks.Activities{Store: s.Store, Settings: s.webhooks, Log: quiet}
	w := worker.New(s.Temporal, s.TaskQueue, acts, hooks)
	if err := w.Start(); err != nil {
		s.T.Fatalf("start worker: %v", err)
	}
	s.T.Cleanup(w.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := webhooks.Ensure(ctx, s.Temporal, s.Store, s.TaskQueue); err != nil {
		s.T.Fatal(err)
	}
	if s.checkpoints != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := worker.EnsureCheckpointSchedule(ctx, s.Temporal, s.TaskQueue, time.Hour); err != nil {
			s.T.Fatal(err)
		}
		s.T.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = s.Temporal.ScheduleClient().GetHandle(ctx, worker.CheckpointScheduleID(s.TaskQueue)).Delete(ctx)
		})
	}
	// A short lease: a row whose outcome could not be recorded (the database
	// cut by a fault test) is taken up again in seconds, not minutes.
	s.StartRelay(&outbox.Relay{Store: s.Store, Mailer: sender, Log: quiet, Poll: 100 * time.Millisecond, Lease: 5 * time.Second,
		Letters: &letters.Source{Store: s.Store, PublicURL: PublicURL}})
	return w
}

// StartRelay runs an outbox relay until the test ends.
func (s *Stack) StartRelay(r *outbox.Relay) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	s.T.Cleanup(func() { cancel(); <-done })
}

// Actors used across tests. The applicant's SIREN is the example dossier's.
var (
	Applicant       = lifecycle.Actor{ID: "claire.martin", Role: lifecycle.RoleApplicant, SIREN: "214401093"}
	OtherApplicant  = lifecycle.Actor{ID: "jean.dupont", Role: lifecycle.RoleApplicant, SIREN: "217500016"}
	EmbassySN       = lifecycle.Actor{ID: "scac.dakar", Role: lifecycle.RoleEmbassy, Countries: []string{"SN"}}
	EmbassyBR       = lifecycle.Actor{ID: "scac.brasilia", Role: lifecycle.RoleEmbassy, Countries: []string{"BR"}}
	Instructor      = lifecycle.Actor{ID: "instructeur.un", Role: lifecycle.RoleInstructor}
	Decider         = lifecycle.Actor{ID: "delegue.un", Role: lifecycle.RoleDecider}
	Auditor         = lifecycle.Actor{ID: "auditeur.un", Role: lifecycle.RoleAuditor}
	Finance         = lifecycle.Actor{ID: "comptable.un", Role: lifecycle.RoleFinance}
	Admin           = lifecycle.Actor{ID: "admin.un", Role: lifecycle.RoleAdmin}
	InstructorAsDec = lifecycle.Actor{ID: "instructeur.un", Role: lifecycle.RoleDecider}
)

// Token is the ID token of the person of the actor's ID, signed in on the
// stack's provider, after the directory has granted them the actor's role.
func (s *Stack) Token(a lifecycle.Actor) string {
	s.T.Helper()
	s.Grant(a)
	return SignIn(s.T, s.OIDC, a.ID)
}

// Response is an API answer.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Do sends a request to the API as the actor (no token when actor is nil).
// body may be []byte, string or any value to encode as JSON.
func (s *Stack) Do(actor *lifecycle.Actor, method, path string, body any, headers ...string) Response {
	s.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.T.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.API.URL+path, rd)
	if err != nil {
		s.T.Fatal(err)
	}
	if actor != nil {
		req.Header.Set("Authorization", "Bearer "+s.Token(*actor))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Body: raw, Header: resp.Header}
}

// ExampleDossier returns examples/dossier.json.
func ExampleDossier(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(t), "examples", "dossier.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Submit submits the example dossier as the applicant and returns its ID.
func (s *Stack) Submit(dossierJSON []byte) string {
	s.T.Helper()
	r := s.Do(&Applicant, "POST", "/v1/applications", dossierJSON, "Idempotency-Key", randomHex(8))
	if r.Status != http.StatusCreated {
		s.T.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	var res api.SubmitResult
	r.JSON(s.T, &res)
	return res.ApplicationID
}

// State reads an application's state through the API, as an instructor.
func (s *Stack) State(id string) lifecycle.State {
	s.T.Helper()
	r := s.Do(&Instructor, "GET", "/v1/applications/"+id, nil)
	if r.Status != http.StatusOK {
		s.T.Fatalf("read %s: %d %s", id, r.Status, r.Body)
	}
	var st lifecycle.State
	r.JSON(s.T, &st)
	return st
}

// WaitStatus polls until the application reaches the status.
func (s *Stack) WaitStatus(id string, want lifecycle.Status, timeout time.Duration) lifecycle.State {
	s.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := s.State(id)
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			s.T.Fatalf("%s is %s after %v, want %s", id, st.Status, timeout, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitClosed waits for the workflow to complete and returns its final state,
// as the read model holds it (the workflow's result is its last transition's
// number and status, which must agree).
func (s *Stack) WaitClosed(id string, timeout time.Duration) lifecycle.State {
	s.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var res lifecycle.StepResult
	if err := s.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		s.T.Fatalf("workflow %s: %v", id, err)
	}
	st, err := s.Store.ApplicationState(ctx, id)
	if err != nil {
		s.T.Fatalf("read model of %s: %v", id, err)
	}
	if st.Status != res.Status || len(st.Steps) != res.Seq || st.Steps[len(st.Steps)-1].Seq != res.Seq {
		s.T.Fatalf("%s: the workflow ended at seq %d %s, the read model holds %d steps, status %s", id, res.Seq, res.Status, len(st.Steps), st.Status)
	}
	return st
}

// WaitSettled waits until the workflow has closed or waits with nothing
// pending (an approved application waits for its mission), and returns the
// state the read model holds.
func (s *Stack) WaitSettled(id string, timeout time.Duration) lifecycle.State {
	s.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := devstack.WaitSettled(ctx, s.Temporal, id); err != nil {
		s.T.Fatalf("workflow %s: %v", id, err)
	}
	st, err := s.Store.ApplicationState(ctx, id)
	if err != nil {
		s.T.Fatalf("read model of %s: %v", id, err)
	}
	return st
}

// Journal returns the application's journal event types in order.
func (s *Stack) Journal(id string) []string {
	s.T.Helper()
	entries, err := s.Store.Journal(context.Background(), id)
	if err != nil {
		s.T.Fatal(err)
	}
	var events []string
	for _, e := range entries {
		events = append(events, e.EventType)
	}
	return events
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
