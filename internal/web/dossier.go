package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// stepForm is a human step as a form: its API route, the action it needs,
// the statuses in which it is offered, and how its fields become the
// route's JSON body. Whether the step is accepted is the workflow's call,
// through the API: the statuses here only choose which forms to show.
type stepForm struct {
	Path   string
	Action lifecycle.Action
	During []lifecycle.Status
	// beforeStart offers the form only until the mission's first day, after
	// which the workflow refuses the step.
	beforeStart bool
	body        func(f formValues) map[string]any
}

// formValues are a form's fields by name.
type formValues map[string]string

// money is an amount as the API reads it, nil when the field is empty (the
// step leaves it out of the body).
func (f formValues) money(name string) any {
	v := normalizeMoney(f[name])
	if v == "" {
		return nil
	}
	return v
}

var stepForms = []stepForm{
	{"opinion", lifecycle.ActionOpinion, []lifecycle.Status{lifecycle.StatusEmbassyConsultation}, false, func(f formValues) map[string]any {
		return map[string]any{"opinion": f["opinion"], "comment": f["comment"]}
	}},
	{"complements-request", lifecycle.ActionRequestComplements, []lifecycle.Status{lifecycle.StatusUnderReview}, false, func(f formValues) map[string]any {
		return map[string]any{"message": f["message"]}
	}},
	{"recommendation", lifecycle.ActionRecommend, []lifecycle.Status{lifecycle.StatusUnderReview}, false, func(f formValues) map[string]any {
		return map[string]any{"recommendation": f["recommendation"], "amount": f.money("amount"), "comment": f["comment"]}
	}},
	{"decision", lifecycle.ActionDecide, []lifecycle.Status{lifecycle.StatusAwaitingDecision}, false, func(f formValues) map[string]any {
		return map[string]any{"decision": f["decision"], "amount": f.money("amount"), "motivation": f["motivation"]}
	}},
	{"complements", lifecycle.ActionComplements, []lifecycle.Status{lifecycle.StatusAwaitingComplements}, false, func(f formValues) map[string]any {
		return map[string]any{"dossier": dossierJSON(f, "dossier."), "comment": f["comment"]}
	}},
	{"withdrawal", lifecycle.ActionWithdraw, lifecycle.BeforeDecision, false, func(f formValues) map[string]any {
		return map[string]any{"reason": f["reason"]}
	}},
	{"changes", lifecycle.ActionDeclareChanges, []lifecycle.Status{lifecycle.StatusApproved}, true, changesJSON},
	{"renunciation", lifecycle.ActionRenounce, []lifecycle.Status{lifecycle.StatusApproved, lifecycle.StatusChangesDeclared}, true, func(f formValues) map[string]any {
		return map[string]any{"reason": f["reason"]}
	}},
	{"changes-review", lifecycle.ActionReviewChanges, []lifecycle.Status{lifecycle.StatusChangesDeclared}, false, func(f formValues) map[string]any {
		return map[string]any{"outcome": f["outcome"], "reason": f["reason"]}
	}},
	// The report's files are uploaded first (uploadFiles); its body names them.
	{"report", lifecycle.ActionReport, lifecycle.AwaitingReport, false, reportJSON},
	{"report-review", lifecycle.ActionReviewReport, []lifecycle.Status{lifecycle.StatusReportReview}, false, func(f formValues) map[string]any {
		return map[string]any{"outcome": f["outcome"], "payable": f.money("payable"), "motivation": f["motivation"], "message": f["message"]}
	}},
	{"report-deadline", lifecycle.ActionExtendReport, lifecycle.AwaitingReport, false, func(f formValues) map[string]any {
		return map[string]any{"until": f["until"], "reason": f["reason"]}
	}},
	{"cancellation", lifecycle.ActionCancelGrant, []lifecycle.Status{lifecycle.StatusReportOverdue}, false, func(f formValues) map[string]any {
		return map[string]any{"motivation": f["motivation"]}
	}},
	{"payment-order", lifecycle.ActionOrderPayment, []lifecycle.Status{lifecycle.StatusAwaitingPaymentOrder}, false, func(f formValues) map[string]any {
		return map[string]any{"comment": f["comment"]}
	}},
	{"payment-confirmation", lifecycle.ActionConfirmPayment, []lifecycle.Status{lifecycle.StatusPaymentOrdered}, false, func(f formValues) map[string]any {
		return map[string]any{"reference": f["reference"], "paid_on": f["paid_on"]}
	}},
}

// offered tells whether the form is open at this point of the application.
func (f stepForm) offered(st lifecycle.State, now time.Time) bool {
	if !slices.Contains(f.During, st.Status) {
		return false
	}
	return !f.beforeStart || now.Before(missionStart(st))
}

// missionStart is the mission's first day at midnight in Paris, when the
// workflow stops taking changes and renunciations.
func missionStart(st lifecycle.State) time.Time {
	d := st.Dossier.Mission.StartDate
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, lifecycle.Paris)
}

// withoutEmpty drops the fields left out of a body (an amount not typed),
// rather than sending them as null.
func withoutEmpty(body map[string]any) map[string]any {
	for k, v := range body {
		if v == nil {
			delete(body, k)
		}
	}
	return body
}

// dossierPage is an application as its page shows it.
type dossierPage struct {
	State lifecycle.State
	// CanFollow: the person may follow it (DAECT staff); Following: they do.
	CanFollow, Following bool
	// Steps of the stepper, and where the application stands.
	Stepper stepper
	Forms   []string
	// Values refill a refused form; Fields are the complements' dossier;
	// Prefill are the values a form opens with, by step.
	Values   formValues
	Fields   formValues
	Prefill  map[string]formValues
	Failed   string
	CanAudit bool
	LDC      bool
	Cap      dossier.Money
	Letters  []string
	// Totals are the complements' budget sums.
	Totals totals
	// Attached are the files the report form already holds; MaxPayable is
	// the most the report's review may pay.
	Attached   []lifecycle.Attachment
	MaxPayable dossier.Money
	FilesHint  string
}

// refusal is a form the API refused: its step, what was typed, the files
// it had stored, and the API's answer.
type refusal struct {
	step     string
	values   formValues
	attached []lifecycle.Attachment
	problem  *api.Problem
}

// stepper is the lifecycle as the DSFR stepper shows it.
type stepper struct {
	Current, Total int
	Title, Next    string
}

var stepperSteps = [][2]string{
	{"Dépôt", "Submission"}, {"Avis de l'ambassade", "Embassy's opinion"}, {"Instruction", "Review"},
	{"Décision", "Decision"}, {"Mission et compte rendu", "Mission and report"}, {"Paiement", "Payment"},
}

func stepOf(s lifecycle.Status) int {
	switch s {
	case lifecycle.StatusSubmitted:
		return 1
	case lifecycle.StatusEmbassyConsultation:
		return 2
	case lifecycle.StatusUnderReview, lifecycle.StatusAwaitingComplements:
		return 3
	case lifecycle.StatusAwaitingDecision, lifecycle.StatusRejected, lifecycle.StatusWithdrawn, lifecycle.StatusClosedWithoutAction:
		return 4
	case lifecycle.StatusAwaitingPaymentOrder, lifecycle.StatusPaymentOrdered, lifecycle.StatusClosed:
		return 6
	}
	return 5
}

func newStepper(s lifecycle.Status, lang string) stepper {
	i := 0
	if lang == "en" {
		i = 1
	}
	n := stepOf(s)
	st := stepper{Current: n, Total: len(stepperSteps), Title: stepperSteps[n-1][i]}
	if n < len(stepperSteps) && !s.Terminal() {
		st.Next = stepperSteps[n][i]
	}
	return st
}

func (s *Server) dossierPage(v *visit) error {
	return s.showDossier(v, http.StatusOK, refusal{})
}

// showDossier renders the application with the forms open to the person;
// a refusal names the form it came from, to show its errors and refill it.
func (s *Server) showDossier(v *visit, status int, failed refusal) error {
	id := v.r.PathValue("id")
	res := v.call(api.CallRequest{Method: "GET", Path: "/v1/applications/" + id})
	if res.Problem != nil {
		v.problemPage(res.Problem)
		return nil
	}
	st := res.Body.(lifecycle.State)
	pol := s.Rules.Policy()
	dp := dossierPage{State: st, Stepper: newStepper(st.Status, v.lang), Failed: failed.step, Values: failed.values,
		CanAudit: v.may(lifecycle.ActionHistory), LDC: pol.IsLeastDeveloped(st.Country()), Cap: pol.CapPerMission,
		Prefill: map[string]formValues{}}
	now := time.Now()
	for _, f := range stepForms {
		if v.may(f.Action) && f.offered(st, now) {
			dp.Forms = append(dp.Forms, f.Path)
		}
	}
	if slices.Contains(dp.Forms, "complements") {
		dp.Fields = dossierFields(st.Dossier, "dossier.")
		if failed.step == "complements" {
			dp.Fields = failed.values
		}
		dp.Totals = s.budgetTotals(dp.Fields, "dossier.")
	}
	dp.Prefill["changes"] = changesValues(st.Dossier)
	if fu := st.FollowUp; fu != nil {
		dp.Prefill["report"] = reportValues(fu.Report)
		if fu.Report != nil {
			dp.Attached = fu.Report.Attachments
			if st.Decision != nil {
				dp.MaxPayable = lifecycle.PayableCap(st.Decision.Amount, fu.Report.Costs.Total(), pol.SharePercent(st.Country()))
			}
		}
	}
	if failed.step == "report" {
		dp.Attached = failed.attached
	}
	a := s.Rules.Attachments
	dp.FilesHint = v.t("report_files_hint", a.Files(), fileSize(v.lang, a.FileBytes()))
	switch {
	case st.Decision != nil && st.Decision.Value == "approve":
		dp.Letters = append(dp.Letters, "approval")
	case st.Decision != nil:
		dp.Letters = append(dp.Letters, "refusal")
	}
	if st.FollowUp != nil && st.FollowUp.Paid != nil {
		dp.Letters = append(dp.Letters, "payment_statement")
	}
	if v.may(lifecycle.ActionFollow) {
		res := v.call(api.CallRequest{Method: "GET", Path: "/v1/applications/" + id + "/follow"})
		if res.Problem != nil {
			return res.Problem
		}
		dp.CanFollow, dp.Following = true, res.Body.(api.Following).Following
	}
	return v.render(status, "dossier", v.t("application")+" "+id, dp, failed.problem)
}

// follow follows or stops following the application (the form's follow
// field: on or off), through the API's route, and shows the dossier again.
func (s *Server) follow(v *visit) error {
	id := v.r.PathValue("id")
	method := http.MethodDelete
	if v.r.PostFormValue("follow") == "on" {
		method = http.MethodPut
	}
	res := v.call(api.CallRequest{Method: method, Path: "/v1/applications/" + id + "/follow"})
	if res.Problem != nil {
		v.problemPage(res.Problem)
		return nil
	}
	return v.redirect("/demandes/" + url.PathEscape(id))
}

// step runs a human step from its form, through the API's route. A refusal
// shows the dossier again with the API's messages next to the fields.
func (s *Server) step(v *visit) error {
	name := v.r.PathValue("step")
	i := slices.IndexFunc(stepForms, func(f stepForm) bool { return f.Path == name })
	if i < 0 {
		return s.notFound(v)
	}
	values := postedValues(v.r)
	id := v.r.PathValue("id")
	body := withoutEmpty(stepForms[i].body(values))
	var attached []lifecycle.Attachment
	if name == "report" {
		attached = keptAttachments(v.r.PostForm["attached"])
		uploaded, p := s.uploadFiles(v, id)
		attached = append(attached, uploaded...)
		if p != nil {
			return s.refused(v, refusal{step: name, values: values, attached: attached, problem: p})
		}
		ids := []string{}
		for _, a := range attached {
			ids = append(ids, a.ID)
		}
		body["report"].(map[string]any)["attachments"] = ids
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	res := v.call(api.CallRequest{Method: "POST", Path: "/v1/applications/" + id + "/" + name, Body: raw,
		IdempotencyKey: v.r.PostForm.Get("attempt")})
	if res.Problem != nil {
		return s.refused(v, refusal{step: name, values: values, attached: attached, problem: res.Problem})
	}
	return v.redirect("/demandes/" + id + "?ok=step_ok")
}

// refused answers a refused form: the dossier again with the API's
// messages next to the fields, or the refusal alone when the application
// is not the person's to act on (nothing more to show, nor to read, which
// would be a second refusal in the attempts table).
func (s *Server) refused(v *visit, r refusal) error {
	if r.problem.Status == http.StatusForbidden || r.problem.Status == http.StatusNotFound {
		v.problemPage(r.problem)
		return nil
	}
	if r.step == "report" {
		// One message per list (agents, files), next to its one input.
		r.problem = foldIndexes(r.problem)
	}
	return s.showDossier(v, r.problem.Status, r)
}
