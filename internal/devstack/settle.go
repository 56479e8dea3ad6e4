package devstack

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// WaitSettled waits until a workflow has closed, or waits with nothing
// pending (no workflow task, no activity): an approved application's
// workflow then waits for its mission to end, its first phase done.
func WaitSettled(ctx context.Context, c client.Client, id string) error {
	for {
		d, err := c.DescribeWorkflow(ctx, id, "")
		if err != nil {
			return err
		}
		open := d.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		if !open || (d.RawResponse.GetPendingWorkflowTask() == nil && len(d.RawResponse.GetPendingActivities()) == 0) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
