package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/daect/expectct/worker"
)

// HistoryPaths are the decision paths of an application. Each has a history
// committed as testdata/histories/<path>.json, recorded from a real run by the
// end-to-end tests and replayed by the workflow package's replay test, so a
// workflow change that breaks a recorded path fails the build.
var HistoryPaths = []string{
	"paid_and_closed",
	"grant_cancelled",
	"report_changes_then_paid",
	"overdue_then_extended",
	"changes_then_renounced",
	"approved",
	"rejected",
	"withdrawn",
	"embassy_deadline",
	"complements_expired",
	"complements_answered",
	"embassy_contact_missing",
	"decision_reminder",
	"withdrawn_during_review",
	"complements_then_withdrawn",
	"concurrent_steps",
}

// WriteHistoriesEnv, set to 1, makes the end-to-end tests (re)write the
// committed histories of the paths they run.
const WriteHistoriesEnv = "EXPECTCT_WRITE_HISTORIES"

// WritingHistories tells whether this run rewrites the committed histories.
func WritingHistories() bool { return os.Getenv(WriteHistoriesEnv) == "1" }

// HistoryFile is where the committed history of a path lives.
func HistoryFile(t testing.TB, path string) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "testdata", "histories", path+".json")
}

// WorkflowHistory reads the whole event history of a workflow's latest run.
func WorkflowHistory(t testing.TB, c client.Client, workflowID string) *historypb.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("testenv: history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 {
		t.Fatalf("testenv: workflow %s has no history", workflowID)
	}
	return h
}

// MarshalHistory renders a history as `temporal workflow show --output json`
// does (payloads base64-encoded, not in shorthand), the format
// client.HistoryFromJSON and the replayer read.
func MarshalHistory(h *historypb.History) ([]byte, error) {
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("marshal history: %w", err)
	}
	return append(b, '\n'), nil
}

// ReplayHistoryJSON replays a JSON history through the current workflow code.
func ReplayHistoryJSON(data []byte) error {
	h, err := client.HistoryFromJSON(bytes.NewReader(data), client.HistoryJSONOptions{})
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	r := sdkworker.NewWorkflowReplayer()
	worker.Register(r)
	return r.ReplayWorkflowHistory(QuietLogger(), h)
}

// WriteHistory writes the history of a closed workflow to the committed file
// of the path, after checking that it reads back and replays. It refuses to
// overwrite a committed history the current code no longer replays: that one
// must be kept (under another name) and the change guarded by
// workflow.GetVersion, since applications recorded that way may still run.
// It does overwrite one that still replays, so copy a history that covers the
// old branch of a GetVersion under another name before regenerating.
func WriteHistory(t testing.TB, c client.Client, workflowID, path string) {
	t.Helper()
	file := HistoryFile(t, path)
	if old, err := os.ReadFile(file); err == nil {
		if err := ReplayHistoryJSON(old); err != nil {
			t.Fatalf("testenv: the committed %s no longer replays (%v): keep it under another name, "+
				"guard the change with workflow.GetVersion, then write the new history", file, err)
		}
	}
	h := WorkflowHistory(t, c, workflowID)
	last := h.Events[len(h.Events)-1].GetEventType()
	if last != enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Fatalf("testenv: history of %s ends with %s, want a completed workflow", workflowID, last)
	}
	data, err := MarshalHistory(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := ReplayHistoryJSON(data); err != nil {
		t.Fatalf("testenv: the history of %s does not replay: %v", workflowID, err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d events, %d bytes)", file, len(h.Events), len(data))
}
