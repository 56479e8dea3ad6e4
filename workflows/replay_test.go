package workflows_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/daect/expectct/internal/testenv"
	"github.com/daect/expectct/worker"
)

// historiesDir holds one history per decision path, recorded from real runs
// by the end-to-end tests (EXPECTCT_WRITE_HISTORIES=1 go test ./internal/e2e/
// -run Histories), plus any older history kept after a workflow change.
const historiesDir = "../testdata/histories"

// TestReplayHistories replays every committed history through the current
// workflow code: a change that would make a recorded application take another
// decision fails here, before it reaches a running application.
func TestReplayHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	// The application's decision paths, and one run of the checkpoint
	// workflow its schedule starts.
	for _, p := range append(slices.Clone(testenv.HistoryPaths), "checkpoint") {
		if !slices.Contains(names, p) {
			t.Errorf("no committed history for the path %s in %s", p, historiesDir)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			replayer := sdkworker.NewWorkflowReplayer()
			worker.Register(replayer)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(testenv.QuietLogger(), f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
