package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// HistoryShape is what one lifecycle leaves in Temporal: every event is a
// write on the server, and its size is what the server stores and ships.
type HistoryShape struct {
	WorkflowID string         `json:"workflow_id"`
	Events     int64          `json:"events"`
	Bytes      int64          `json:"bytes"`
	ByType     map[string]int `json:"by_type"`
}

// historyShape reads the history of a closed workflow.
func historyShape(ctx context.Context, c client.Client, id string) (*HistoryShape, error) {
	d, err := c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", id, err)
	}
	info := d.RawResponse.GetWorkflowExecutionInfo()
	h := &HistoryShape{WorkflowID: id, Events: info.GetHistoryLength(), Bytes: info.GetHistorySizeBytes(), ByType: map[string]int{}}
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		h.ByType[e.GetEventType().String()]++
	}
	return h, nil
}

// historyTypes are the event types of both histories, sorted.
func historyTypes(hs ...*HistoryShape) []string {
	set := map[string]bool{}
	for _, h := range hs {
		if h != nil {
			for t := range h.ByType {
				set[t] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}
