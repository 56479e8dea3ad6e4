package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// TestStepRecordedWhileMailIsDown: a step taken while the mail server
// refuses every message (451) is recorded and answered at once; its e-mail
// waits in the outbox and leaves once the mail server is back, once.
func TestStepRecordedWhileMailIsDown(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: calmRules()})
	id := s.Submit(testenv.ExampleDossier(t))
	s.WaitStatus(id, lifecycle.StatusEmbassyConsultation, 30*time.Second)
	for !s.State(id).EmbassyContacted {
		time.Sleep(100 * time.Millisecond)
	}
	s.Mailpit.WaitFor(t, 3, 60*time.Second) // acknowledgement, notice, consultation
	if r := s.Do(&testenv.EmbassySN, "POST", "/v1/applications/"+id+"/opinion", map[string]string{"opinion": "favorable", "comment": "ok"}); r.Status != http.StatusOK {
		t.Fatalf("opinion: %d %s", r.Status, r.Body)
	}

	s.Mailpit.SetChaos(t, testenv.MailpitChaos{Recipient: testenv.MailpitTrigger{ErrorCode: 451, Probability: 100}})
	s.Server.UpdateTimeout = 5 * time.Second
	r := s.Do(&testenv.Instructor, "POST", "/v1/applications/"+id+"/complements-request", map[string]string{"message": "Détaillez le budget"})
	if r.Status != http.StatusOK {
		t.Fatalf("complements request while mail is down: %d %s, want 200 (recording never waits for e-mail)", r.Status, r.Body)
	}
	if j := s.Journal(id); j[len(j)-1] != lifecycle.EventComplementsRequested {
		t.Fatalf("journal %v: the step must be recorded when it answers", j)
	}
	if again := s.Do(&testenv.Instructor, "POST", "/v1/applications/"+id+"/complements-request", map[string]string{"message": "bis"}); again.Status != http.StatusConflict {
		t.Fatalf("repeated step: %d %s, want 409", again.Status, again.Body)
	}
	// The relay is retrying: the row holds the mail server's answer.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mails, err := s.Store.MailOf(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		last := mails[len(mails)-1]
		if last.Template == lifecycle.MailComplementsRequest && last.Attempts >= 1 && strings.Contains(last.LastError, "451") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the request's e-mail was never tried against the refusing server: %+v", last)
		}
		time.Sleep(100 * time.Millisecond)
	}

	s.Mailpit.SetChaos(t, testenv.MailpitChaos{})
	msgs := s.Mailpit.WaitFor(t, 4, 60*time.Second) // ... and the request, after its backoff
	found := 0
	for _, m := range msgs {
		if len(m.To) == 1 && m.To[0] == "claire.martin@mairie-nantes.example" && strings.Contains(m.Text, "Détaillez le budget") {
			found++
		}
	}
	if found != 1 {
		t.Fatalf("%d requests for complements delivered, want 1", found)
	}
}
