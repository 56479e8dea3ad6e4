package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/codec"
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
	OK      bool `json:"ok"`
	Checked int  `json:"checked"`
	// Checkpoints is how many signed checkpoints, whose signature holds,
	// the journals were checked against (VerifyWith).
	Checkpoints int       `json:"checkpoints"`
	Problems    []Problem `json:"problems"`
}

// verifyConcurrency bounds how many applications are checked at once, so an
// audit of every application does not flood Temporal or PostgreSQL.
const verifyConcurrency = 8

// Verify checks one application, or every application of the journal when
// applicationID is "". For each it recomputes the journal's hash chain (an
// altered, removed or inserted row breaks it); checks that the journal tells
// a story the lifecycle allows (it starts with the submission, every status
// move is one of lifecycle.AllowedMove's, nothing follows a terminal status)
// and that the read model (status, last_seq) says what its last row says;
// then compares the journal with the workflow history: the RecordTransition
// activities that completed must match the journal rows one for one (seq,
// event, actor, status, time, details), which catches a journal rewritten
// with its hashes recomputed, and the updates the workflow accepted must
// match the rows people made, in the same order. A transition or update
// still in flight at the end of the history may or may not have its row
// yet, and is not reported. Once Temporal no longer has the history, the
// journal and the read model are checked alone. An unknown applicationID is
// an error wrapping store.ErrNotFound; problems found are in the report,
// not errors.
func Verify(ctx context.Context, c client.Client, pc *codec.Codec, st *store.Store, applicationID string) (Report, error) {
	return VerifyWith(ctx, c, pc, st, applicationID, nil)
}

// VerifyWith verifies like Verify, and with cp also against the signed
// checkpoints (see Checkpoints): their signatures and sequence, the
// exported copies given, and what they sign. A row whose hash is not the
// one a checkpoint signed (rewritten), a journal ending below a signed seq
// (truncated) and an application a checkpoint lists with no journal now
// (deleted) are reported, history or not. Checking every application, it
// also checks the people directory's journal (chain and checkpoints).
func VerifyWith(ctx context.Context, c client.Client, pc *codec.Codec, st *store.Store, applicationID string, cp *Checkpoints) (Report, error) {
	var (
		before []Problem
		heads  signedHeads
	)
	if cp != nil {
		stored, err := st.Checkpoints(ctx)
		if err != nil {
			return Report{}, fmt.Errorf("read the checkpoints: %w", err)
		}
		before, heads = checkCheckpoints(stored, *cp)
		if applicationID == "" {
			dir, err := checkDirectory(ctx, st, heads.dir)
			if err != nil {
				return Report{}, err
			}
			before = append(before, dir...)
		}
	}
	ids := []string{applicationID}
	if applicationID == "" {
		var err error
		if ids, err = st.ApplicationIDs(ctx); err != nil {
			return Report{}, fmt.Errorf("list the applications: %w", err)
		}
		// Applications a checkpoint signed and the journal lost.
		for id := range heads.apps {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
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
			problems, err := verifyOne(ctx, c, pc, st, id, heads.apps[id])
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

	r := Report{OK: true, Checked: len(ids), Checkpoints: heads.valid, Problems: append([]Problem{}, before...)}
	for _, p := range found {
		r.Problems = append(r.Problems, p...)
	}
	r.OK = len(r.Problems) == 0
	return r, nil
}

// verifyOne checks one application; its problems are ordered by seq.
func verifyOne(ctx context.Context, c client.Client, pc *codec.Codec, st *store.Store, id string, signed []signedHead) ([]Problem, error) {
	journal, rm, err := readJournal(ctx, st, id)
	if err != nil {
		return nil, err
	}
	events, found, err := loadHistory(ctx, c, pc, id)
	if err != nil {
		return nil, err
	}
	if !found && len(journal) == 0 && len(signed) == 0 {
		return nil, fmt.Errorf("application %s: %w", id, store.ErrNotFound)
	}
	var problems []Problem
	rows := make([]chainRow, 0, len(journal))
	for _, e := range journal {
		rows = append(rows, chainRow{int64(e.Seq), e.Hash})
	}
	checkSigned(rows, signed, func(seq int64, format string, args ...any) {
		problems = append(problems, Problem{ApplicationID: id, Seq: int(seq), Problem: fmt.Sprintf(format, args...)})
	})
	for _, b := range store.VerifyChain(journal) {
		problems = append(problems, Problem{ApplicationID: b.ApplicationID, Seq: b.Seq, Problem: b.Problem})
	}
	problems = append(problems, checkMoves(id, journal)...)
	problems = append(problems, checkReadModel(id, journal, rm)...)
	if found {
		problems = append(problems, compareWithHistory(id, journal, events)...)
		problems = append(problems, compareUpdates(id, journal, events)...)
	}
	slices.SortStableFunc(problems, func(a, b Problem) int { return a.Seq - b.Seq })
	return problems, nil
}

// readModel is what the applications table says of one application.
type readModel struct {
	found   bool
	status  string
	lastSeq int
	// moving is true when transitions kept committing while it was read:
	// there is then no one moment to compare the journal with.
	moving bool
}

// readJournal reads the journal and the read model as of one moment. A
// transition writes both in one transaction, but two reads are two
// moments: the read model is read before and after the journal, and all
// is read again when a transition committed in between.
func readJournal(ctx context.Context, st *store.Store, id string) ([]store.Entry, readModel, error) {
	read := func() (readModel, error) {
		a, err := st.Application(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return readModel{}, nil
		}
		if err != nil {
			return readModel{}, fmt.Errorf("read the read model of %s: %w", id, err)
		}
		return readModel{found: true, status: a.Status, lastSeq: a.LastSeq}, nil
	}
	var journal []store.Entry
	for range 3 {
		before, err := read()
		if err != nil {
			return nil, readModel{}, err
		}
		if journal, err = st.Journal(ctx, id); err != nil {
			return nil, readModel{}, fmt.Errorf("read the journal of %s: %w", id, err)
		}
		after, err := read()
		if err != nil {
			return nil, readModel{}, err
		}
		if before == after {
			return journal, after, nil
		}
	}
	return journal, readModel{moving: true}, nil
}

// checkMoves checks that the journal tells a story the lifecycle allows:
// it starts with the submission, each row's event and status follow from
// the status before it (lifecycle.AllowedMove), and nothing follows a
// terminal status. The chain proves rows were not altered after the fact;
// this catches rows that were wrong when written (or rewritten with their
// hashes recomputed).
func checkMoves(id string, journal []store.Entry) []Problem {
	var problems []Problem
	var from lifecycle.Status
	ended := 0 // seq of the terminal row, once there is one
	for _, e := range journal {
		to := lifecycle.Status(e.Status)
		switch {
		case ended != 0:
			problems = append(problems, Problem{ApplicationID: id, Seq: e.Seq, Problem: fmt.Sprintf(
				"%s (status %s) follows the terminal status %s of seq %d", e.EventType, e.Status, from, ended)})
			continue // the story ended: judge nothing after it against it
		case !lifecycle.AllowedMove(from, e.EventType, to) && from == "":
			problems = append(problems, Problem{ApplicationID: id, Seq: e.Seq, Problem: fmt.Sprintf(
				"the journal starts with %s (status %s), not the submission", e.EventType, e.Status)})
		case !lifecycle.AllowedMove(from, e.EventType, to):
			problems = append(problems, Problem{ApplicationID: id, Seq: e.Seq, Problem: fmt.Sprintf(
				"%s moves the status from %s to %s, which the lifecycle does not allow", e.EventType, from, e.Status)})
		}
		from = to
		if to.Terminal() {
			ended = e.Seq
		}
	}
	return problems
}

// checkReadModel checks that the applications table, which lists and
// filters serve, says what the journal's last row says.
func checkReadModel(id string, journal []store.Entry, rm readModel) []Problem {
	if len(journal) == 0 || rm.moving {
		return nil
	}
	last := journal[len(journal)-1]
	switch {
	case !rm.found:
		return []Problem{{ApplicationID: id, Seq: last.Seq, Problem: fmt.Sprintf(
			"read model row missing: the journal ends with %s (status %s)", last.EventType, last.Status)}}
	case rm.status != last.Status || rm.lastSeq != last.Seq:
		return []Problem{{ApplicationID: id, Seq: last.Seq, Problem: fmt.Sprintf(
			"read model says status %s at seq %d, the journal's last row %s says status %s at seq %d",
			rm.status, rm.lastSeq, last.EventType, last.Status, last.Seq)}}
	}
	return nil
}

// eventsOfUpdate are the journal events each human step records.
var eventsOfUpdate = map[string][]string{
	lifecycle.UpdateOpinion:            {lifecycle.EventOpinionGiven},
	lifecycle.UpdateRequestComplements: {lifecycle.EventComplementsRequested},
	lifecycle.UpdateComplements:        {lifecycle.EventComplementsReceived},
	lifecycle.UpdateRecommend:          {lifecycle.EventRecommended},
	lifecycle.UpdateDecide:             {lifecycle.EventApproved, lifecycle.EventRejected},
	lifecycle.UpdateWithdraw:           {lifecycle.EventWithdrawn},
	lifecycle.UpdateRenounce:           {lifecycle.EventRenounced},
	lifecycle.UpdateDeclareChanges:     {lifecycle.EventChangesDeclared},
	lifecycle.UpdateReviewChanges:      {lifecycle.EventChangesAcknowledged, lifecycle.EventChangesRefused},
	lifecycle.UpdateReport:             {lifecycle.EventReportSubmitted},
	lifecycle.UpdateReviewReport:       {lifecycle.EventReportAccepted, lifecycle.EventReportChangesRequested},
	lifecycle.UpdateExtendReport:       {lifecycle.EventReportDeadlineExtended},
	lifecycle.UpdateCancelGrant:        {lifecycle.EventGrantCancelled},
	lifecycle.UpdateOrderPayment:       {lifecycle.EventPaymentOrdered},
	lifecycle.UpdateConfirmPayment:     {lifecycle.EventPaymentConfirmed},
}

// historyUpdate is a human step the workflow accepted.
type historyUpdate struct {
	eventID int64 // of its WORKFLOW_EXECUTION_UPDATE_ACCEPTED
	name    string
	actor   string
	state   transitionState
}

// compareUpdates matches the human steps the workflow accepted, in history
// order, with the journal rows people made (actor not the system, after the
// submission), in seq order: the same step by the same person, one for one.
// compareWithHistory checks each row against the transition recorded; this
// checks that no human step was dropped, added or reordered between the
// two. A step whose handler failed records nothing; one still in flight may
// not have its row yet.
func compareUpdates(id string, journal []store.Entry, events []*historypb.HistoryEvent) []Problem {
	var problems []Problem
	report := func(seq int, format string, args ...any) {
		problems = append(problems, Problem{ApplicationID: id, Seq: seq, Problem: fmt.Sprintf(format, args...)})
	}
	accepted := map[int64]*historyUpdate{}
	var updates []*historyUpdate
	for _, ev := range events {
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			in := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput()
			u := &historyUpdate{eventID: ev.GetEventId(), name: in.GetName(),
				actor: humanStep(in.GetName(), in.GetArgs()).Actor.ID}
			accepted[u.eventID], updates = u, append(updates, u)
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
			if u := accepted[a.GetAcceptedEventId()]; u != nil {
				u.state = completed
				if a.GetOutcome().GetFailure() != nil {
					u.state = failed
				}
			}
		}
	}
	var rows []store.Entry
	for _, e := range journal {
		if e.ActorRole != string(lifecycle.RoleSystem) && e.EventType != lifecycle.EventSubmitted {
			rows = append(rows, e)
		}
	}

	i := 0
	for _, u := range updates {
		if u.state == failed {
			continue
		}
		if i == len(rows) {
			if u.state == completed {
				report(0, "the workflow history accepted %s by %s (event %d), the journal has no row for it",
					u.name, u.actor, u.eventID)
			}
			continue
		}
		r := rows[i]
		i++
		if r.ActorID != u.actor || !slices.Contains(eventsOfUpdate[u.name], r.EventType) {
			report(r.Seq, "journal row %s by %s is not the next human step of the workflow history: %s by %s (event %d)",
				r.EventType, r.ActorID, u.name, u.actor, u.eventID)
		}
	}
	for _, r := range rows[i:] {
		report(r.Seq, "journal row %s by %s has no accepted update in the workflow history", r.EventType, r.ActorID)
	}
	return problems
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
