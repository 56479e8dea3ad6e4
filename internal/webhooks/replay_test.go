package webhooks_test

import (
	"os"
	"testing"

	"github.com/daect/expectct/internal/testenv"
	"github.com/daect/expectct/internal/webhooks"
)

// TestReplayDelivererHistory replays the committed run of a deliverer (a
// refused delivery retried, then given up, the next ones delivered, the
// subscription removed) through the current workflow code: a change that
// would break running deliverers fails here. Regenerate it with
// EXPECTCT_WRITE_HISTORIES=1 go test ./internal/e2e/ -run TestWebhookGivenUpAfterRetryTime.
func TestReplayDelivererHistory(t *testing.T) {
	data, err := os.ReadFile(testenv.HistoryFile(t, webhooks.HistoryName))
	if err != nil {
		t.Fatalf("the deliverer has no committed history: %v", err)
	}
	if err := testenv.ReplayHistoryJSON(data); err != nil {
		t.Fatalf("replay %s: %v", webhooks.HistoryName, err)
	}
}
