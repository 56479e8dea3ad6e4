package web

import (
	"encoding/json"
	"net/http"
	"slices"

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
	body   func(f formValues) any
}

// formValues are a form's fields by name.
type formValues map[string]string

func (f formValues) money(name string) any {
	v := normalizeMoney(f[name])
	if v == "" {
		return nil
	}
	return v
}

var stepForms = []stepForm{
	{"opinion", lifecycle.ActionOpinion, []lifecycle.Status{lifecycle.StatusEmbassyConsultation}, func(f formValues) any {
		return map[string]any{"opinion": f["opinion"], "comment": f["comment"]}
	}},
	{"complements-request", lifecycle.ActionRequestComplements, []lifecycle.Status{lifecycle.StatusUnderReview}, func(f formValues) any {
		return map[string]any{"message": f["message"]}
	}},
	{"recommendation", lifecycle.ActionRecommend, []lifecycle.Status{lifecycle.StatusUnderReview}, func(f formValues) any {
		return map[string]any{"recommendation": f["recommendation"], "amount": f.money("amount"), "comment": f["comment"]}
	}},
	{"decision", lifecycle.ActionDecide, []lifecycle.Status{lifecycle.StatusAwaitingDecision}, func(f formValues) any {
		return map[string]any{"decision": f["decision"], "amount": f.money("amount"), "motivation": f["motivation"]}
	}},
	{"complements", lifecycle.ActionComplements, []lifecycle.Status{lifecycle.StatusAwaitingComplements}, func(f formValues) any {
		return map[string]any{"dossier": dossierJSON(f, "dossier."), "comment": f["comment"]}
	}},
	{"withdrawal", lifecycle.ActionWithdraw, lifecycle.BeforeDecision, func(f formValues) any {
		return map[string]any{"reason": f["reason"]}
	}},
	{"renunciation", lifecycle.ActionRenounce, []lifecycle.Status{lifecycle.StatusApproved}, func(f formValues) any {
		return map[string]any{"reason": f["reason"]}
	}},
	{"changes-review", lifecycle.ActionReviewChanges, []lifecycle.Status{lifecycle.StatusChangesDeclared}, func(f formValues) any {
		return map[string]any{"outcome": f["outcome"], "reason": f["reason"]}
	}},
	{"report-review", lifecycle.ActionReviewReport, []lifecycle.Status{lifecycle.StatusReportReview}, func(f formValues) any {
		return map[string]any{"outcome": f["outcome"], "payable": f.money("payable"), "motivation": f["motivation"], "message": f["message"]}
	}},
	{"report-deadline", lifecycle.ActionExtendReport, lifecycle.AwaitingReport, func(f formValues) any {
		return map[string]any{"until": f["until"], "reason": f["reason"]}
	}},
	{"cancellation", lifecycle.ActionCancelGrant, []lifecycle.Status{lifecycle.StatusReportOverdue}, func(f formValues) any {
		return map[string]any{"motivation": f["motivation"]}
	}},
	{"payment-order", lifecycle.ActionOrderPayment, []lifecycle.Status{lifecycle.StatusAwaitingPaymentOrder}, func(f formValues) any {
		return map[string]any{"comment": f["comment"]}
	}},
	{"payment-confirmation", lifecycle.ActionConfirmPayment, []lifecycle.Status{lifecycle.StatusPaymentOrdered}, func(f formValues) any {
		return map[string]any{"reference": f["reference"], "paid_on": f["paid_on"]}
	}},
}

// dossierPage is an application as its page shows it.
type dossierPage struct {
	State lifecycle.State
	// Steps of the stepper, and where the application stands.
	Stepper stepper
	Forms   []string
	// Values refill a refused form; Fields are the complements' dossier.
	Values   formValues
	Fields   formValues
	Failed   string
	CanAudit bool
	LDC      bool
	Cap      dossier.Money
	Letters  []string
	// Totals are the complements' budget sums.
	Totals totals
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
	return s.showDossier(v, http.StatusOK, "", nil, nil)
}

// showDossier renders the application with the forms open to the person;
// failed names the form a refusal came from, to show its errors and
// refill it.
func (s *Server) showDossier(v *visit, status int, failed string, values formValues, p *api.Problem) error {
	id := v.r.PathValue("id")
	res := v.call(api.CallRequest{Method: "GET", Path: "/v1/applications/" + id})
	if res.Problem != nil {
		v.problemPage(res.Problem)
		return nil
	}
	st := res.Body.(lifecycle.State)
	pol := s.Rules.Policy()
	dp := dossierPage{State: st, Stepper: newStepper(st.Status, v.lang), Failed: failed, Values: values,
		CanAudit: v.may(lifecycle.ActionHistory), LDC: pol.IsLeastDeveloped(st.Country()), Cap: pol.CapPerMission}
	for _, f := range stepForms {
		if v.may(f.Action) && slices.Contains(f.During, st.Status) {
			dp.Forms = append(dp.Forms, f.Path)
		}
	}
	if slices.Contains(dp.Forms, "complements") {
		dp.Fields = dossierFields(st.Dossier, "dossier.")
		if failed == "complements" {
			dp.Fields = values
		}
		dp.Totals = s.budgetTotals(dp.Fields, "dossier.")
	}
	switch {
	case st.Decision != nil && st.Decision.Value == "approve":
		dp.Letters = append(dp.Letters, "approval")
	case st.Decision != nil:
		dp.Letters = append(dp.Letters, "refusal")
	}
	if st.FollowUp != nil && st.FollowUp.Paid != nil {
		dp.Letters = append(dp.Letters, "payment_statement")
	}
	return v.render(status, "dossier", v.t("application")+" "+id, dp, p)
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
	body, err := json.Marshal(stepForms[i].body(values))
	if err != nil {
		return err
	}
	id := v.r.PathValue("id")
	res := v.call(api.CallRequest{Method: "POST", Path: "/v1/applications/" + id + "/" + name, Body: body,
		IdempotencyKey: v.r.PostForm.Get("attempt")})
	switch {
	case res.Problem != nil && (res.Problem.Status == http.StatusForbidden || res.Problem.Status == http.StatusNotFound):
		// Not theirs to act on: nothing more to show (nor to read, which
		// would be a second refusal in the attempts table).
		v.problemPage(res.Problem)
		return nil
	case res.Problem != nil:
		return s.showDossier(v, res.Problem.Status, name, values, res.Problem)
	}
	return v.redirect("/demandes/" + id + "?ok=step_ok")
}
