package webhooks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

func TestValidInputs(t *testing.T) {
	for _, in := range []Input{
		{URL: "https://si.region-bretagne.example/hooks/expectct"},
		{URL: "https://hooks.example:8443/a?b=c", Events: []string{lifecycle.EventApproved, lifecycle.EventRejected}, Description: "Tableau de bord régional"},
		{URL: "http://127.0.0.1:9000/hook"},
		{URL: "http://[::1]:9000/hook"},
		{URL: "http://localhost/hook"},
	} {
		if err := in.Validate(); err != nil {
			t.Errorf("%+v: %v", in, err)
		}
	}
}

// Each refusal names the field and the rule, in French and English.
func TestInvalidInputsNameFieldAndRule(t *testing.T) {
	for _, c := range []struct {
		in          Input
		field, rule string
		fr, en      string
	}{
		{Input{}, "url", "required", "", ""},
		{Input{URL: "http://hooks.example/x"}, "url", RuleWebhookURL, "https://", "https://"},
		{Input{URL: "http://10.0.0.8/x"}, "url", RuleWebhookURL, "127.0.0.1", "127.0.0.1"},
		{Input{URL: "ftp://hooks.example/x"}, "url", RuleWebhookURL, "https://", "https://"},
		{Input{URL: "hooks.example/x"}, "url", RuleWebhookURL, "URL absolue", "absolute URL"},
		{Input{URL: "https:///x"}, "url", RuleWebhookURL, "URL absolue", "absolute URL"},
		{Input{URL: "https://user:pw@hooks.example/x"}, "url", RuleWebhookURL, "mot de passe", "password"},
		{Input{URL: "https://hooks.example/x#frag"}, "url", RuleWebhookURL, "fragment", "fragment"},
		{Input{URL: "https://hooks.example/" + strings.Repeat("a", 2000)}, "url", "max", "", ""},
		{Input{URL: "https://hooks.example/x", Events: []string{"approved", "paid"}}, "events[1]", RuleEvent, "n'est pas un événement", "not a journal event"},
		{Input{URL: "https://hooks.example/x", Events: []string{"approved", "approved"}}, "events[1]", RuleEvent, "déjà", "already"},
		{Input{URL: "https://hooks.example/x", Description: "a\u0007b"}, "description", dossier.RuleNoControl, "", ""},
		{Input{URL: "https://hooks.example/x", Description: strings.Repeat("é", 201)}, "description", "max", "", ""},
	} {
		err := c.in.Validate()
		var ve *dossier.ValidationError
		if !errors.As(err, &ve) || ve.Kind != dossier.KindInvalid || len(ve.Fields) == 0 {
			t.Errorf("%+v: %v, want a validation error", c.in, err)
			continue
		}
		f := ve.Fields[0]
		if f.Field != c.field || f.Rule != c.rule || f.MessageFR == "" || f.MessageEN == "" ||
			!strings.Contains(f.MessageFR, c.fr) || !strings.Contains(f.MessageEN, c.en) {
			t.Errorf("%.60s: %+v, want field %s rule %s, messages with %q / %q", c.in.URL, f, c.field, c.rule, c.fr, c.en)
		}
	}
}

func TestIDs(t *testing.T) {
	id := NewID()
	if !ValidID(id) || NewID() == id {
		t.Errorf("NewID = %s", id)
	}
	for _, bad := range []string{"", "WH-", "wh-ABCDEFGHIJKLMNOP", "WH-ABCDEFGHIJKLMNO1", "WH-ABCDEFGHIJKLMNOPQ"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
	if WorkflowID(id) != "webhook-"+id {
		t.Errorf("WorkflowID = %s", WorkflowID(id))
	}
	if MessageID("EXP-ABCDEFGHIJKLMNOP", 3) != "msg_EXP-ABCDEFGHIJKLMNOP_3" {
		t.Errorf("MessageID = %s", MessageID("EXP-ABCDEFGHIJKLMNOP", 3))
	}
}

// The body says what happened and to which application, never who did it
// nor anything of the dossier.
func TestBodyCarriesNoPersonalData(t *testing.T) {
	at := time.Date(2026, 12, 4, 17, 30, 0, 123456000, time.FixedZone("CET", 3600))
	e := store.Entry{ApplicationID: "EXP-ABCDEFGHIJKLMNOP", Seq: 7, EventType: lifecycle.EventApproved, Status: "approved",
		ActorID: "delegue.daect@diplomatie.gouv.fr", ActorRole: "decider", OccurredAt: at, Payload: []byte(`{"amount":"3000.00"}`)}
	body, err := Body(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"approved","timestamp":"2026-12-04T16:30:00.123456Z","data":{"application_id":"EXP-ABCDEFGHIJKLMNOP","seq":7,"event":"approved","status":"approved","at":"2026-12-04T16:30:00.123456Z","actor_role":"decider"}}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	var m Message
	if err := json.Unmarshal(body, &m); err != nil || m.Data.Seq != 7 {
		t.Errorf("body does not read back: %v", err)
	}
	if again, _ := Body(e); string(again) != string(body) {
		t.Error("the same row makes another body")
	}
}

func TestWants(t *testing.T) {
	if !Wants(nil, "anything") || !Wants([]string{"approved"}, "approved") || Wants([]string{"approved"}, "rejected") {
		t.Error("Wants: no list is every event, a list is those only")
	}
}
