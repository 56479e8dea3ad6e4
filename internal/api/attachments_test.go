package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/rules"
)

// The client names the report's files by their IDs; any other shape of
// attachments is a malformed body.
func TestReportBodyNamesAttachmentsByID(t *testing.T) {
	var report stepRoute
	for _, st := range stepRoutes {
		if st.update == lifecycle.UpdateReport {
			report = st
		}
	}
	body := `{"report": {"activities": "a", "results": "r", "follow_up": "f", "agents": ["Julien Lefèvre"],
		"costs": {"travel": "10.00"}, "attachments": ["ATT-AAAAAAAAAAAAAAAA", "ATT-BBBBBBBBBBBBBBBB"]}}`
	in, err := report.input([]byte(body), lifecycle.Actor{ID: "maire"}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got := in.(lifecycle.ReportInput).Report
	if len(got.Attachments) != 2 || got.Attachments[1].ID != "ATT-BBBBBBBBBBBBBBBB" || got.Activities != "a" || got.Agents[0] != "Julien Lefèvre" {
		t.Fatalf("report %+v", got)
	}
	objects := strings.Replace(body, `"ATT-AAAAAAAAAAAAAAAA"`, `{"id": "ATT-AAAAAAAAAAAAAAAA", "sha256": "00"}`, 1)
	if _, err := report.input([]byte(objects), lifecycle.Actor{ID: "maire"}, 1<<20); err == nil {
		t.Fatal("attachments given as objects were taken")
	}
}

// An upload reads as much as the rules allow for one file; other bodies
// keep their limits.
func TestBodyLimit(t *testing.T) {
	r := rules.Default()
	r.Attachments.MaxFileBytes = 3000
	s := &Server{Rules: r, MaxBodyBytes: 1 << 20}
	for _, c := range []struct {
		rt   route
		want int64
	}{
		{route{method: http.MethodPost, path: attachmentsPath}, 3000},
		{route{method: http.MethodGet, path: attachmentPath}, 1 << 20},
		{route{method: http.MethodPost, path: "/v1/applications/{id}/report"}, 1 << 20},
		{route{method: http.MethodPost, path: "/v1/audit/verify"}, 256 << 20},
	} {
		rt, want := c.rt, c.want
		if got := s.bodyLimit(rt); got != want {
			t.Errorf("%s %s: %d, want %d", rt.method, rt.path, got, want)
		}
	}
}
