package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/codec"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
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
	f.closed()
	// Every payload Temporal holds is sealed (search attributes, status and
	// country only, are not payloads of ours).
	raw := testenv.WorkflowHistory(t, plain, f.id)
	payloads, clear := 0, 0
	err = proxy.VisitPayloads(ctx, raw, proxy.VisitPayloadsOptions{SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			for _, p := range ps {
				payloads++
				if string(p.GetMetadata()["encoding"]) != codec.EncodingSealed {
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
}
