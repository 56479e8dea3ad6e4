// Package worker builds the Temporal worker that runs the application
// workflow and its activities. `expectct worker`, `expectct dev` and the
// tests all use New, so they run exactly the same registrations.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/daect/expectct/activities"
	"github.com/daect/expectct/workflows"
)

// DefaultTaskQueue is the task queue of the application workflows.
const DefaultTaskQueue = "expectct"

// New builds a worker on the task queue with every workflow and activity
// registered. Call Run (blocks until interrupted) or Start/Stop on it; Stop
// waits for running activities up to the stop timeout.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		// Let an activity that is writing a transition or sending an e-mail
		// finish when the process is asked to stop.
		WorkerStopTimeout: 20 * time.Second,
	})
	Register(w)
	w.RegisterActivity(acts)
	return w
}

// Register adds the workflows to any registry: a worker, a replayer, the
// test environment.
func Register(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
}) {
	r.RegisterWorkflowWithOptions(workflows.Application, workflow.RegisterOptions{Name: workflows.WorkflowName})
}
