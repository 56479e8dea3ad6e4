package webhooks

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// deliverFunc stands in for DeliverWebhooks.
type deliverFunc func(ctx context.Context, subscriptionID string) (Round, error)

func deliverEnv(t *testing.T, set Settings, deliver deliverFunc) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Deliverer, workflow.RegisterOptions{Name: WorkflowName})
	env.RegisterActivityWithOptions(func(context.Context) (Settings, error) { return set, nil }, activity.RegisterOptions{Name: activitySettings})
	env.RegisterActivityWithOptions(deliver, activity.RegisterOptions{Name: activityDeliver})
	return env
}

// A receiver down for an hour loses nothing: the round is retried with
// backoff, never more than MaxBackoff apart, until it succeeds; then the
// deliverer goes on, and ends when the subscription is removed.
func TestDelivererRetriesThroughAnHourOfRefusals(t *testing.T) {
	set := DefaultSettings
	var calls []time.Time
	var env *testsuite.TestWorkflowEnvironment
	var start time.Time
	succeeded := 0
	env = deliverEnv(t, set, func(ctx context.Context, id string) (Round, error) {
		if id != "WH-ABCDEFGHIJKLMNOP" {
			t.Errorf("delivering to %s", id)
		}
		now := env.Now()
		calls = append(calls, now)
		switch {
		case now.Sub(start) < time.Hour:
			return Round{}, temporal.NewApplicationError("HTTP 503", ErrDeliveryFailed)
		case succeeded < 3:
			succeeded++
			return Round{Delivered: 12}, nil
		}
		return Round{Disabled: true}, nil
	})
	start = env.Now()
	env.ExecuteWorkflow(Deliverer, "WH-ABCDEFGHIJKLMNOP")
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("deliverer: completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	failed := 0
	for i, at := range calls {
		if at.Sub(start) < time.Hour {
			failed++
		}
		if i > 0 && at.Sub(calls[i-1]) > set.MaxBackoff+time.Second {
			t.Errorf("attempt %d came %s after the previous one, more than %s", i+1, at.Sub(calls[i-1]), set.MaxBackoff)
		}
	}
	if failed < 10 || len(calls) != failed+4 {
		t.Errorf("%d rounds, %d failed: want the hour of refusals retried, then rounds until the removal", len(calls), failed)
	}
}

// An unknown subscription ends the deliverer at once; a round that could
// never run is started again after a pause, not in a tight loop.
func TestDelivererStopsOnUnknownSubscription(t *testing.T) {
	env := deliverEnv(t, DefaultSettings, func(context.Context, string) (Round, error) {
		return Round{}, temporal.NewNonRetryableApplicationError("no webhook subscription", ErrUnknownSubscription, errors.New("not found"))
	})
	env.ExecuteWorkflow(Deliverer, "WH-ABCDEFGHIJKLMNOP")
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != ErrUnknownSubscription {
		t.Fatalf("deliverer of an unknown subscription: %v", err)
	}
}

// The loop keeps its history bounded: after maxRounds idle rounds the
// deliverer continues as new.
func TestDelivererContinuesAsNew(t *testing.T) {
	rounds := 0
	env := deliverEnv(t, DefaultSettings, func(context.Context, string) (Round, error) {
		rounds++
		return Round{}, nil
	})
	env.ExecuteWorkflow(Deliverer, "WH-ABCDEFGHIJKLMNOP")
	if err := env.GetWorkflowError(); !workflow.IsContinueAsNewError(err) || rounds != maxRounds {
		t.Fatalf("after %d rounds: %v, want continue-as-new after %d", rounds, err, maxRounds)
	}
}
