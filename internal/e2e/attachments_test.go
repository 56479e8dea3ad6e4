package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// A one-page PDF, as small as a reader accepts.
const reportPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

func photoPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{R: 225, G: 0, B: 15, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fieldRule tells whether a problem names the field and the rule.
func fieldRule(t *testing.T, r testenv.Response, field, rule string) bool {
	t.Helper()
	var p struct {
		Errors []struct{ Field, Rule, MessageFR, MessageEN string } `json:"errors"`
	}
	_ = json.Unmarshal(r.Body, &p)
	for _, e := range p.Errors {
		if e.Field == field && e.Rule == rule {
			return true
		}
	}
	return false
}

// The mission report's files: uploaded by the applicant once the report is
// awaited (type detected from the content; a wrong type 422, an oversized
// file 413 under the stack's small limits, whether its size is announced or
// not), named by ID in the report, their SHA-256 in the report_submitted
// journal row, downloaded back byte for byte by whoever reads the
// application; the service's database role cannot change them.
func TestReportAttachments(t *testing.T) {
	r := calmRules()
	r.Attachments.MaxFileBytes = 4096
	r.Attachments.MaxReportBytes = 6000
	r.Attachments.MaxFiles = 3
	r.Attachments.MaxUploads = 3
	f := startMissionOver(t, r)
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	uploads := "/v1/applications/" + f.id + "/report/attachments"
	pdf, photo := []byte(reportPDF), photoPNG(t)
	upload := func(actor lifecycle.Actor, name string, data []byte, headers ...string) testenv.Response {
		return f.s.Do(&actor, "POST", uploads+"?name="+url.QueryEscape(name), data, headers...)
	}
	if r := upload(testenv.Applicant, "rapport.pdf", pdf); r.Status != http.StatusConflict {
		t.Fatalf("a file before the report is awaited: %d %s", r.Status, r.Body)
	}
	f.grant()
	f.s.WaitStatus(f.id, lifecycle.StatusAwaitingReport, wait)

	var stored []lifecycle.Attachment
	for _, c := range []struct {
		name, want, mediaType string
		data                  []byte
	}{
		// The header says nothing true: the content decides.
		{"rapport.pdf", "rapport.pdf", "application/pdf", pdf},
		{`C:\Photos\Réunion à Rufisque.png`, "Réunion à Rufisque.png", "image/png", photo},
	} {
		resp := upload(testenv.Applicant, c.name, c.data, "Content-Type", "text/plain")
		var a lifecycle.Attachment
		if resp.Status != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", c.name, resp.Status, resp.Body)
		}
		resp.JSON(t, &a)
		if a.Name != c.want || a.MediaType != c.mediaType || a.Size != int64(len(c.data)) || a.SHA256 != sha(c.data) || !strings.HasPrefix(a.ID, "ATT-") {
			t.Fatalf("upload %s stored as %+v", c.name, a)
		}
		stored = append(stored, a)
	}

	// A Windows executable named as a PDF and sent as one is refused.
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), bytes.Repeat([]byte{0}, 64)...)
	if resp := upload(testenv.Applicant, "rapport.pdf", exe, "Content-Type", "application/pdf"); resp.Status != http.StatusUnprocessableEntity ||
		!fieldRule(t, resp, "file", "type") || !strings.Contains(string(resp.Body), "PDF, ODT, DOCX, JPEG ou PNG") {
		t.Fatalf("an executable named rapport.pdf: %d %s", resp.Status, resp.Body)
	}
	// Over the 4,096 bytes a file may weigh under these rules: 413, with its
	// size announced, and when sent in chunks (read through the limit).
	big := append([]byte(reportPDF), bytes.Repeat([]byte("%"), 5000)...)
	if resp := upload(testenv.Applicant, "gros.pdf", big); resp.Status != http.StatusRequestEntityTooLarge || !fieldRule(t, resp, "file", "max_size") {
		t.Fatalf("a file of %d bytes: %d %s", len(big), resp.Status, resp.Body)
	}
	if status, body := chunkedUpload(t, f.s, uploads+"?name=gros.pdf", big); status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "max_size") {
		t.Fatalf("a file of %d bytes in chunks: %d %s", len(big), status, body)
	}
	if resp := upload(testenv.Applicant, "", pdf); resp.Status != http.StatusUnprocessableEntity || !fieldRule(t, resp, "name", "required") {
		t.Fatalf("a file without a name: %d %s", resp.Status, resp.Body)
	}
	// Only the applicant of the application's collectivité uploads.
	for _, a := range []lifecycle.Actor{testenv.OtherApplicant, testenv.EmbassySN, testenv.Instructor} {
		if resp := upload(a, "rapport.pdf", pdf); resp.Status != http.StatusForbidden {
			t.Fatalf("%s uploading: %d %s", a.ID, resp.Status, resp.Body)
		}
	}

	// Three uploads at most for the application, used or not.
	if resp := upload(testenv.Applicant, "annexe.pdf", pdf); resp.Status != http.StatusCreated {
		t.Fatalf("a third upload: %d %s", resp.Status, resp.Body)
	}
	if resp := upload(testenv.Applicant, "encore.pdf", pdf); resp.Status != http.StatusUnprocessableEntity || !fieldRule(t, resp, "file", "max_uploads") {
		t.Fatalf("a fourth upload, three allowed: %d %s", resp.Status, resp.Body)
	}

	report := sampleReport(t)
	body := report["report"].(map[string]any)
	body["attachments"] = []string{stored[0].ID, stored[1].ID, "ATT-AAAAAAAAAAAAAAAA"}
	if resp := f.s.Do(&testenv.Applicant, "POST", "/v1/applications/"+f.id+"/report", report); resp.Status != http.StatusUnprocessableEntity ||
		!fieldRule(t, resp, "report.attachments[2]", "exists") {
		t.Fatalf("a report naming an unknown file: %d %s", resp.Status, resp.Body)
	}
	body["attachments"] = []string{stored[0].ID, stored[1].ID, stored[0].ID, stored[1].ID}
	if resp := f.s.Do(&testenv.Applicant, "POST", "/v1/applications/"+f.id+"/report", report); resp.Status != http.StatusUnprocessableEntity ||
		!fieldRule(t, resp, "report.attachments", "max_files") {
		t.Fatalf("a report naming four files, three allowed: %d %s", resp.Status, resp.Body)
	}
	body["attachments"] = []string{stored[0].ID, stored[1].ID}
	st := f.step(testenv.Applicant, "report", report)
	if st.Status != lifecycle.StatusReportReview || st.FollowUp.Report == nil || len(st.FollowUp.Report.Attachments) != 2 ||
		st.FollowUp.Report.Attachments[0] != stored[0] || st.FollowUp.Report.Attachments[1] != stored[1] {
		t.Fatalf("after the report: %s %+v", st.Status, st.FollowUp.Report)
	}
	if resp := upload(testenv.Applicant, "encore.pdf", pdf); resp.Status != http.StatusConflict {
		t.Fatalf("a file once the report is filed: %d %s", resp.Status, resp.Body)
	}

	// The journal row of the report holds each file's SHA-256.
	entries, err := f.s.Store.Journal(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, e := range entries {
		if e.EventType == lifecycle.EventReportSubmitted {
			row = string(e.Payload)
		}
	}
	for _, a := range stored {
		if !strings.Contains(row, a.SHA256) || !strings.Contains(row, a.ID) {
			t.Fatalf("report_submitted row %s lacks %s (%s)", row, a.ID, a.SHA256)
		}
	}

	// The audit reads the report's row, files included, as the history has it.
	if rep := apiVerify(t, f.s, f.id); !rep.OK || rep.Checked == 0 {
		t.Fatalf("audit verify after a report with files: %+v", rep)
	}

	// Whoever reads the application downloads a file, byte for byte, as
	// an attachment of the detected type; others may not.
	for _, a := range []lifecycle.Actor{testenv.Applicant, testenv.EmbassySN, testenv.Instructor, testenv.Auditor} {
		resp := f.s.Do(&a, "GET", uploads+"/"+stored[1].ID, nil)
		disposition, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
		if resp.Status != http.StatusOK || !bytes.Equal(resp.Body, photo) || resp.Header.Get("Content-Type") != "image/png" ||
			disposition != "attachment" || params["filename"] != "Réunion à Rufisque.png" ||
			resp.Header.Get("Expectct-Attachment-Sha256") != stored[1].SHA256 || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s downloading: %d %v", a.ID, resp.Status, resp.Header)
		}
	}
	for _, a := range []lifecycle.Actor{testenv.OtherApplicant, testenv.EmbassyBR} {
		if resp := f.s.Do(&a, "GET", uploads+"/"+stored[1].ID, nil); resp.Status != http.StatusForbidden {
			t.Fatalf("%s downloading: %d %s", a.ID, resp.Status, resp.Body)
		}
	}
	if resp := f.s.Do(&testenv.Applicant, "GET", uploads+"/ATT-AAAAAAAAAAAAAAAA", nil); resp.Status != http.StatusNotFound {
		t.Fatalf("an unknown file: %d %s", resp.Status, resp.Body)
	}

	// The service may read and add files, never change one.
	if _, err := f.s.Store.Pool.Exec(context.Background(), `UPDATE attachments SET content = '\x00' WHERE id = $1`, stored[0].ID); err == nil {
		t.Fatal("the service's role rewrote a stored file")
	}
}

// chunkedUpload sends the file without announcing its size.
func chunkedUpload(t *testing.T, s *testenv.Stack, path string, data []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "POST", s.API.URL+path, io.MultiReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token(testenv.Applicant))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if req.ContentLength != -1 && req.ContentLength != 0 {
		t.Fatalf("the request announced %d bytes", req.ContentLength)
	}
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestCLIReportAttachments: `expectct report --attach` uploads each file then
// files the report naming them; a file of a refused type stops it before the
// report is filed; `expectct attachment` writes a file back, byte for byte.
func TestCLIReportAttachments(t *testing.T) {
	f := startMissionOver(t, calmRules())
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	f.grant()
	f.s.WaitStatus(f.id, lifecycle.StatusAwaitingReport, wait)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pdf, photo := write("rapport.pdf", []byte(reportPDF)), write("photo.png", photoPNG(t))
	fake := write("faux.pdf", []byte("MZ\x90\x00 not a PDF"))
	applicant := cliFor(t, f.s, cliToken(t, f.s, testenv.Applicant))

	mustFail(t, applicant("report", f.id, "--file", "examples/report.json", "--attach", pdf, "--attach", fake),
		"a report with a file of a refused type", "faux.pdf", "type")
	if st := f.state(); st.Status != lifecycle.StatusAwaitingReport {
		t.Fatalf("the report was filed despite a refused file: %s", st.Status)
	}
	r := mustSucceed(t, applicant("report", f.id, "--file", "examples/report.json", "--attach", pdf, "--attach", photo),
		"expectct report --attach")
	mustContain(t, "expectct report", r.stdout+r.stderr, "report filed", "application/pdf", "image/png", sha(photoPNG(t)))
	st := f.state()
	if st.Status != lifecycle.StatusReportReview || len(st.FollowUp.Report.Attachments) != 2 {
		t.Fatalf("after expectct report: %s %+v", st.Status, st.FollowUp.Report)
	}
	png := st.FollowUp.Report.Attachments[1]
	out := filepath.Join(dir, "copie.png")
	instructor := cliFor(t, f.s, cliToken(t, f.s, testenv.Instructor))
	mustSucceed(t, instructor("attachment", f.id, png.ID, "-o", out), "expectct attachment")
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, photoPNG(t)) || png.Name != "photo.png" || png.SHA256 != sha(got) {
		t.Fatalf("downloaded %d bytes for %+v", len(got), png)
	}
}
