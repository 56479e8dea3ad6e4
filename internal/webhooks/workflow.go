package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/daect/expectct/internal/store"
)

// WorkflowName is the registered name of the deliverer workflow.
const WorkflowName = "WebhookDeliverer"

// HistoryName names the deliverer's committed history
// (testdata/histories/webhook_deliverer.json), recorded by the end-to-end
// tests with EXPECTCT_WRITE_HISTORIES=1 and replayed with the
// application's.
const HistoryName = "webhook_deliverer"

// maxRounds bounds the rounds of one run even when Temporal does not
// suggest continuing as new: each idle round adds a few events.
const maxRounds = 200

// Deliverer delivers to one subscriber for as long as the subscription is
// enabled: round after round of DeliverWebhooks, each retried with backoff
// while the receiver fails. It continues as new when the history grows,
// and ends when the subscription is removed.
func Deliverer(ctx workflow.Context, subscriptionID string) error {
	for round := 1; ; round++ {
		var set Settings
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{ScheduleToCloseTimeout: 10 * time.Second})
		if err := workflow.ExecuteLocalActivity(lctx, activitySettings).Get(lctx, &set); err != nil {
			return err
		}
		set = set.withDefaults()
		startToClose := set.IdleWait + 2*set.Timeout + 30*time.Second
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: startToClose,
			HeartbeatTimeout:    set.Timeout + 20*time.Second,
			// The deliveries' own retry time decides what is given up; this
			// only ends a round that could never run (the database down
			// for longer than that).
			ScheduleToCloseTimeout: set.RetryFor + set.MaxBackoff + startToClose,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: set.Backoff, BackoffCoefficient: 2, MaximumInterval: set.MaxBackoff,
				NonRetryableErrorTypes: []string{ErrUnknownSubscription}},
			Summary: "deliver pending events to " + subscriptionID,
		})
		var done Round
		err := workflow.ExecuteActivity(actx, activityDeliver, subscriptionID).Get(actx, &done)
		var appErr *temporal.ApplicationError
		switch {
		case err == nil && done.Disabled:
			return nil
		case err != nil && (ctx.Err() != nil || errors.As(err, &appErr) && appErr.Type() == ErrUnknownSubscription):
			return err
		case err != nil:
			workflow.GetLogger(ctx).Warn("webhook round ended without success; starting another", "subscription", subscriptionID, "error", err)
			if err := workflow.NewTimerWithOptions(ctx, set.MaxBackoff, workflow.TimerOptions{Summary: "webhook_backoff"}).Get(ctx, nil); err != nil {
				return err
			}
		}
		if round >= maxRounds || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return workflow.NewContinueAsNewError(ctx, WorkflowName, subscriptionID)
		}
	}
}

// Start starts the deliverer of a subscription on the task queue, or finds
// it running.
func Start(ctx context.Context, c client.Client, taskQueue, subscriptionID string) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: WorkflowID(subscriptionID), TaskQueue: taskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, WorkflowName, subscriptionID)
	if err != nil {
		return fmt.Errorf("start the webhook deliverer of %s: %w", subscriptionID, err)
	}
	return nil
}

// Stop cancels the deliverer of a subscription; one already ended is fine.
func Stop(ctx context.Context, c client.Client, subscriptionID string) error {
	err := c.CancelWorkflow(ctx, WorkflowID(subscriptionID), "")
	var notFound *serviceerror.NotFound
	if err != nil && !errors.As(err, &notFound) {
		return fmt.Errorf("stop the webhook deliverer of %s: %w", subscriptionID, err)
	}
	return nil
}

// Ensure starts the deliverer of every enabled subscription that has none
// running. Every worker calls it at start, so a deliverer that could not be
// started with its subscription, or that ended, runs again.
func Ensure(ctx context.Context, c client.Client, st *store.Store, taskQueue string) (int, error) {
	subs, err := st.Webhooks(ctx, true)
	if err != nil {
		return 0, fmt.Errorf("list the webhook subscriptions: %w", err)
	}
	for _, s := range subs {
		if err := Start(ctx, c, taskQueue, s.ID); err != nil {
			return 0, err
		}
	}
	return len(subs), nil
}
