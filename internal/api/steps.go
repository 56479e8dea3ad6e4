package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"

	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// stepRoute is one human step: its URL, its update and how to read its body
// into the update's input (with the caller as actor).
type stepRoute struct {
	path   string
	action lifecycle.Action
	update string
	input  func(body []byte, actor lifecycle.Actor, maxBytes int64) (any, error)
}

// The bodies of the human steps, as clients send them.
type (
	opinionBody struct {
		Opinion string `json:"opinion"`
		Comment string `json:"comment"`
	}
	complementsRequestBody struct {
		Message string `json:"message"`
	}
	complementsBody struct {
		// A pointer, so that a missing dossier is told apart from an
		// empty one; its keys are checked on their paths (dossier.mission.title).
		Dossier *dossier.Dossier `json:"dossier"`
		Comment string           `json:"comment"`
	}
	recommendationBody struct {
		Recommendation string        `json:"recommendation"`
		Amount         dossier.Money `json:"amount"`
		Comment        string        `json:"comment"`
	}
	decisionBody struct {
		Decision   string        `json:"decision"`
		Amount     dossier.Money `json:"amount"`
		Motivation string        `json:"motivation"`
	}
	withdrawalBody struct {
		Reason string `json:"reason"`
	}
	changesBody struct {
		Changes lifecycle.MissionChanges `json:"changes"`
		Reason  string                   `json:"reason"`
	}
	changesReviewBody struct {
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	}
	// The client names the report's files by their IDs; the API fills in
	// what was stored of them (resolveReport).
	reportBody struct {
		Report struct {
			Activities  string                `json:"activities"`
			Results     string                `json:"results"`
			FollowUp    string                `json:"follow_up"`
			Agents      []string              `json:"agents"`
			Costs       lifecycle.ActualCosts `json:"costs"`
			Attachments []string              `json:"attachments"`
		} `json:"report"`
	}
	reportReviewBody struct {
		Outcome    string        `json:"outcome"`
		Payable    dossier.Money `json:"payable"`
		Motivation string        `json:"motivation"`
		Message    string        `json:"message"`
	}
	reportDeadlineBody struct {
		Until  dossier.Date `json:"until"`
		Reason string       `json:"reason"`
	}
	cancellationBody struct {
		Motivation string `json:"motivation"`
	}
	paymentOrderBody struct {
		Comment string `json:"comment"`
	}
	paymentConfirmationBody struct {
		Reference string       `json:"reference"`
		PaidOn    dossier.Date `json:"paid_on"`
	}
)

var stepRoutes = []stepRoute{
	{"opinion", lifecycle.ActionOpinion, lifecycle.UpdateOpinion, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in opinionBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.OpinionInput{Actor: a, Opinion: in.Opinion, Comment: in.Comment}, err
	}},
	{"complements-request", lifecycle.ActionRequestComplements, lifecycle.UpdateRequestComplements, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in complementsRequestBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.RequestComplementsInput{Actor: a, Message: in.Message}, err
	}},
	{"complements", lifecycle.ActionComplements, lifecycle.UpdateComplements, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in complementsBody
		if err := decode(bytes.NewReader(b), max, &in); err != nil {
			return nil, err
		}
		if in.Dossier == nil {
			return nil, &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: []dossier.FieldError{{Field: "dossier", Rule: "required",
				MessageFR: "dossier est un champ obligatoire", MessageEN: "dossier is a required field"}}}
		}
		return lifecycle.ComplementsInput{Actor: a, Dossier: *in.Dossier, Comment: in.Comment}, nil
	}},
	{"recommendation", lifecycle.ActionRecommend, lifecycle.UpdateRecommend, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in recommendationBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.RecommendInput{Actor: a, Recommendation: in.Recommendation, Amount: in.Amount, Comment: in.Comment}, err
	}},
	{"decision", lifecycle.ActionDecide, lifecycle.UpdateDecide, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in decisionBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.DecideInput{Actor: a, Decision: in.Decision, Amount: in.Amount, Motivation: in.Motivation}, err
	}},
	{"withdrawal", lifecycle.ActionWithdraw, lifecycle.UpdateWithdraw, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in withdrawalBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.WithdrawInput{Actor: a, Reason: in.Reason}, err
	}},
	{"renunciation", lifecycle.ActionRenounce, lifecycle.UpdateRenounce, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in withdrawalBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.RenounceInput{Actor: a, Reason: in.Reason}, err
	}},
	{"changes", lifecycle.ActionDeclareChanges, lifecycle.UpdateDeclareChanges, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in changesBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.DeclareChangesInput{Actor: a, Changes: in.Changes, Reason: in.Reason}, err
	}},
	{"changes-review", lifecycle.ActionReviewChanges, lifecycle.UpdateReviewChanges, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in changesReviewBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.ReviewChangesInput{Actor: a, Outcome: in.Outcome, Reason: in.Reason}, err
	}},
	{"report", lifecycle.ActionReport, lifecycle.UpdateReport, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in reportBody
		err := decode(bytes.NewReader(b), max, &in)
		r := in.Report
		return lifecycle.ReportInput{Actor: a, Report: lifecycle.Report{Activities: r.Activities, Results: r.Results, FollowUp: r.FollowUp,
			Agents: r.Agents, Costs: r.Costs, Attachments: attachmentIDs(r.Attachments)}}, err
	}},
	{"report-review", lifecycle.ActionReviewReport, lifecycle.UpdateReviewReport, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in reportReviewBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.ReviewReportInput{Actor: a, Outcome: in.Outcome, Payable: in.Payable, Motivation: in.Motivation, Message: in.Message}, err
	}},
	{"report-deadline", lifecycle.ActionExtendReport, lifecycle.UpdateExtendReport, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in reportDeadlineBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.ExtendReportInput{Actor: a, Until: in.Until, Reason: in.Reason}, err
	}},
	{"cancellation", lifecycle.ActionCancelGrant, lifecycle.UpdateCancelGrant, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in cancellationBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.CancelGrantInput{Actor: a, Motivation: in.Motivation}, err
	}},
	{"payment-order", lifecycle.ActionOrderPayment, lifecycle.UpdateOrderPayment, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in paymentOrderBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.OrderPaymentInput{Actor: a, Comment: in.Comment}, err
	}},
	{"payment-confirmation", lifecycle.ActionConfirmPayment, lifecycle.UpdateConfirmPayment, func(b []byte, a lifecycle.Actor, max int64) (any, error) {
		var in paymentConfirmationBody
		err := decode(bytes.NewReader(b), max, &in)
		return lifecycle.ConfirmPaymentInput{Actor: a, Reference: in.Reference, PaidOn: in.PaidOn}, err
	}},
}

// step runs one human step: the body is read, the actor checked against the
// application's scope, then the workflow's Update decides, synchronously.
func (s *Server) step(st stepRoute) func(*request) (int, any, error) {
	return func(r *request) (int, any, error) {
		body, err := readBody(r)
		if err != nil {
			return 0, nil, err
		}
		in, err := st.input(body, r.actor, s.MaxBodyBytes)
		if err != nil {
			return 0, nil, err
		}
		key, err := idempotencyKey(r)
		if err != nil {
			return 0, nil, err
		}
		if err := s.inScope(r); err != nil {
			return 0, nil, err
		}
		if report, ok := in.(lifecycle.ReportInput); ok {
			if in, err = s.resolveReport(r, report); err != nil {
				return 0, nil, err
			}
		}
		// Without a key each request is a new attempt; with one, a retry
		// is the same update and gets its outcome.
		updateID := uuid.NewString()
		if key != "" {
			if err := s.bindStepKey(r, st.update, key, body); err != nil {
				return 0, nil, err
			}
			updateID = stepUpdateID(st.update, key)
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.UpdateTimeout)
		defer cancel()
		h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			UpdateID:     updateID,
			WorkflowID:   r.appID,
			UpdateName:   st.update,
			Args:         []any{in},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		var result lifecycle.StepResult
		if err == nil {
			err = h.Get(ctx, &result)
		}
		if err != nil && ctx.Err() != nil && s.accepted(r.Context(), r.appID, updateID) {
			// The step was accepted and is being recorded (the database is
			// slow, or an earlier transition is still being recorded): it
			// will complete, so say so rather
			// than invite a retry that would be refused (unless it carries
			// the same Idempotency-Key).
			s.Log.Warn("step accepted, still being recorded", "application_id", r.appID, "step", st.update, "update_id", updateID)
			return http.StatusAccepted, StepAccepted{ApplicationID: r.appID, UpdateID: updateID, Step: st.update,
				Message: "accepted; being recorded / acceptée ; en cours d'enregistrement"}, nil
		}
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			// The application exists (its scope was just read), so Temporal
			// not finding a run to update means the workflow has closed, for
			// instance a withdrawal that won a race with this step.
			return 0, nil, errConflict("the application is closed: no further step is possible")
		}
		if err != nil {
			return 0, nil, err
		}
		s.Log.Info("step accepted", "application_id", r.appID, "step", st.update, "actor", r.actor.ID,
			"status", result.Status, "seq", result.Seq)
		// The update returns once its transition is recorded: the read model
		// holds it (and any later one), as a read would answer.
		state, err := s.storedState(r.Context(), r.appID)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, state, nil
	}
}

func readBody(r *request) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return nil, decodeErr(err)
	}
	if strings.TrimSpace(buf.String()) == "" {
		return nil, &dossier.ValidationError{Kind: dossier.KindMalformed, Fields: []dossier.FieldError{{Field: "$", Rule: "malformed",
			MessageFR: "Le corps de la requête est vide", MessageEN: "The request body is empty"}}}
	}
	return buf.Bytes(), nil
}

// StepAccepted answers a step the workflow accepted but had not finished
// recording when the API stopped waiting.
type StepAccepted struct {
	ApplicationID string `json:"application_id"`
	UpdateID      string `json:"update_id"`
	Step          string `json:"step"`
	Message       string `json:"message"`
}

// accepted tells whether the workflow accepted the update (its validator
// passed), whatever the stage it has reached since.
func (s *Server) accepted(parent context.Context, workflowID, updateID string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 3*time.Second)
	defer cancel()
	resp, err := s.Temporal.WorkflowService().PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
		Namespace:  s.Namespace,
		UpdateRef:  &updatepb.UpdateRef{WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflowID}, UpdateId: updateID},
		WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED},
	})
	return err == nil && resp.GetStage() >= enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
}
