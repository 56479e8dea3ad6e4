// Package audit gives auditors two things: the readable timeline of one
// application, merged from its Temporal history, the journal and the refused
// attempts; and a verification that the journal is intact (its hash chain)
// and agrees with the workflow history that produced it.
//
// The Temporal history is the short-term record (it goes when the namespace's
// retention passes); the journal is the long-term one. Both functions work
// on the journal alone once the history is gone.
package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/daect/expectct/internal/codec"
)

// Where a timeline entry comes from.
const (
	SourceTemporal = "temporal" // the workflow's event history
	SourceJournal  = "journal"  // the hash-chained journal in PostgreSQL
	SourceAttempt  = "attempt"  // a refused action logged by the API
)

// Steps of the entries read from the Temporal history. Journal entries use
// the journal's event type (lifecycle.Event*), attempts the action refused.
const (
	StepWorkflowStarted        = "workflow_started"
	StepUpdateAccepted         = "update_accepted"
	StepUpdateCompleted        = "update_completed"
	StepTimerFired             = "timer_fired"
	StepTimerCanceled          = "timer_canceled"
	StepTransitionScheduled    = "transition_scheduled"
	StepTransitionFailed       = "transition_failed"
	StepActivityScheduled      = "activity_scheduled"
	StepWorkflowCompleted      = "workflow_completed"
	StepWorkflowFailed         = "workflow_failed"
	StepWorkflowTerminated     = "workflow_terminated"
	StepWorkflowCanceled       = "workflow_canceled"
	StepWorkflowTimedOut       = "workflow_timed_out"
	StepWorkflowContinuedAsNew = "workflow_continued_as_new"
)

// Names of the activities the workflow runs, as registered from
// activities.Activities' methods.
const (
	activityRecordTransition = "RecordTransition"
	activityLookupEmbassy    = "LookupEmbassy"
)

// Actor is who did a step: the same two fields in every source.
type Actor struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

// Entry is one line of an application's timeline.
type Entry struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	Step   string    `json:"step"`
	Actor  Actor     `json:"actor"`
	Status string    `json:"status"`
	// Summary is the line as a person reads it, in English.
	Summary string `json:"summary"`
	// Details hold what was decided (opinion, amount, comment...), never
	// the dossier's personal data. Amounts are exact decimal numbers of euros.
	Details map[string]any `json:"details"`
}

// Timeline is everything that happened to one application, oldest first.
type Timeline struct {
	ApplicationID string  `json:"application_id"`
	Entries       []Entry `json:"entries"`
	// NextAttemptsBefore, when set, is where the older refused attempts
	// start: pass it as attempts_before for the next page.
	NextAttemptsBefore int64 `json:"next_attempts_before,omitempty"`
}

// dataConverter decodes the payloads of the history once the codec has
// opened them (loadHistory): under the codec, the SDK's default converter.
var dataConverter = converter.GetDefaultDataConverter()

// loadHistory reads the whole event history of the application: its latest
// run, preceded by the runs it continued from, oldest first. found is false
// when Temporal no longer has it (retention passed) or never had it; runs
// older than the retention are left out.
func loadHistory(ctx context.Context, c client.Client, pc *codec.Codec, applicationID string) (events []*historypb.HistoryEvent, found bool, err error) {
	for runID := ""; ; {
		run, err := loadRun(ctx, c, applicationID, runID)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return events, len(events) > 0, nil
		}
		if err != nil {
			return nil, false, err
		}
		if err := pc.DecodeHistory(ctx, run); err != nil {
			return nil, false, fmt.Errorf("open the sealed history of %s: %w", applicationID, err)
		}
		events = append(run, events...)
		runID = run[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if runID == "" {
			return events, true, nil
		}
	}
}

// loadRun reads one run's history; runID "" is the latest.
func loadRun(ctx context.Context, c client.Client, applicationID, runID string) ([]*historypb.HistoryEvent, error) {
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx, applicationID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				return nil, err
			}
			return nil, fmt.Errorf("read the workflow history of %s: %w", applicationID, err)
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		return nil, serviceerror.NewNotFound("no history for " + applicationID)
	}
	return events, nil
}
