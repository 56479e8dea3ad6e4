package audit

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// The end of a history seen in unit: which outcomes of RecordTransition make
// a journal row required, allowed or suspicious.

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func transition(seq int, event string) lifecycle.Transition {
	return lifecycle.Transition{ApplicationID: "EXP-1", Seq: seq, Event: event, Status: lifecycle.StatusUnderReview,
		Actor: lifecycle.System, At: t0.Add(time.Duration(seq) * time.Second), Details: lifecycle.Details{Comment: event}}
}

func row(t *testing.T, tr lifecycle.Transition) store.Entry {
	t.Helper()
	payload, err := json.Marshal(tr.Details)
	if err != nil {
		t.Fatal(err)
	}
	return store.Entry{ApplicationID: tr.ApplicationID, Seq: tr.Seq, EventType: tr.Event, Status: string(tr.Status),
		ActorID: tr.Actor.ID, ActorRole: string(tr.Actor.Role), Payload: payload, OccurredAt: tr.At}
}

type historyBuilder struct {
	t      *testing.T
	events []*historypb.HistoryEvent
}

func (b *historyBuilder) add(ev *historypb.HistoryEvent) int64 {
	ev.EventId = int64(len(b.events) + 1)
	b.events = append(b.events, ev)
	return ev.EventId
}

func (b *historyBuilder) schedule(tr lifecycle.Transition) int64 {
	b.t.Helper()
	p, err := dataConverter.ToPayloads(tr)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.add(&historypb.HistoryEvent{EventType: enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: activityRecordTransition}, Input: p}}})
}

func (b *historyBuilder) complete(scheduled int64) {
	b.add(&historypb.HistoryEvent{EventType: enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
		Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
			ScheduledEventId: scheduled}}})
}

func (b *historyBuilder) fail(scheduled int64) {
	b.add(&historypb.HistoryEvent{EventType: enums.EVENT_TYPE_ACTIVITY_TASK_FAILED,
		Attributes: &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{
			ScheduledEventId: scheduled}}})
}

func TestCompareWithHistory(t *testing.T) {
	t1, t2, t3 := transition(1, "submitted"), transition(2, "embassy_consulted"), transition(3, "opinion_given")

	cases := []struct {
		name    string
		history func(b *historyBuilder)
		journal []lifecycle.Transition
		want    []string // "seq:fragment", in order
	}{
		{"all recorded", func(b *historyBuilder) {
			b.complete(b.schedule(t1))
			b.complete(b.schedule(t2))
		}, []lifecycle.Transition{t1, t2}, nil},
		{"in flight, row written", func(b *historyBuilder) {
			b.complete(b.schedule(t1))
			b.schedule(t2)
		}, []lifecycle.Transition{t1, t2}, nil},
		{"in flight, row not yet written", func(b *historyBuilder) {
			b.complete(b.schedule(t1))
			b.schedule(t2)
		}, []lifecycle.Transition{t1}, nil},
		{"completed, row missing", func(b *historyBuilder) {
			b.complete(b.schedule(t1))
			b.complete(b.schedule(t2))
		}, []lifecycle.Transition{t1}, []string{"2:journal row missing"}},
		{"row the history never scheduled", func(b *historyBuilder) {
			b.complete(b.schedule(t1))
		}, []lifecycle.Transition{t1, t2}, []string{"2:extra journal row"}},
		{"row of a failed activity", func(b *historyBuilder) {
			b.complete(b.schedule(t1))
			b.fail(b.schedule(t2))
		}, []lifecycle.Transition{t1, t2}, []string{"2:activity failed"}},
		{"row for another event", func(b *historyBuilder) {
			b.complete(b.schedule(t1))
			b.complete(b.schedule(t2))
			b.complete(b.schedule(t3))
		}, []lifecycle.Transition{t1, t2, func() lifecycle.Transition {
			x := t3
			x.Event, x.Actor = "withdrawn", lifecycle.Actor{ID: "someone", Role: lifecycle.RoleApplicant}
			return x
		}()}, []string{`3:event_type is "withdrawn"`, `3:actor_id is "someone"`, `3:actor_role is "applicant"`}},
		{"row at another time, with other details", func(b *historyBuilder) {
			b.complete(b.schedule(t1))
		}, []lifecycle.Transition{func() lifecycle.Transition {
			x := t1
			x.At = x.At.Add(time.Hour)
			x.Details.Comment = "changed"
			return x
		}()}, []string{"1:occurred_at is", "1:payload differs"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &historyBuilder{t: t}
			c.history(b)
			var journal []store.Entry
			for _, tr := range c.journal {
				journal = append(journal, row(t, tr))
			}
			got := compareWithHistory("EXP-1", journal, b.events)
			if len(got) != len(c.want) {
				t.Fatalf("problems %+v, want %q", got, c.want)
			}
			for i, w := range c.want {
				seq, frag, _ := strings.Cut(w, ":")
				if g := got[i]; g.ApplicationID != "EXP-1" || seq != itoa(g.Seq) || !strings.Contains(g.Problem, frag) {
					t.Errorf("problem %d = %+v, want seq %s with %q", i, g, seq, frag)
				}
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
