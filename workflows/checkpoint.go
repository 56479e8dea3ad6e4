package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/daect/expectct/internal/lifecycle"
)

// CheckpointWorkflowName is the registered name of the checkpoint workflow,
// which the worker's schedule starts at each interval.
const CheckpointWorkflowName = "Checkpoint"

// activityTakeCheckpoint is activities.Activities.TakeCheckpoint's name.
const activityTakeCheckpoint = "TakeCheckpoint"

// Checkpoint has the heads of every chain signed and stored once. The
// schedule runs it at a fixed interval, skipping a run while one is going:
// a run that cannot reach the database gives up after a while and the next
// interval tries again.
func Checkpoint(ctx workflow.Context) (lifecycle.CheckpointTaken, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    10,
		},
		Summary: "sign the heads of every chain",
	})
	var taken lifecycle.CheckpointTaken
	err := workflow.ExecuteActivity(ctx, activityTakeCheckpoint).Get(ctx, &taken)
	return taken, err
}
