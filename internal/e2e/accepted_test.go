package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// TestStepAcceptedWhileMailIsDown: when a step is accepted but its e-mail
// cannot be delivered before the API stops waiting, the caller is told 202
// (accepted, being recorded), not 503; the step completes once the mail
// server is back, and a retry is refused as out of state.
func TestStepAcceptedWhileMailIsDown(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{})
	id := s.Submit(testenv.ExampleDossier(t))
	s.WaitStatus(id, lifecycle.StatusEmbassyConsultation, 30*time.Second)
	for !s.State(id).EmbassyContacted {
		time.Sleep(100 * time.Millisecond)
	}
	if r := s.Do(&testenv.EmbassySN, "POST", "/v1/applications/"+id+"/opinion", map[string]string{"opinion": "favorable", "comment": "ok"}); r.Status != http.StatusOK {
		t.Fatalf("opinion: %d %s", r.Status, r.Body)
	}

	s.Mailpit.SetChaos(t, testenv.MailpitChaos{Recipient: testenv.MailpitTrigger{ErrorCode: 451, Probability: 100}})
	s.Server.UpdateTimeout = 2 * time.Second
	r := s.Do(&testenv.Instructor, "POST", "/v1/applications/"+id+"/complements-request", map[string]string{"message": "Détaillez le budget"})
	if r.Status != http.StatusAccepted {
		t.Fatalf("complements request while mail is down: %d %s, want 202", r.Status, r.Body)
	}
	var acc api.StepAccepted
	r.JSON(t, &acc)
	if acc.ApplicationID != id || acc.UpdateID == "" || acc.Step != lifecycle.UpdateRequestComplements {
		t.Fatalf("202 body = %+v", acc)
	}
	if again := s.Do(&testenv.Instructor, "POST", "/v1/applications/"+id+"/complements-request", map[string]string{"message": "bis"}); again.Status != http.StatusConflict {
		t.Fatalf("repeated step: %d %s, want 409", again.Status, again.Body)
	}

	s.Mailpit.SetChaos(t, testenv.MailpitChaos{})
	deadline := time.Now().Add(60 * time.Second)
	for {
		j := s.Journal(id)
		if len(j) > 0 && j[len(j)-1] == lifecycle.EventComplementsRequested {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal %v never recorded the accepted step", j)
		}
		time.Sleep(200 * time.Millisecond)
	}
	msgs := s.Mailpit.WaitFor(t, 4, 60*time.Second) // acknowledgement, notice, consultation, request
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
