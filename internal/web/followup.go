package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// The second phase's forms: declared changes, the report and its files.
// Their fields are named as the API names its errors (changes.start_date,
// report.costs.travel), so a refusal lands next to its field.

var changesFields = []field{
	{Path: "start_date", FR: "Nouvelle date de début", EN: "New start date", Kind: "date"},
	{Path: "end_date", FR: "Nouvelle date de fin", EN: "New end date", Kind: "date"},
}

var reportFields = []field{
	{Path: "activities", FR: "Activités menées", EN: "Activities carried out", Kind: "textarea"},
	{Path: "results", FR: "Résultats obtenus", EN: "Results", Kind: "textarea"},
	{Path: "follow_up", FR: "Suites prévues avec le partenaire", EN: "Follow-up planned with the partner", Kind: "textarea"},
	{Path: "agents", FR: "Agents partis en mission", EN: "Agents who travelled", Kind: "textarea",
		HintFR: "Un nom par ligne", HintEN: "One name per line"},
	{Path: "costs.travel", FR: "Transport : coût réel (euros)", EN: "Travel: actual cost (euros)", Kind: "money"},
	{Path: "costs.accommodation", FR: "Hébergement : coût réel (euros)", EN: "Accommodation: actual cost (euros)", Kind: "money"},
	{Path: "costs.daily_allowances", FR: "Indemnités journalières : coût réel (euros)", EN: "Daily allowances: actual cost (euros)", Kind: "money"},
	{Path: "costs.other", FR: "Autres frais : coût réel (euros)", EN: "Other costs: actual cost (euros)", Kind: "money"},
}

// changesJSON is the declaration's body: the dates typed and the agents'
// rows filled.
func changesJSON(f formValues) map[string]any {
	changes := map[string]any{}
	for _, k := range []string{"start_date", "end_date"} {
		if v := f["changes."+k]; v != "" {
			changes[k] = v
		}
	}
	if agents, ok := dossierJSON(f, "changes.")["agents"]; ok {
		changes["agents"] = agents
	}
	return map[string]any{"changes": changes, "reason": f["reason"]}
}

// changesValues fill the declaration with the mission as approved.
func changesValues(d dossier.Dossier) formValues {
	all := dossierFields(d, "changes.")
	out := formValues{"changes.start_date": all["changes.mission.start_date"], "changes.end_date": all["changes.mission.end_date"]}
	for k, v := range all {
		if strings.HasPrefix(k, "changes.agents[") {
			out[k] = v
		}
	}
	return out
}

// reportJSON is the report's body, without its files (step adds them).
func reportJSON(f formValues) map[string]any {
	costs := map[string]any{}
	for _, c := range []string{"travel", "accommodation", "daily_allowances", "other"} {
		if v := f.money("report.costs." + c); v != nil {
			costs[c] = v
		}
	}
	agents := []string{}
	for _, a := range strings.Split(f["report.agents"], "\n") {
		if a = strings.TrimSpace(a); a != "" {
			agents = append(agents, a)
		}
	}
	return map[string]any{"report": map[string]any{"activities": f["report.activities"], "results": f["report.results"],
		"follow_up": f["report.follow_up"], "agents": agents, "costs": costs}}
}

// reportValues fill the report form with the report filed before, when
// the instructor asked for changes to it.
func reportValues(r *lifecycle.Report) formValues {
	if r == nil {
		return formValues{}
	}
	return formValues{"report.activities": r.Activities, "report.results": r.Results, "report.follow_up": r.FollowUp,
		"report.agents": strings.Join(r.Agents, "\n"), "report.costs.travel": r.Costs.Travel.String(),
		"report.costs.accommodation": r.Costs.Accommodation.String(), "report.costs.daily_allowances": r.Costs.DailyAllowances.String(),
		"report.costs.other": r.Costs.Other.String()}
}

// A file already attached to the report form is a checkbox whose value is
// its ID and name: a refused form keeps the files it uploaded (no second
// upload), and unticking one leaves it out.
func attachedValue(a lifecycle.Attachment) string { return a.ID + "/" + a.Name }

func keptAttachments(values []string) []lifecycle.Attachment {
	var out []lifecycle.Attachment
	for _, v := range values {
		if id, name, ok := strings.Cut(v, "/"); ok && strings.HasPrefix(id, "ATT-") {
			out = append(out, lifecycle.Attachment{ID: id, Name: name})
		}
	}
	return out
}

// maxFormMemory is how much of a multipart form is held in memory; larger
// files are spilled to temporary files, removed once the page is served.
const maxFormMemory = 1 << 20

// parseForm reads a posted form. A multipart one (the report and its
// files) is bounded by what a report's files may weigh, plus its text.
func (v *visit) parseForm() error {
	mediaType, _, _ := mime.ParseMediaType(v.r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		return v.r.ParseForm()
	}
	a := v.s.Rules.Attachments
	v.r.Body = http.MaxBytesReader(v.w, v.r.Body, int64(a.Files())*a.FileBytes()+maxFormMemory)
	return v.r.ParseMultipartForm(maxFormMemory)
}

// uploadFiles stores the report form's files through the API's upload
// route, each with a key made of the form's attempt and its place, so a
// form sent twice stores each file once. It returns the files stored
// before any refusal, so the refused form keeps them.
func (s *Server) uploadFiles(v *visit, id string) ([]lifecycle.Attachment, *api.Problem) {
	if v.r.MultipartForm == nil {
		return nil, nil
	}
	attempt := v.r.PostForm.Get("attempt")
	var out []lifecycle.Attachment
	for i, fh := range v.r.MultipartForm.File["files"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the file input left empty
		}
		data, err := readUpTo(fh, s.Rules.Attachments.FileBytes())
		if err != nil {
			return out, s.API.Refusal(err)
		}
		c := api.CallRequest{Method: "POST", Path: "/v1/applications/" + id + "/report/attachments",
			Query: url.Values{"name": {fh.Filename}}, Body: data, ContentType: "application/octet-stream"}
		if attempt != "" {
			c.IdempotencyKey = fmt.Sprintf("%s:file%d", attempt, i)
		}
		res := v.call(c)
		if res.Problem != nil {
			return out, fileProblem(res.Problem, fh.Filename)
		}
		out = append(out, res.Body.(lifecycle.Attachment))
	}
	return out, nil
}

// readUpTo reads a file of the form up to one byte past the limit: the API
// refuses what is over it, with its message, and nothing more is read.
func readUpTo(fh *multipart.FileHeader, limit int64) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// fileProblem puts an upload's refusal on the form's files, naming the
// file; a refusal of the person (not theirs) stays as it is.
func fileProblem(p *api.Problem, name string) *api.Problem {
	if p.Status == http.StatusForbidden || p.Status == http.StatusNotFound {
		return p
	}
	q := *p
	q.Errors = nil
	for _, e := range p.Errors {
		e.Field = "report.attachments"
		e.MessageFR, e.MessageEN = name+" : "+e.MessageFR, name+": "+e.MessageEN
		q.Errors = append(q.Errors, e)
	}
	if len(q.Errors) == 0 {
		q.Errors = []dossier.FieldError{{Field: "report.attachments", MessageFR: name + " : " + p.Title, MessageEN: name + ": " + p.Title}}
	}
	return &q
}

// attachment streams a file of the report from the API's route.
func (s *Server) attachment(v *visit) error {
	res := v.call(api.CallRequest{Method: "GET",
		Path: "/v1/applications/" + v.r.PathValue("id") + "/report/attachments/" + v.r.PathValue("attachment")})
	if res.Problem != nil {
		v.problemPage(res.Problem)
	}
	return nil
}

// errFormTooLarge is whether a form was refused for its size.
func errFormTooLarge(err error) bool {
	var tooBig *http.MaxBytesError
	return errors.As(err, &tooBig)
}
