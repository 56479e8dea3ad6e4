package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// The bare workflow must keep the engine's shape: 6 activities, 3 of them
// inside the 3 update handlers, and updates refused before the consultation.
func TestBareWorkflowShape(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(BareWorkflow)
	env.RegisterActivity(&bareActivities{})
	var activities []string
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		activities = append(activities, info.ActivityType.Name)
	})
	var rejected, accepted int
	update := func(name string, wantAccepted bool) {
		env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				rejected++
				if wantAccepted {
					t.Errorf("%s rejected: %v", name, err)
				}
			},
			OnAccept: func() {
				if !wantAccepted {
					t.Errorf("%s accepted before the consultation", name)
				}
			},
			OnComplete: func(_ any, err error) {
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
				accepted++
			},
		}, bareInput{Actor: "someone"})
	}
	// Before the three activities of the consultation run: refused.
	env.RegisterDelayedCallback(func() { update(bareDecide, false) }, 0)
	// Then one step a second, each after the previous one is recorded.
	for i, name := range []string{bareOpinion, bareRecommend, bareDecide} {
		env.RegisterDelayedCallback(func() { update(name, true) }, time.Duration(i+1)*time.Second)
	}
	env.ExecuteWorkflow(BareWorkflow, "SN")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var status string
	if err := env.GetWorkflowResult(&status); err != nil || status != "approved" {
		t.Fatalf("result %q, %v", status, err)
	}
	if rejected != 1 || accepted != 3 {
		t.Errorf("%d updates rejected, %d completed; want 1 and 3", rejected, accepted)
	}
	want := []string{"Record", "Lookup", "Record", "Record", "Record", "Record"}
	if fmt.Sprint(activities) != fmt.Sprint(want) {
		t.Errorf("activities %v, want %v", activities, want)
	}
}
