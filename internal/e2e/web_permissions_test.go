package e2e_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// webClient posts and gets as one person of a web session, without a
// browser and without following redirects.
type webClient struct {
	t      *testing.T
	base   string
	cookie *http.Cookie
	csrf   string
}

func (c webClient) do(method, path string, form url.Values) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.send(req)
}

// send sends a request as the person's browser would, from the same
// origin, and reads the answer.
func (c webClient) send(req *http.Request) (int, string) {
	c.t.Helper()
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestWebPermissionMatrix runs the permission matrix against the web
// routes: a person sees and acts only within their role and scope, exactly
// as through the API, every refusal lands in the attempts table, no step
// is taken by GET, and a form without the session's token or from another
// origin is refused.
func TestWebPermissionMatrix(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	base := s.Web().URL
	id := submitAs(t, s, testenv.Applicant, testenv.ExampleDossier(t))
	waitConsulted(t, s, id)
	as := func(a lifecycle.Actor) webClient {
		cookie, csrf := s.WebSession(a)
		return webClient{t: t, base: base, cookie: cookie, csrf: csrf}
	}
	people := []lifecycle.Actor{testenv.Applicant, testenv.OtherApplicant, testenv.EmbassySN, testenv.EmbassyBR,
		testenv.Instructor, testenv.Decider, testenv.Auditor, testenv.Admin}

	// Reads: who may open what.
	reads := []struct {
		path    string
		allowed []lifecycle.Actor
	}{
		{"/demandes/" + id, []lifecycle.Actor{testenv.Applicant, testenv.EmbassySN, testenv.Instructor, testenv.Decider, testenv.Auditor, testenv.Admin}},
		{"/demandes/" + id + "/historique", []lifecycle.Actor{testenv.Instructor, testenv.Decider, testenv.Auditor, testenv.Admin}},
		{"/audit/verification?application_id=" + id, []lifecycle.Actor{testenv.Auditor, testenv.Admin}},
		{"/chiffres", []lifecycle.Actor{testenv.Instructor, testenv.Decider, testenv.Auditor, testenv.Admin}},
		{"/admin/personnes", []lifecycle.Actor{testenv.Auditor, testenv.Admin}},
		{"/exports/demandes", []lifecycle.Actor{testenv.Instructor, testenv.Decider, testenv.Auditor, testenv.Admin}},
	}
	for _, r := range reads {
		for _, a := range people {
			status, _ := as(a).do("GET", r.path, nil)
			want := http.StatusForbidden
			if containsActor(r.allowed, a) {
				want = http.StatusOK
			}
			if status != want {
				t.Errorf("GET %s as %s/%s: %d, want %d", r.path, a.ID, a.Role, status, want)
			}
		}
	}

	// A file of the report is the application's: whoever may read it gets
	// to the file (here none: 404), anyone else is refused.
	readers := reads[0].allowed
	for _, a := range people {
		status, _ := as(a).do("GET", "/demandes/"+id+"/pieces-jointes/ATT-NONE", nil)
		want := http.StatusForbidden
		if containsActor(readers, a) {
			want = http.StatusNotFound
		}
		if status != want {
			t.Errorf("downloading a file as %s/%s: %d, want %d", a.ID, a.Role, status, want)
		}
	}

	// Steps: a role the action does not allow, or an application out of
	// the person's scope, is refused with 403 and recorded; the others reach
	// the workflow, which judges the state.
	for _, f := range []struct {
		step   string
		action lifecycle.Action
	}{
		{"opinion", lifecycle.ActionOpinion}, {"complements-request", lifecycle.ActionRequestComplements},
		{"recommendation", lifecycle.ActionRecommend}, {"decision", lifecycle.ActionDecide},
		{"complements", lifecycle.ActionComplements}, {"payment-order", lifecycle.ActionOrderPayment},
		{"changes", lifecycle.ActionDeclareChanges}, {"report", lifecycle.ActionReport},
	} {
		for _, a := range people {
			c := as(a)
			before := attemptsOf(t, s, id)
			status, _ := c.do("POST", "/demandes/"+id+"/etapes/"+f.step, url.Values{"csrf": {c.csrf}, "reason": {"x"}})
			allowed := lifecycle.Allows(a.Role, f.action) && a.InScope(testenv.Applicant.SIREN, "SN")
			switch {
			case !allowed && status != http.StatusForbidden:
				t.Errorf("%s as %s/%s: %d, want 403", f.step, a.ID, a.Role, status)
			case allowed && status == http.StatusForbidden:
				t.Errorf("%s as %s/%s: refused, though the role may", f.step, a.ID, a.Role)
			case !allowed && attemptsOf(t, s, id) != before+1:
				t.Errorf("%s as %s/%s: the refusal is not in the attempts table", f.step, a.ID, a.Role)
			}
		}
	}

	// The directories change for the admin alone; every other person's
	// attempt is refused and recorded.
	for _, f := range []struct {
		path   string
		form   url.Values
		action lifecycle.Action
	}{
		{"/admin/personnes/attribution", url.Values{"person": {"matrix.target"}, "role": {"auditor"}}, lifecycle.ActionPeopleGrant},
		{"/admin/personnes/retrait", url.Values{"person": {"matrix.target"}, "role": {"auditor"}}, lifecycle.ActionPeopleGrant},
		{"/admin/ambassades", url.Values{"country": {"TN"}, "name": {"Ambassade de France en Tunisie"}, "emails": {"scac.tunis@diplomatie.gouv.fr"}},
			lifecycle.ActionEmbassyDirectory},
	} {
		for _, a := range people {
			c := as(a)
			before := actionAttempts(t, s, a.ID, f.action)
			form := url.Values{"csrf": {c.csrf}}
			for k, v := range f.form {
				form[k] = v
			}
			status, _ := c.do("POST", f.path, form)
			allowed := lifecycle.Allows(a.Role, f.action)
			switch {
			case allowed && status != http.StatusSeeOther:
				t.Errorf("%s as %s/%s: %d, want the directory again (303)", f.path, a.ID, a.Role, status)
			case !allowed && status != http.StatusForbidden:
				t.Errorf("%s as %s/%s: %d, want 403", f.path, a.ID, a.Role, status)
			case !allowed && actionAttempts(t, s, a.ID, f.action) != before+1:
				t.Errorf("%s as %s/%s: the refusal is not in the attempts table", f.path, a.ID, a.Role)
			}
		}
	}

	// No step by GET; no form without the session's token nor from
	// another site; nothing without a session.
	c := as(testenv.EmbassySN)
	if status, _ := c.do("GET", "/demandes/"+id+"/etapes/opinion", nil); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		t.Errorf("GET on a step: %d, want 404 or 405", status)
	}
	if status, _ := c.do("POST", "/demandes/"+id+"/etapes/opinion", url.Values{"opinion": {"favorable"}}); status != http.StatusForbidden {
		t.Errorf("a form without the CSRF token: %d, want 403", status)
	}
	// The report's multipart form is held to its token too, and to the
	// person's scope.
	for _, f := range []struct {
		who  lifecycle.Actor
		csrf bool
	}{{testenv.Applicant, false}, {testenv.OtherApplicant, true}} {
		status := postReportForm(t, as(f.who), id, f.csrf)
		if status != http.StatusForbidden {
			t.Errorf("a report form as %s (token: %v): %d, want 403", f.who.ID, f.csrf, status)
		}
	}
	req, _ := http.NewRequest("POST", base+"/demandes/"+id+"/etapes/opinion", strings.NewReader(url.Values{"csrf": {c.csrf}, "opinion": {"favorable"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(c.cookie)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site form: %v %v, want 403", resp.Status, err)
	}
	anonymous := webClient{t: t, base: base}
	if status, _ := anonymous.do("GET", "/demandes", nil); status != http.StatusSeeOther {
		t.Errorf("the inbox without a session: %d, want a redirect to sign in", status)
	}
	if status, _ := anonymous.do("POST", "/demandes/"+id+"/etapes/opinion", url.Values{"opinion": {"favorable"}}); status != http.StatusUnauthorized {
		t.Errorf("a step without a session: %d, want 401", status)
	}
	if st, err := s.Store.Application(context.Background(), id); err != nil || st.Status != string(lifecycle.StatusEmbassyConsultation) {
		t.Errorf("after the refusals the application is %v %v, want it untouched", st.Status, err)
	}
}

func containsActor(list []lifecycle.Actor, a lifecycle.Actor) bool {
	for _, x := range list {
		if x.ID == a.ID && x.Role == a.Role {
			return true
		}
	}
	return false
}

func attemptsOf(t *testing.T, s *testenv.Stack, id string) int {
	t.Helper()
	var n int
	if err := s.Store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM attempts WHERE application_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func actionAttempts(t *testing.T, s *testenv.Stack, actor string, action lifecycle.Action) int {
	t.Helper()
	var n int
	if err := s.Store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM attempts WHERE actor_id = $1 AND action = $2`,
		actor, string(action)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// postReportForm posts the report's form with a file, as a browser sends
// it (multipart), with or without the session's token.
func postReportForm(t *testing.T, c webClient, id string, withToken bool) int {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if withToken {
		_ = mw.WriteField("csrf", c.csrf)
	}
	_ = mw.WriteField("report.activities", "x")
	fw, err := mw.CreateFormFile("files", "rapport.pdf")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte(reportPDF))
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", c.base+"/demandes/"+id+"/etapes/report", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status, _ := c.send(req)
	return status
}
