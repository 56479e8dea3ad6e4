package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// TestFollowApplications: an instructor follows an application from its
// page in the browser, finds it under "followed by me" and by its deadline,
// and is e-mailed the embassy's opinion but not their own step; after
// unfollowing, nothing more. The API refuses bad listing parameters by
// name, and the follow to a role that may not follow.
func TestFollowApplications(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	example := testenv.ExampleDossier(t)
	followed := submitAs(t, s, testenv.Applicant, example)
	other := submitAs(t, s, testenv.Applicant, example)
	waitConsulted(t, s, followed)
	waitConsulted(t, s, other)

	w := newWebVisit(t, s)
	w.signIn(s, testenv.Instructor)
	w.open("/demandes/" + followed)
	w.submitForm("#follow-button")
	if !strings.Contains(w.text("#follow-form"), "Vous suivez cette demande") {
		t.Fatalf("after following, the page says %q", w.text("#follow-form"))
	}
	w.open("/demandes?followed=me")
	if got := w.text("#applications tbody"); !strings.Contains(got, followed) || strings.Contains(got, other) {
		t.Fatalf("followed by me lists %q, want %s only", got, followed)
	}
	// The embassy's consultation is due within the rules' days.
	w.open("/demandes?order=deadline&deadline_within_days=366")
	if got := w.text("#applications tbody"); !strings.Contains(got, followed) || !strings.Contains(got, other) {
		t.Fatalf("due within a year lists %q", got)
	}
	w.fill(map[string]string{"#filter-within": "tous"})
	w.refusedForm(http.StatusBadRequest, chromedp.Click(`form[action="/demandes"] button[type="submit"]`))
	if got := w.text("#filter-within-error"); !strings.Contains(got, "deadline_within_days") {
		t.Fatalf("a bad number of days shows %q next to its field", got)
	}

	me, err := s.Store.Person(t.Context(), testenv.Instructor.ID)
	if err != nil || me.Email == "" {
		t.Fatalf("the instructor's address: %+v, %v", me, err)
	}
	mustStep(t, s, testenv.EmbassySN, followed, "opinion", map[string]string{"opinion": "favorable", "comment": "Partenaire solide."})
	mustStep(t, s, testenv.EmbassySN, other, "opinion", map[string]string{"opinion": "favorable", "comment": "Autre."})
	settle(t, s, followed, lifecycle.StatusUnderReview)
	settle(t, s, other, lifecycle.StatusUnderReview)
	mustStep(t, s, testenv.Instructor, followed, "complements-request", map[string]string{"message": "Merci de préciser le budget."})
	settle(t, s, followed, lifecycle.StatusAwaitingComplements)

	followerMails := func() []testenv.MailpitMessage {
		var out []testenv.MailpitMessage
		for _, m := range s.Mailpit.Messages(t) {
			if strings.Contains(m.Subject, "Suivi :") && len(m.To) == 1 && m.To[0] == me.Email {
				out = append(out, m)
			}
		}
		return out
	}
	pollUntil(t, 30*time.Second, "the follower's e-mail", func() bool { return len(followerMails()) >= 1 })
	waitOutboxEmpty(t, s)
	got := followerMails()
	if len(got) != 1 || !strings.Contains(got[0].Subject, followed) || !strings.Contains(got[0].Text, "Partenaire solide.") {
		t.Fatalf("the follower got %d e-mails (want the opinion's only, not their own step nor the other application's): %+v", len(got), got)
	}

	// Unfollowed from the page: the next step tells them nothing.
	w.open("/demandes/" + followed)
	w.submitForm("#follow-button")
	if r := s.Do(&testenv.Instructor, "GET", "/v1/applications/"+followed+"/follow", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"following":false`) {
		t.Fatalf("after unfollowing: %d %s", r.Status, r.Body)
	}
	mustStep(t, s, testenv.Applicant, followed, "complements", complementsOK(t))
	settle(t, s, followed, lifecycle.StatusUnderReview)
	waitOutboxEmpty(t, s)
	if n := len(followerMails()); n != 1 {
		t.Fatalf("after unfollowing the instructor got %d follower e-mails, want still 1", n)
	}

	// The API's refusals, by field.
	for query, field := range map[string]string{"order=random": "order", "deadline_within_days=-1": "deadline_within_days", "followed=someone": "followed"} {
		r := s.Do(&testenv.Instructor, "GET", "/v1/applications?"+query, nil)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s, want 400 naming %s", query, r.Status, r.Body, field)
		}
	}
	if r := s.Do(&testenv.Applicant, "GET", "/v1/applications?followed=me", nil); r.Status != http.StatusBadRequest {
		t.Errorf("an applicant's followed=me: %d %s", r.Status, r.Body)
	}
	if r := s.Do(&testenv.Applicant, "PUT", "/v1/applications/"+followed+"/follow", nil); r.Status != http.StatusForbidden {
		t.Errorf("an applicant following: %d %s", r.Status, r.Body)
	}
}

// waitOutboxEmpty waits until every queued e-mail is sent: the relay marks
// a row sent once Mailpit has taken it.
func waitOutboxEmpty(t *testing.T, s *testenv.Stack) {
	t.Helper()
	pollUntil(t, 30*time.Second, "the outbox to empty", func() bool {
		n, err := s.Store.OutboxCount(t.Context(), true)
		return err == nil && n == 0
	})
}
