package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The bare workflow is the reference the engine is measured against: the
// same shape as one application (a start, three activities up to the embassy
// consultation, then three updates that each run one activity inside their
// handler: 6 activities and 3 updates in all) with no-op bodies, no database,
// no e-mail, no search attributes, no timers and no API in front.
const (
	BareWorkflowName = "BenchBareApplication"
	bareQuery        = "status"
)

// Bare update names, one per human step of the engine.
const (
	bareOpinion   = "opinion"
	bareRecommend = "recommend"
	bareDecide    = "decide"
)

// bareState is what the bare workflow's query returns.
type bareState struct {
	Status    string `json:"status"`
	Consulted bool   `json:"consulted"`
}

// bareInput is the payload of one bare update.
type bareInput struct {
	Actor string `json:"actor"`
	Value string `json:"value"`
}

// bareActivities are the bare workflow's no-op activities.
type bareActivities struct{}

// Record stands for RecordTransition.
func (*bareActivities) Record(context.Context, string) error { return nil }

// Lookup stands for LookupEmbassy.
func (*bareActivities) Lookup(context.Context, string) (bool, error) { return true, nil }

var bareActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    500 * time.Millisecond,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// BareWorkflow is one bare lifecycle.
func BareWorkflow(ctx workflow.Context, country string) (string, error) {
	var acts *bareActivities
	s := bareState{Status: "submitted"}
	if err := workflow.SetQueryHandler(ctx, bareQuery, func() (bareState, error) { return s, nil }); err != nil {
		return "", err
	}
	actx := workflow.WithActivityOptions(ctx, bareActivityOptions)
	step := func(name, from, to, event string) error {
		return workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, in bareInput) (bareState, error) {
				s.Status = to
				err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, bareActivityOptions),
					acts.Record, event).Get(ctx, nil)
				return s, err
			},
			workflow.UpdateHandlerOptions{Validator: func(in bareInput) error {
				if in.Actor == "" {
					return temporal.NewNonRetryableApplicationError("no actor", "Forbidden", nil)
				}
				if !s.Consulted || s.Status != from {
					return temporal.NewNonRetryableApplicationError(name+" not allowed while "+s.Status, "InvalidState", nil)
				}
				return nil
			}})
	}
	for _, u := range []struct{ name, from, to, event string }{
		{bareOpinion, "embassy_consultation", "under_review", "opinion_given"},
		{bareRecommend, "under_review", "awaiting_decision", "recommended"},
		{bareDecide, "awaiting_decision", "approved", "approved"},
	} {
		if err := step(u.name, u.from, u.to, u.event); err != nil {
			return "", err
		}
	}
	if err := workflow.ExecuteActivity(actx, acts.Record, "submitted").Get(ctx, nil); err != nil {
		return "", err
	}
	var found bool
	if err := workflow.ExecuteActivity(actx, acts.Lookup, country).Get(ctx, &found); err != nil {
		return "", err
	}
	s.Status = "embassy_consultation"
	if err := workflow.ExecuteActivity(actx, acts.Record, "embassy_consulted").Get(ctx, nil); err != nil {
		return "", err
	}
	s.Consulted = true
	if err := workflow.Await(ctx, func() bool { return s.Status == "approved" }); err != nil {
		return "", err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return "", err
	}
	return s.Status, nil
}

// NewBareWorker registers the bare workflow and its activities on a worker
// of their own task queue.
func NewBareWorker(c client.Client, taskQueue string) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(BareWorkflow, workflow.RegisterOptions{Name: BareWorkflowName})
	w.RegisterActivity(&bareActivities{})
	return w
}

// BareDriver drives bare lifecycles directly with the Temporal client.
type BareDriver struct {
	Client    client.Client
	TaskQueue string
	// Prefix makes the workflow IDs of one run unique.
	Prefix string
}

// Start starts one bare workflow.
func (d *BareDriver) Start(ctx context.Context, i int) (string, error) {
	id := fmt.Sprintf("%s-%d", d.Prefix, i)
	_, err := d.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: d.TaskQueue},
		BareWorkflowName, "SN")
	if err != nil {
		return "", fmt.Errorf("start %s: %w", id, err)
	}
	return id, nil
}

// Consulted asks the workflow whether the embassy has been consulted.
func (d *BareDriver) Consulted(ctx context.Context, id string) (bool, error) {
	v, err := d.Client.QueryWorkflow(ctx, id, "", bareQuery)
	if err != nil {
		return false, fmt.Errorf("query %s: %w", id, err)
	}
	var s bareState
	if err := v.Get(&s); err != nil {
		return false, err
	}
	return s.Consulted, nil
}

// Step sends one update and waits for its handler to finish.
func (d *BareDriver) Step(ctx context.Context, id string, step string) (bool, error) {
	var name string
	var in bareInput
	switch step {
	case StepOpinion:
		name, in = bareOpinion, bareInput{Actor: "scac.dakar", Value: "favorable"}
	case StepRecommendation:
		name, in = bareRecommend, bareInput{Actor: "bench.instructeur", Value: "approve"}
	case StepDecision:
		name, in = bareDecide, bareInput{Actor: "bench.delegue", Value: "approve"}
	default:
		return false, fmt.Errorf("unknown step %q", step)
	}
	h, err := d.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{in}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var s bareState
		err = h.Get(ctx, &s)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == "InvalidState" && step == StepOpinion {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s on %s: %w", name, id, err)
	}
	return false, nil
}
