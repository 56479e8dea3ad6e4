// Package worker builds the Temporal worker that runs the application
// workflow and its activities. `expectct worker`, `expectct dev` and the
// tests all use New, so they run exactly the same registrations.
package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/daect/expectct/activities"
	"github.com/daect/expectct/internal/webhooks"
	"github.com/daect/expectct/workflows"
)

// DefaultTaskQueue is the task queue of the application workflows.
const DefaultTaskQueue = "expectct"

// New builds a worker on the task queue with every workflow and activity
// registered: the application's, and the webhook deliverers' when hooks is
// not nil. Call Run (blocks until interrupted) or Start/Stop on it; Stop
// waits for running activities up to the stop timeout.
func New(c client.Client, taskQueue string, acts *activities.Activities, hooks *webhooks.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		// Let an activity that is writing a transition or sending an e-mail
		// finish when the process is asked to stop.
		WorkerStopTimeout: 20 * time.Second,
	})
	Register(w)
	w.RegisterActivity(acts)
	if hooks != nil {
		w.RegisterActivity(hooks)
	}
	return w
}

// Register adds the workflows to any registry: a worker, a replayer, the
// test environment.
func Register(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
}) {
	r.RegisterWorkflowWithOptions(workflows.Application, workflow.RegisterOptions{Name: workflows.WorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Checkpoint, workflow.RegisterOptions{Name: workflows.CheckpointWorkflowName})
	r.RegisterWorkflowWithOptions(webhooks.Deliverer, workflow.RegisterOptions{Name: webhooks.WorkflowName})
}

// CheckpointScheduleID is the ID of the schedule that signs checkpoints for
// the workflows of a task queue.
func CheckpointScheduleID(taskQueue string) string { return "checkpoint-" + taskQueue }

// EnsureCheckpointSchedule creates the schedule that runs the checkpoint
// workflow on the task queue every interval, the first run at once; when it
// exists it sets its interval. Every worker calls it at start: the first
// creates it, the others find it.
func EnsureCheckpointSchedule(ctx context.Context, c client.Client, taskQueue string, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("EXPECTCT_CHECKPOINT_INTERVAL=%s: a positive duration expected", every)
	}
	id := CheckpointScheduleID(taskQueue)
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   id,
		Spec: spec,
		Action: &client.ScheduleWorkflowAction{ID: id, Workflow: workflows.CheckpointWorkflowName, TaskQueue: taskQueue,
			WorkflowRunTimeout: 30 * time.Minute},
		Overlap:            enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		TriggerImmediately: true,
	})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		if err != nil {
			return fmt.Errorf("create the checkpoint schedule %s: %w", id, err)
		}
		return nil
	}
	err = c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			if len(in.Description.Schedule.Spec.Intervals) == 1 && in.Description.Schedule.Spec.Intervals[0].Every == every {
				return nil, temporal.ErrSkipScheduleUpdate
			}
			in.Description.Schedule.Spec = &spec
			return &client.ScheduleUpdate{Schedule: &in.Description.Schedule}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update the checkpoint schedule %s: %w", id, err)
	}
	return nil
}
