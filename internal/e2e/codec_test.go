package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/daect/expectct/internal/audit"
	"github.com/daect/expectct/internal/codec"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
	"github.com/daect/expectct/worker"
	"github.com/daect/expectct/workflows"
)

// TestSealedPayloads runs an application with the payload codec on. What
// Temporal stores holds no personal data in clear; a step forged with a
// plain Temporal client (as with `temporal workflow update execute`) is
// refused and journals nothing; a plain client cannot read the status
// query; the API's timeline still reads the sealed history.
func TestSealedPayloads(t *testing.T) {
	pc, err := codec.Parse("test-1=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	s := testenv.NewStack(t, testenv.StackOptions{Rules: calmRules(), Codec: pc})
	f := &flow{t: t, s: s, id: s.Submit(testenv.ExampleDossier(t))}
	f.mails(3)
	f.favorable(testenv.EmbassySN)

	plain := testenv.Client(t, testenv.Temporal(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ghost := lifecycle.Actor{ID: "ghost", Role: lifecycle.RoleInstructor}
	h, err := plain.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: f.id, UpdateName: lifecycle.UpdateRecommend,
		Args:         []any{lifecycle.RecommendInput{Actor: ghost, Recommendation: "approve", Amount: dossier.Euros(3000), Comment: "forgé"}},
		WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err == nil {
		t.Fatal("an update forged without the codec was accepted")
	}
	if j := s.Journal(f.id); slices.Contains(j, lifecycle.EventRecommended) {
		t.Fatalf("the forged step reached the journal: %v", j)
	}
	if v, err := plain.QueryWorkflow(ctx, f.id, "", lifecycle.QueryStatus); err == nil {
		var st lifecycle.State
		if err := v.Get(&st); err == nil {
			t.Fatalf("a plain client read the status query: %s %+v", st.Status, st.Dossier.Contact)
		}
	}

	f.grant()
	f.renounce()
	// Every payload Temporal holds is sealed (search attributes, status and
	// country only, are not payloads of ours).
	raw := testenv.WorkflowHistory(t, plain, f.id)
	payloads, clear := 0, 0
	err = proxy.VisitPayloads(ctx, raw, proxy.VisitPayloadsOptions{SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			for _, p := range ps {
				payloads++
				if !codec.IsSealed(p) {
					clear++
					t.Errorf("payload in clear in Temporal's history: %s", p.GetData())
				}
			}
			return ps, nil
		}})
	if err != nil || payloads == 0 || clear != 0 {
		t.Fatalf("%d payloads in the history, %d in clear (%v)", payloads, clear, err)
	}
	r := s.Do(&testenv.Auditor, "GET", "/v1/applications/"+f.id+"/history", nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Partenariat actif") || !strings.Contains(string(r.Body), lifecycle.EventApproved) {
		t.Fatalf("timeline through the API: %d %s", r.Status, r.Body)
	}
	if r := s.Do(&testenv.Auditor, "GET", "/v1/audit/verify?application_id="+f.id, nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"ok":true`) {
		t.Fatalf("verify of a sealed application: %d %s", r.Status, r.Body)
	}
	codecServer(t, s, raw.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads())
}

// codecServer: the Temporal Web UI's codec endpoint opens sealed payloads
// for an auditor, from the UI's origin only, never for another role or
// without a token, refuses what our keys did not seal, and has no /encode.
func codecServer(t *testing.T, s *testenv.Stack, sealed []*commonpb.Payload) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	if err != nil || len(sealed) == 0 {
		t.Fatalf("sealed start input: %d payloads, %v", len(sealed), err)
	}
	const path = "/v1/codec/decode"
	ui := []string{"Origin", testenv.TemporalUIOrigin, "X-Namespace", "default"}
	r := apiCall(t, s, s.Token(testenv.Auditor), "POST", path, body, ui...)
	var opened commonpb.Payloads
	if r.Status != http.StatusOK || protojson.Unmarshal(r.Body, &opened) != nil || len(opened.Payloads) != len(sealed) {
		t.Fatalf("decode as auditor: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(string(opened.Payloads[0].GetData()), "Claire Martin") || string(opened.Payloads[0].GetMetadata()["encoding"]) != "json/plain" {
		t.Errorf("decoded payload: %s %v", opened.Payloads[0].GetData(), opened.Payloads[0].GetMetadata())
	}
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != testenv.TemporalUIOrigin {
		t.Errorf("Access-Control-Allow-Origin %q, want the UI's origin", got)
	}
	if r := apiCall(t, s, s.Token(testenv.Instructor), "POST", path, body, ui...); r.Status != http.StatusForbidden {
		t.Errorf("decode as instructor: %d, want 403", r.Status)
	}
	if r := apiCall(t, s, "", "POST", path, body, ui...); r.Status != http.StatusUnauthorized {
		t.Errorf("decode without a token: %d, want 401", r.Status)
	}
	forged, _ := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte(codec.EncodingSealed), "expectct-key-id": []byte("test-1")}, Data: []byte("not sealed by us")}}})
	if r := apiCall(t, s, s.Token(testenv.Auditor), "POST", path, forged, ui...); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("decode of a forged payload: %d, want 422: %s", r.Status, r.Body)
	}
	if r := apiCall(t, s, s.Token(testenv.Admin), "POST", "/v1/codec/encode", body, ui...); r.Status != http.StatusNotFound {
		t.Errorf("encode: %d, want 404 (the UI may read, never seal)", r.Status)
	}
	// The browser's preflight: allowed for the UI's origin only.
	pre := apiCall(t, s, "", "OPTIONS", path, nil, "Origin", testenv.TemporalUIOrigin,
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type,x-namespace")
	if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != testenv.TemporalUIOrigin ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight from the UI: %d %v", pre.Status, pre.Header)
	}
	other := apiCall(t, s, "", "OPTIONS", path, nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if other.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin allowed: %v", other.Header)
	}
}

// A workflow started with a plain Temporal client (a forged submission,
// payloads not sealed with our keys) never runs: the worker cannot open its
// input and the execution fails at once; nothing is journaled,
// read-modelled or mailed.
func TestForgedStartIsRefused(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: calmRules(), Codec: testCodec(t, "test-1")})
	plain := testenv.Client(t, testenv.Temporal(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var d dossier.Dossier
	if err := json.Unmarshal(testenv.ExampleDossier(t), &d); err != nil {
		t.Fatal(err)
	}
	id := "EXP-FORGEDSTART" + strings.ToUpper(s.TaskQueue[len(s.TaskQueue)-5:])
	if _, err := plain.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.TaskQueue}, workflows.WorkflowName,
		lifecycle.StartInput{ApplicationID: id, Submitter: testenv.Applicant, Dossier: d, Rules: s.Rules}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plain.TerminateWorkflow(context.Background(), id, "", "test over") })
	for {
		if ctx.Err() != nil {
			var types []string
			for _, e := range testenv.WorkflowHistory(t, plain, id).Events {
				types = append(types, e.GetEventType().String())
			}
			t.Fatalf("the forged workflow did not fail: %v", types)
		}
		if slices.ContainsFunc(testenv.WorkflowHistory(t, plain, id).Events, func(e *historypb.HistoryEvent) bool {
			return e.GetEventType() == enums.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
		}) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if j := s.Journal(id); len(j) != 0 {
		t.Errorf("a forged start was journaled: %v", j)
	}
	var rows int
	if err := s.Store.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM applications WHERE id = $1) + (SELECT count(*) FROM outbox WHERE application_id = $1)`, id).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("a forged start left %d rows in the read model and the outbox", rows)
	}
}

// Keys rotate: an application sealed under the old key is read (the audit
// timeline, through the codec) and replayed by a worker whose current key is
// the new one, as long as the old key is kept after it.
func TestCodecKeyRotation(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: calmRules(), Codec: testCodec(t, "old-1")})
	f := &flow{t: t, s: s, id: s.Submit(testenv.ExampleDossier(t))}
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	f.grant()
	f.renounce()

	rotated := testCodec(t, "new-2", "old-1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tl, err := audit.History(ctx, s.Temporal, rotated, s.Store, f.id)
	if err != nil || len(tl.Entries) == 0 {
		t.Fatalf("timeline with the rotated keys: %d entries, %v", len(tl.Entries), err)
	}
	replayer, err := sdkworker.NewWorkflowReplayerWithOptions(sdkworker.WorkflowReplayerOptions{DataConverter: codec.DataConverter(rotated)})
	if err != nil {
		t.Fatal(err)
	}
	worker.Register(replayer)
	if err := replayer.ReplayWorkflowHistory(testenv.QuietLogger(), testenv.WorkflowHistory(t, s.Temporal, f.id)); err != nil {
		t.Fatalf("replay with the rotated keys: %v", err)
	}
	// Without the old key, the history cannot be opened.
	if _, err := audit.History(ctx, s.Temporal, testCodec(t, "new-2"), s.Store, f.id); err == nil {
		t.Error("the timeline opened without the key the history was sealed with")
	}
}

// testCodec builds a codec of the named keys (each 32 bytes derived from
// its name), the first current.
func testCodec(t *testing.T, ids ...string) *codec.Codec {
	t.Helper()
	var spec []string
	for _, id := range ids {
		key := bytes.Repeat([]byte(id), 32)[:32]
		spec = append(spec, id+"="+base64.StdEncoding.EncodeToString(key))
	}
	pc, err := codec.Parse(strings.Join(spec, ","))
	if err != nil {
		t.Fatal(err)
	}
	return pc
}
