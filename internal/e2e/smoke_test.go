package e2e_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

func TestStackSmoke(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{})
	id := s.Submit(testenv.ExampleDossier(t))
	s.WaitStatus(id, lifecycle.StatusEmbassyConsultation, 10*time.Second)
	r := s.Do(&testenv.Applicant, "POST", "/v1/applications/"+id+"/withdrawal", map[string]string{"reason": "test"})
	if r.Status != http.StatusOK {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	if st := s.WaitClosed(id, 20*time.Second); st.Status != lifecycle.StatusWithdrawn {
		t.Fatalf("status %s", st.Status)
	}
}
