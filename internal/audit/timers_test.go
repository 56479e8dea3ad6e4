package audit

import (
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/daect/expectct/internal/lifecycle"
)

// timerStarted adds a TIMER_STARTED as workflow.NewTimerWithOptions writes
// it: the summary, when given, is a JSON string payload in the event's user
// metadata.
func (b *historyBuilder) timerStarted(id, summary string, d time.Duration) int64 {
	b.t.Helper()
	ev := &historypb.HistoryEvent{EventType: enums.EVENT_TYPE_TIMER_STARTED,
		Attributes: &historypb.HistoryEvent_TimerStartedEventAttributes{TimerStartedEventAttributes: &historypb.TimerStartedEventAttributes{
			TimerId: id, StartToFireTimeout: durationpb.New(d)}}}
	if summary != "" {
		p, err := dataConverter.ToPayload(summary)
		if err != nil {
			b.t.Fatal(err)
		}
		ev.UserMetadata = &sdkpb.UserMetadata{Summary: p}
	}
	return b.add(ev)
}

func (b *historyBuilder) timerFired(id string, started int64) {
	b.add(&historypb.HistoryEvent{EventType: enums.EVENT_TYPE_TIMER_FIRED,
		Attributes: &historypb.HistoryEvent_TimerFiredEventAttributes{TimerFiredEventAttributes: &historypb.TimerFiredEventAttributes{
			TimerId: id, StartedEventId: started}}})
}

func (b *historyBuilder) timerCanceled(id string, started int64) {
	b.add(&historypb.HistoryEvent{EventType: enums.EVENT_TYPE_TIMER_CANCELED,
		Attributes: &historypb.HistoryEvent_TimerCanceledEventAttributes{TimerCanceledEventAttributes: &historypb.TimerCanceledEventAttributes{
			TimerId: id, StartedEventId: started}}})
}

func TestTimelineNamesTimersFromTheirSummary(t *testing.T) {
	b := &historyBuilder{t: t}
	reminder := b.timerStarted("5", lifecycle.TimerEmbassyReminder, 10*24*time.Hour)
	deadline := b.timerStarted("6", lifecycle.TimerEmbassyDeadline, 30*24*time.Hour)
	b.timerFired("5", reminder)
	b.timerCanceled("6", deadline) // the opinion came first
	// No summary, with the embassy reminder's duration: still no name.
	bare := b.timerStarted("7", "", 10*24*time.Hour)
	b.timerFired("7", bare)
	other := b.timerStarted("8", "AwaitWithTimeout", time.Hour)
	b.timerFired("8", other)
	// A fired event pointing at another timer's start takes nothing from it.
	b.timerFired("9", reminder)
	for _, ev := range b.events {
		ev.EventTime = timestamppb.New(t0)
	}

	var got []Entry
	for _, e := range newHistoryReader(b.events).entries() {
		if e.Step == StepTimerFired || e.Step == StepTimerCanceled {
			got = append(got, e)
		}
	}
	want := []struct {
		step, id, name, summary string
	}{
		{StepTimerFired, "5", lifecycle.TimerEmbassyReminder, "embassy reminder due: the embassy has not answered"},
		{StepTimerCanceled, "6", lifecycle.TimerEmbassyDeadline, "embassy deadline cancelled before it was due: what it waited for came first"},
		{StepTimerFired, "7", "", "timer 7 fired"},
		// A summary not of ours (the SDK's AwaitWithTimeout) names nothing.
		{StepTimerFired, "8", "", "timer 8 fired (AwaitWithTimeout)"},
		{StepTimerFired, "9", "", "timer 9 fired"},
	}
	if len(got) != len(want) {
		t.Fatalf("timer entries %+v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		name, hasName := g.Details["timer"]
		if g.Step != w.step || g.Details["timer_id"] != w.id || g.Summary != w.summary ||
			(w.name == "") == hasName || (hasName && name != w.name) ||
			g.Actor != (Actor{ID: "expectct", Role: "system"}) || g.Source != SourceTemporal {
			t.Errorf("entry %d = %+v, want %s of timer %s named %q: %q", i, g, w.step, w.id, w.name, w.summary)
		}
	}
}
