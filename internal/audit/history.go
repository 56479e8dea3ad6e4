package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sort"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/codec"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// DefaultAttemptsLimit is how many refused attempts a timeline shows when
// not told; MaxAttemptsLimit the most it shows at once.
const (
	DefaultAttemptsLimit = 50
	MaxAttemptsLimit     = 500
)

// History is HistoryPage with the newest DefaultAttemptsLimit attempts.
func History(ctx context.Context, c client.Client, pc *codec.Codec, st *store.Store, applicationID string) (Timeline, error) {
	return HistoryPage(ctx, c, pc, st, applicationID, store.AttemptsQuery{Limit: DefaultAttemptsLimit})
}

// HistoryPage returns what happened to one application, oldest first: the
// workflow's history turned into readable steps (submission, each accepted
// human step with what was decided, timers, transitions, the end), the
// journal rows and one page of the refused attempts (anyone with a token
// can add to those, so they are bounded; the timeline says where the next,
// older page starts). Personal data of the dossier is left out. When
// Temporal no longer has the history (retention passed), the journal and
// the attempts alone are returned: the journal is the long-term record. An
// application neither knows is an error wrapping store.ErrNotFound.
func HistoryPage(ctx context.Context, c client.Client, pc *codec.Codec, st *store.Store, applicationID string, attemptsPage store.AttemptsQuery) (Timeline, error) {
	events, found, err := loadHistory(ctx, c, pc, applicationID)
	if err != nil {
		return Timeline{}, err
	}
	journal, err := st.Journal(ctx, applicationID)
	if err != nil {
		return Timeline{}, fmt.Errorf("read the journal of %s: %w", applicationID, err)
	}
	if !found && len(journal) == 0 {
		return Timeline{}, fmt.Errorf("application %s: %w", applicationID, store.ErrNotFound)
	}
	attempts, next, err := st.AttemptsPage(ctx, applicationID, attemptsPage)
	if err != nil {
		return Timeline{}, fmt.Errorf("read the refused attempts on %s: %w", applicationID, err)
	}

	entries := make([]Entry, 0, len(events)/2+len(journal)+len(attempts))
	if found {
		entries = append(entries, newHistoryReader(events).entries()...)
	}
	for _, e := range journal {
		entries = append(entries, journalEntry(e))
	}
	for _, a := range attempts {
		entries = append(entries, attemptEntry(a))
	}
	// Stable: entries at the same instant keep their order within a source.
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].At.Before(entries[j].At) })
	return Timeline{ApplicationID: applicationID, Entries: entries, NextAttemptsBefore: next}, nil
}

// historyReader turns the raw events of one run into timeline entries.
type historyReader struct {
	events []*historypb.HistoryEvent
	byID   map[int64]*historypb.HistoryEvent
	start  lifecycle.StartInput
	// updates remembers each accepted update, by its accepted event's ID,
	// for the completion event that refers to it.
	updates map[int64]acceptedUpdate
	// scheduled remembers each scheduled activity, for its failure.
	scheduled map[int64]scheduledActivity
}

type acceptedUpdate struct {
	name  string
	actor Actor
}

type scheduledActivity struct {
	activity   string
	transition *lifecycle.Transition
}

func newHistoryReader(events []*historypb.HistoryEvent) *historyReader {
	r := &historyReader{
		events:    events,
		byID:      make(map[int64]*historypb.HistoryEvent, len(events)),
		updates:   map[int64]acceptedUpdate{},
		scheduled: map[int64]scheduledActivity{},
	}
	for _, ev := range events {
		r.byID[ev.GetEventId()] = ev
	}
	return r
}

func (r *historyReader) entries() []Entry {
	var out []Entry
	for _, ev := range r.events {
		e, ok := r.entry(ev)
		if !ok {
			continue
		}
		e.At = ev.GetEventTime().AsTime().UTC()
		e.Source = SourceTemporal
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		e.Details["event_id"] = ev.GetEventId()
		out = append(out, e)
	}
	return out
}

// entry reads one event; ok is false for the events a person need not see
// (workflow tasks, timers started, markers, search attributes...).
func (r *historyReader) entry(ev *historypb.HistoryEvent) (e Entry, ok bool) {
	switch ev.GetEventType() {
	case enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
		return r.started(ev.GetWorkflowExecutionStartedEventAttributes()), true
	case enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
		return r.updateAccepted(ev), true
	case enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
		return r.updateCompleted(ev.GetWorkflowExecutionUpdateCompletedEventAttributes()), true
	case enums.EVENT_TYPE_TIMER_FIRED:
		return r.timerFired(ev.GetTimerFiredEventAttributes()), true
	case enums.EVENT_TYPE_TIMER_CANCELED:
		return r.timerCanceled(ev.GetTimerCanceledEventAttributes()), true
	case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		return r.activityScheduled(ev), true
	case enums.EVENT_TYPE_ACTIVITY_TASK_FAILED:
		a := ev.GetActivityTaskFailedEventAttributes()
		return r.activityFailed(a.GetScheduledEventId(), "failed", a.GetFailure().GetMessage()), true
	case enums.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
		a := ev.GetActivityTaskTimedOutEventAttributes()
		return r.activityFailed(a.GetScheduledEventId(), "timed out", a.GetFailure().GetMessage()), true
	case enums.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
		return r.activityFailed(ev.GetActivityTaskCanceledEventAttributes().GetScheduledEventId(), "was canceled", ""), true
	case enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		return r.completed(ev.GetWorkflowExecutionCompletedEventAttributes()), true
	case enums.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		msg := ev.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetMessage()
		return systemEntry(StepWorkflowFailed, "workflow failed: "+msg, map[string]any{"failure": msg}), true
	case enums.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		a := ev.GetWorkflowExecutionTerminatedEventAttributes()
		return Entry{Step: StepWorkflowTerminated, Actor: Actor{ID: a.GetIdentity()},
			Summary: "workflow terminated by an operator: " + a.GetReason(),
			Details: map[string]any{"reason": a.GetReason()}}, true
	case enums.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		return systemEntry(StepWorkflowCanceled, "workflow canceled", nil), true
	case enums.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		return systemEntry(StepWorkflowTimedOut, "workflow timed out", nil), true
	case enums.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		run := ev.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		return systemEntry(StepWorkflowContinuedAsNew, "workflow continued as a new run",
			map[string]any{"new_run_id": run}), true
	}
	return Entry{}, false
}

func systemEntry(step, summary string, details map[string]any) Entry {
	return Entry{Step: step, Actor: actorOf(lifecycle.System), Summary: summary, Details: details}
}

// started reads the submission: who, under which rules, to which country.
// The dossier itself (names, e-mails, phone numbers) stays out.
func (r *historyReader) started(a *historypb.WorkflowExecutionStartedEventAttributes) Entry {
	details := map[string]any{"workflow_type": a.GetWorkflowType().GetName()}
	e := Entry{Step: StepWorkflowStarted, Status: string(lifecycle.StatusSubmitted), Details: details}
	if err := decodeFirst(a.GetInput(), &r.start); err != nil {
		details["decode_error"] = err.Error()
		e.Summary = "application submitted (its input could not be read)"
		return e
	}
	in := r.start
	e.Actor = actorOf(in.Submitter)
	details["rules_version"] = in.Rules.Version
	details["country"] = in.Dossier.Partner.Country
	details["requested"] = amount(in.Dossier.Budget.Requested)
	if len(in.Flags) > 0 {
		details["flags"] = in.Flags
	}
	e.Summary = fmt.Sprintf("application submitted by %s under rules %s, destination %s",
		in.Submitter.ID, in.Rules.Version, in.Dossier.Partner.Country)
	return e
}

// updateAccepted reads a human step the workflow accepted: who, and what
// they decided.
func (r *historyReader) updateAccepted(ev *historypb.HistoryEvent) Entry {
	req := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest()
	name := req.GetInput().GetName()
	e := humanStep(name, req.GetInput().GetArgs())
	e.Step = StepUpdateAccepted
	e.Details["update"] = name
	e.Details["update_id"] = req.GetMeta().GetUpdateId()
	r.updates[ev.GetEventId()] = acceptedUpdate{name: name, actor: e.Actor}
	return e
}

// humanStep decodes an update's input into its actor and decision.
func humanStep(name string, args *commonpb.Payloads) Entry {
	d := map[string]any{}
	e := Entry{Details: d}
	fail := func(err error) Entry {
		d["decode_error"] = err.Error()
		e.Summary = fmt.Sprintf("%s accepted (its input could not be read)", name)
		return e
	}
	switch name {
	case lifecycle.UpdateOpinion:
		var in lifecycle.OpinionInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["opinion"], d["comment"] = in.Opinion, in.Comment
		e.Summary = fmt.Sprintf("embassy opinion given by %s: %s", in.Actor.ID, in.Opinion)
	case lifecycle.UpdateRequestComplements:
		var in lifecycle.RequestComplementsInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["message"] = in.Message
		e.Summary = fmt.Sprintf("complements requested by %s", in.Actor.ID)
	case lifecycle.UpdateComplements:
		var in lifecycle.ComplementsInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		// The amended dossier is personal data: only the comment shows.
		e.Actor = actorOf(in.Actor)
		if in.Comment != "" {
			d["comment"] = in.Comment
		}
		e.Summary = fmt.Sprintf("complements submitted by %s", in.Actor.ID)
	case lifecycle.UpdateRecommend:
		var in lifecycle.RecommendInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["recommendation"], d["comment"] = in.Recommendation, in.Comment
		e.Summary = fmt.Sprintf("recommendation by %s: %s", in.Actor.ID, in.Recommendation)
		if in.Recommendation == lifecycle.RecommendApprove {
			d["amount"] = amount(in.Amount)
			e.Summary += fmt.Sprintf(", EUR %s", in.Amount)
		}
	case lifecycle.UpdateDecide:
		var in lifecycle.DecideInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["decision"] = in.Decision
		e.Summary = fmt.Sprintf("funding decision by %s: %s", in.Actor.ID, in.Decision)
		if in.Decision == lifecycle.DecisionApprove {
			d["amount"] = amount(in.Amount)
			e.Summary += fmt.Sprintf(", EUR %s granted", in.Amount)
		} else {
			d["motivation"] = in.Motivation
		}
	case lifecycle.UpdateWithdraw:
		var in lifecycle.WithdrawInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["reason"] = in.Reason
		e.Summary = fmt.Sprintf("application withdrawn by %s", in.Actor.ID)
	case lifecycle.UpdateRenounce:
		var in lifecycle.RenounceInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["reason"] = in.Reason
		e.Summary = fmt.Sprintf("mission renounced by %s", in.Actor.ID)
	case lifecycle.UpdateDeclareChanges:
		var in lifecycle.DeclareChangesInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		// The agents are people: only the dates show.
		e.Actor = actorOf(in.Actor)
		d["start_date"], d["end_date"], d["reason"] = in.Changes.StartDate.String(), in.Changes.EndDate.String(), in.Reason
		e.Summary = fmt.Sprintf("changed dates or agents declared by %s", in.Actor.ID)
	case lifecycle.UpdateReviewChanges:
		var in lifecycle.ReviewChangesInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["outcome"] = in.Outcome
		if in.Reason != "" {
			d["reason"] = in.Reason
		}
		e.Summary = fmt.Sprintf("declared changes reviewed by %s: %s", in.Actor.ID, in.Outcome)
	case lifecycle.UpdateReport:
		var in lifecycle.ReportInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		// The report names people: only its actual costs show.
		e.Actor = actorOf(in.Actor)
		d["actual_costs"] = amount(in.Report.Costs.Total())
		e.Summary = fmt.Sprintf("mission report filed by %s", in.Actor.ID)
	case lifecycle.UpdateReviewReport:
		var in lifecycle.ReviewReportInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["outcome"] = in.Outcome
		if in.Payable > 0 {
			d["payable"] = amount(in.Payable)
		}
		if in.Motivation != "" {
			d["motivation"] = in.Motivation
		}
		if in.Message != "" {
			d["message"] = in.Message
		}
		e.Summary = fmt.Sprintf("report reviewed by %s: %s", in.Actor.ID, in.Outcome)
	case lifecycle.UpdateExtendReport:
		var in lifecycle.ExtendReportInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["until"], d["reason"] = in.Until.String(), in.Reason
		e.Summary = fmt.Sprintf("report due date moved to %s by %s", in.Until, in.Actor.ID)
	case lifecycle.UpdateCancelGrant:
		var in lifecycle.CancelGrantInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["motivation"] = in.Motivation
		e.Summary = fmt.Sprintf("grant cancelled by %s", in.Actor.ID)
	case lifecycle.UpdateOrderPayment:
		var in lifecycle.OrderPaymentInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		e.Summary = fmt.Sprintf("payment ordered by %s", in.Actor.ID)
	case lifecycle.UpdateConfirmPayment:
		var in lifecycle.ConfirmPaymentInput
		if err := decodeFirst(args, &in); err != nil {
			return fail(err)
		}
		e.Actor = actorOf(in.Actor)
		d["reference"], d["paid_on"] = in.Reference, in.PaidOn.String()
		e.Summary = fmt.Sprintf("payment confirmed by %s: %s", in.Actor.ID, in.Reference)
	default:
		// An update this version does not know: name it, show nothing of
		// its input, which may hold anything.
		e.Summary = fmt.Sprintf("update %q accepted", name)
	}
	return e
}

func (r *historyReader) updateCompleted(a *historypb.WorkflowExecutionUpdateCompletedEventAttributes) Entry {
	u := r.updates[a.GetAcceptedEventId()]
	if u.name == "" {
		u.name = "update"
	}
	e := Entry{Step: StepUpdateCompleted, Actor: u.actor,
		Details: map[string]any{"update": u.name, "update_id": a.GetMeta().GetUpdateId()}}
	if f := a.GetOutcome().GetFailure(); f != nil {
		e.Details["failure"] = f.GetMessage()
		e.Summary = fmt.Sprintf("%s failed: %s", u.name, f.GetMessage())
		return e
	}
	var st lifecycle.State
	if err := decodeFirst(a.GetOutcome().GetSuccess(), &st); err != nil {
		e.Details["decode_error"] = err.Error()
		e.Summary = u.name + " completed"
		return e
	}
	e.Status = string(st.Status)
	e.Summary = fmt.Sprintf("%s completed: the application is %s", u.name, st.Status)
	return e
}

// timerFired names a fired timer by the summary the workflow gave it when
// it started it (TIMER_STARTED's user metadata), never by guessing from
// its duration or from what followed: a guess could pin a deadline on the
// wrong rule, which is worse in an audit than saying nothing.
func (r *historyReader) timerFired(a *historypb.TimerFiredEventAttributes) Entry {
	e := r.timerEntry(StepTimerFired, a.GetStartedEventId(), a.GetTimerId())
	name, _ := e.Details["timer"].(string)
	switch {
	case name != "":
		e.Summary = timerFiredSummaries[name]
	case e.Details["timer_summary"] != nil:
		e.Summary = fmt.Sprintf("timer %s fired (%s)", a.GetTimerId(), e.Details["timer_summary"])
	default:
		e.Summary = fmt.Sprintf("timer %s fired", a.GetTimerId())
	}
	return e
}

// timerCanceled shows a timer the workflow called off because what it
// waited for came first (the opinion before the reminder, the decision
// before its reminder...). It is shown rather than left out: an auditor
// checking that a deadline was honoured sees it stopped at the moment of
// the step that beat it, and a reminder that was never sent is explained
// in the timeline instead of being merely absent.
func (r *historyReader) timerCanceled(a *historypb.TimerCanceledEventAttributes) Entry {
	e := r.timerEntry(StepTimerCanceled, a.GetStartedEventId(), a.GetTimerId())
	what := "timer " + a.GetTimerId()
	if name, ok := e.Details["timer"].(string); ok {
		what = timerLabels[name]
	}
	e.Summary = what + " cancelled before it was due: what it waited for came first"
	return e
}

// timerEntry is a system entry for the timer started by event startedID.
// Its summary (the user metadata of TIMER_STARTED) names it in
// Details["timer"] when it is one of the workflow's timers; any other
// summary (the SDK gives AwaitWithTimeout's timers its own) is kept in
// Details["timer_summary"] but names nothing.
func (r *historyReader) timerEntry(step string, startedID int64, timerID string) Entry {
	e := systemEntry(step, "", map[string]any{"timer_id": timerID})
	switch summary := r.timerSummary(startedID, timerID); {
	case timerLabels[summary] != "":
		e.Details["timer"] = summary
	case summary != "":
		e.Details["timer_summary"] = summary
	}
	return e
}

var timerLabels = map[string]string{
	lifecycle.TimerEmbassyReminder:     "embassy reminder",
	lifecycle.TimerEmbassyDeadline:     "embassy deadline",
	lifecycle.TimerComplementsDeadline: "complements deadline",
	lifecycle.TimerDecisionReminder:    "decision reminder",
}

var timerFiredSummaries = map[string]string{
	lifecycle.TimerEmbassyReminder:     "embassy reminder due: the embassy has not answered",
	lifecycle.TimerEmbassyDeadline:     "embassy deadline passed: the opinion is deemed given",
	lifecycle.TimerComplementsDeadline: "complements deadline passed",
	lifecycle.TimerDecisionReminder:    "decision reminder due: the application waits for DAECT",
}

// timerSummary is the summary of the timer started by event startedID, ""
// when it has none or the event is not that timer's start.
func (r *historyReader) timerSummary(startedID int64, timerID string) string {
	ev := r.byID[startedID]
	started := ev.GetTimerStartedEventAttributes()
	if started == nil || started.GetTimerId() != timerID || ev.GetUserMetadata().GetSummary() == nil {
		return ""
	}
	var summary string
	if err := dataConverter.FromPayload(ev.GetUserMetadata().GetSummary(), &summary); err != nil {
		return ""
	}
	return summary
}

// scheduledActivity decodes (once) what an ActivityTaskScheduled event asks.
func (r *historyReader) scheduledActivity(ev *historypb.HistoryEvent) scheduledActivity {
	if s, ok := r.scheduled[ev.GetEventId()]; ok {
		return s
	}
	a := ev.GetActivityTaskScheduledEventAttributes()
	s := scheduledActivity{activity: a.GetActivityType().GetName()}
	if s.activity == activityRecordTransition {
		var t lifecycle.Transition
		if err := decodeFirst(a.GetInput(), &t); err == nil {
			s.transition = &t
		}
	}
	r.scheduled[ev.GetEventId()] = s
	return s
}

func (r *historyReader) activityScheduled(ev *historypb.HistoryEvent) Entry {
	s := r.scheduledActivity(ev)
	a := ev.GetActivityTaskScheduledEventAttributes()
	if s.activity == activityRecordTransition {
		if s.transition == nil {
			return systemEntry(StepTransitionScheduled, "transition scheduled (its input could not be read)", nil)
		}
		t := s.transition
		d := detailsMap(t.Details)
		d["seq"], d["event"] = t.Seq, t.Event
		return Entry{Step: StepTransitionScheduled, Actor: actorOf(t.Actor), Status: string(t.Status), Details: d,
			Summary: fmt.Sprintf("transition %d (%s) recorded: the application is %s", t.Seq, t.Event, t.Status)}
	}
	d := map[string]any{"activity": s.activity}
	summary := fmt.Sprintf("activity %s scheduled", s.activity)
	if s.activity == activityLookupEmbassy {
		var country string
		if err := decodeFirst(a.GetInput(), &country); err == nil {
			d["country"] = country
			summary = fmt.Sprintf("embassy directory looked up for %s", country)
		}
	}
	return systemEntry(StepActivityScheduled, summary, d)
}

func (r *historyReader) activityFailed(scheduledID int64, how, msg string) Entry {
	s := r.scheduledActivity(r.byID[scheduledID])
	d := map[string]any{"activity": s.activity}
	if msg != "" {
		d["failure"] = msg
	}
	if s.transition != nil {
		d["seq"], d["event"] = s.transition.Seq, s.transition.Event
		return systemEntry(StepTransitionFailed,
			fmt.Sprintf("transition %d (%s) %s: %s", s.transition.Seq, s.transition.Event, how, msg), d)
	}
	return systemEntry(StepTransitionFailed, fmt.Sprintf("activity %s %s: %s", s.activity, how, msg), d)
}

func (r *historyReader) completed(a *historypb.WorkflowExecutionCompletedEventAttributes) Entry {
	e := systemEntry(StepWorkflowCompleted, "workflow completed", map[string]any{})
	var st lifecycle.State
	if err := decodeFirst(a.GetResult(), &st); err != nil {
		e.Details["decode_error"] = err.Error()
		return e
	}
	e.Status = string(st.Status)
	e.Summary = fmt.Sprintf("workflow completed: the application is %s", st.Status)
	return e
}

// journalEntry shows one journal row; its payload minus the dossier.
func journalEntry(e store.Entry) Entry {
	d := payloadMap(e.Payload)
	d["seq"] = e.Seq
	summary, ok := eventSummaries[e.EventType]
	if !ok {
		summary = e.EventType
	}
	return Entry{
		At: e.OccurredAt.UTC(), Source: SourceJournal, Step: e.EventType,
		Actor: Actor{ID: e.ActorID, Role: e.ActorRole}, Status: e.Status, Details: d,
		Summary: fmt.Sprintf("%s (journal seq %d, status %s)", summary, e.Seq, e.Status),
	}
}

var eventSummaries = map[string]string{
	lifecycle.EventSubmitted:             "application submitted",
	lifecycle.EventEmbassyConsulted:      "embassy consulted",
	lifecycle.EventEmbassyContactMissing: "no embassy contact for the destination",
	lifecycle.EventEmbassyReminded:       "embassy reminded",
	lifecycle.EventOpinionGiven:          "embassy opinion given",
	lifecycle.EventOpinionDeemedGiven:    "embassy deadline passed, opinion deemed given",
	lifecycle.EventComplementsRequested:  "complements requested",
	lifecycle.EventComplementsReceived:   "complements received",
	lifecycle.EventComplementsExpired:    "no complements in time, closed without action",
	lifecycle.EventRecommended:           "recommendation recorded",
	lifecycle.EventDecisionReminded:      "DAECT reminded of the pending decision",
	lifecycle.EventApproved:              "funding approved",
	lifecycle.EventRejected:              "funding refused",
	lifecycle.EventWithdrawn:             "application withdrawn",
}

// attemptEntry shows an action the API refused.
func attemptEntry(a store.Attempt) Entry {
	return Entry{
		At: a.At.UTC(), Source: SourceAttempt, Step: a.Action,
		Actor: Actor{ID: a.ActorID, Role: a.ActorRole}, Status: "refused",
		Details: map[string]any{"reason": a.Reason, "http_status": a.HTTPStatus, "attempt_id": a.ID},
		Summary: fmt.Sprintf("%s by %s refused (HTTP %d): %s", a.Action, a.ActorID, a.HTTPStatus, a.Reason),
	}
}

// payloadMap decodes a journal payload, numbers kept exact, without the dossier.
func payloadMap(payload []byte) map[string]any {
	d := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		d["payload_error"] = "the payload is not a JSON object"
		return d
	}
	maps.Copy(d, m)
	delete(d, "dossier")
	return d
}

// detailsMap is a transition's details as the journal stores them, without the dossier.
func detailsMap(details lifecycle.Details) map[string]any {
	b, err := json.Marshal(details)
	if err != nil {
		return map[string]any{"payload_error": err.Error()}
	}
	return payloadMap(b)
}

func decodeFirst(p *commonpb.Payloads, v any) error {
	if len(p.GetPayloads()) == 0 {
		return fmt.Errorf("no payload")
	}
	return dataConverter.FromPayload(p.GetPayloads()[0], v)
}

func actorOf(a lifecycle.Actor) Actor { return Actor{ID: a.ID, Role: string(a.Role)} }

// amount is an exact decimal number of euros, e.g. 3000.00.
func amount(m dossier.Money) json.Number { return json.Number(m.String()) }
