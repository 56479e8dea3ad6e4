package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// Problem is one thing wrong with an application's record.
type Problem struct {
	ApplicationID string `json:"application_id"`
	Seq           int    `json:"seq"`
	Problem       string `json:"problem"`
}

// Report is the outcome of a verification: OK when no problem was found.
type Report struct {
	OK       bool      `json:"ok"`
	Checked  int       `json:"checked"`
	Problems []Problem `json:"problems"`
}

// verifyConcurrency bounds how many applications are checked at once, so an
// audit of every application does not flood Temporal or PostgreSQL.
const verifyConcurrency = 8

// Verify checks one application, or every application of the journal when
// applicationID is "". For each it recomputes the journal's hash chain (an
// altered, removed or inserted row breaks it), then compares the journal
// with the workflow history: the RecordTransition activities that completed
// must match the journal rows one for one (seq, event, actor, status, time,
// details), which catches a journal rewritten with its hashes recomputed. A
// transition still in flight at the end of the history may or may not have
// its row yet, and is not reported. Once Temporal no longer has the history,
// only the chain is checked. An unknown applicationID is an error wrapping
// store.ErrNotFound; problems found are in the report, not errors.
func Verify(ctx context.Context, c client.Client, st *store.Store, applicationID string) (Report, error) {
	ids := []string{applicationID}
	if applicationID == "" {
		var err error
		if ids, err = st.ApplicationIDs(ctx); err != nil {
			return Report{}, fmt.Errorf("list the applications: %w", err)
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	found := make([][]Problem, len(ids))
	sem := make(chan struct{}, verifyConcurrency)
	var wg sync.WaitGroup
	for i, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			problems, err := verifyOne(ctx, c, st, id)
			if err != nil {
				cancel(err)
				return
			}
			found[i] = problems
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return Report{}, err
	}

	r := Report{OK: true, Checked: len(ids), Problems: []Problem{}}
	for _, p := range found {
		r.Problems = append(r.Problems, p...)
	}
	r.OK = len(r.Problems) == 0
	return r, nil
}

// verifyOne checks one application; its problems are ordered by seq.
func verifyOne(ctx context.Context, c client.Client, st *store.Store, id string) ([]Problem, error) {
	journal, err := st.Journal(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read the journal of %s: %w", id, err)
	}
	events, found, err := loadHistory(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !found && len(journal) == 0 {
		return nil, fmt.Errorf("application %s: %w", id, store.ErrNotFound)
	}
	var problems []Problem
	for _, b := range store.VerifyChain(journal) {
		problems = append(problems, Problem{ApplicationID: b.ApplicationID, Seq: b.Seq, Problem: b.Problem})
	}
	if found {
		problems = append(problems, compareWithHistory(id, journal, events)...)
	}
	slices.SortStableFunc(problems, func(a, b Problem) int { return a.Seq - b.Seq })
	return problems, nil
}

// Where a RecordTransition activity stands at the end of the history.
type transitionState int

const (
	inFlight  transitionState = iota // scheduled, no outcome yet
	completed                        // the journal row must exist and match
	failed                           // failed, timed out or canceled for good
)

type historyTransition struct {
	t     lifecycle.Transition
	state transitionState
}

// compareWithHistory matches the journal rows with the RecordTransition
// activities of the history.
func compareWithHistory(id string, journal []store.Entry, events []*historypb.HistoryEvent) []Problem {
	var problems []Problem
	report := func(seq int, format string, args ...any) {
		problems = append(problems, Problem{ApplicationID: id, Seq: seq, Problem: fmt.Sprintf(format, args...)})
	}

	scheduled := map[int64]*historyTransition{}
	var order []*historyTransition
	for _, ev := range events {
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := ev.GetActivityTaskScheduledEventAttributes()
			if a.GetActivityType().GetName() != activityRecordTransition {
				continue
			}
			var t lifecycle.Transition
			if err := decodeFirst(a.GetInput(), &t); err != nil {
				report(0, "the workflow history's transition (event %d) cannot be read: %v", ev.GetEventId(), err)
				continue
			}
			h := &historyTransition{t: t}
			scheduled[ev.GetEventId()] = h
			order = append(order, h)
		case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if h := scheduled[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]; h != nil {
				h.state = completed
			}
		case enums.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			if h := scheduled[ev.GetActivityTaskFailedEventAttributes().GetScheduledEventId()]; h != nil {
				h.state = failed
			}
		case enums.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			if h := scheduled[ev.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()]; h != nil {
				h.state = failed
			}
		case enums.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
			if h := scheduled[ev.GetActivityTaskCanceledEventAttributes().GetScheduledEventId()]; h != nil {
				h.state = failed
			}
		}
	}

	// The history's transitions by seq; a seq scheduled twice is itself wrong.
	bySeq := map[int]*historyTransition{}
	for _, h := range order {
		if prev, dup := bySeq[h.t.Seq]; dup {
			report(h.t.Seq, "the workflow history schedules seq %d twice (%s and %s)", h.t.Seq, prev.t.Event, h.t.Event)
			if prev.state == completed {
				continue
			}
		}
		bySeq[h.t.Seq] = h
	}
	rows := map[int]store.Entry{}
	for _, e := range journal {
		rows[e.Seq] = e
	}

	seqs := make([]int, 0, len(bySeq)+len(rows))
	for s := range bySeq {
		seqs = append(seqs, s)
	}
	for s := range rows {
		if _, ok := bySeq[s]; !ok {
			seqs = append(seqs, s)
		}
	}
	slices.Sort(seqs)

	for _, seq := range seqs {
		h, inHistory := bySeq[seq]
		row, inJournal := rows[seq]
		switch {
		case inHistory && h.state == completed && !inJournal:
			report(seq, "journal row missing: the workflow history recorded %s (status %s, actor %s)",
				h.t.Event, h.t.Status, h.t.Actor.ID)
		case inHistory && h.state == completed:
			for _, d := range differences(h.t, row) {
				report(seq, "journal row differs from the workflow history: %s", d)
			}
		case inHistory && h.state == inFlight:
			// Its activity may or may not have written the row yet.
		case inHistory && h.state == failed && inJournal:
			report(seq, "journal row %s has no completed transition in the workflow history (its activity failed)", row.EventType)
		case !inHistory && inJournal:
			report(seq, "extra journal row: %s is not in the workflow history", row.EventType)
		}
	}
	return problems
}

// differences lists how a journal row departs from the transition the
// workflow recorded.
func differences(t lifecycle.Transition, row store.Entry) []string {
	var out []string
	diff := func(field, got, want string) {
		if got != want {
			out = append(out, fmt.Sprintf("%s is %q, the history says %q", field, got, want))
		}
	}
	diff("event_type", row.EventType, t.Event)
	diff("status", row.Status, string(t.Status))
	diff("actor_id", row.ActorID, t.Actor.ID)
	diff("actor_role", row.ActorRole, string(t.Actor.Role))
	if want := t.At.UTC().Truncate(time.Microsecond); !row.OccurredAt.Equal(want) {
		out = append(out, fmt.Sprintf("occurred_at is %s, the history says %s",
			row.OccurredAt.UTC().Format(time.RFC3339Nano), want.Format(time.RFC3339Nano)))
	}
	// The activity stores json.Marshal(t.Details): compare as JSON values,
	// numbers kept exact.
	want, err := json.Marshal(t.Details)
	if err != nil || !sameJSON(row.Payload, want) {
		out = append(out, "payload differs from the details the workflow recorded")
	}
	return out
}

func sameJSON(a, b []byte) bool {
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}
