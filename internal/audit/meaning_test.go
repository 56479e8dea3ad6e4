package audit

import (
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	updatepb "go.temporal.io/api/update/v1"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// entries builds a journal from "event:status:actor" rows, seq from 1.
func entries(rows ...string) []store.Entry {
	var out []store.Entry
	for i, r := range rows {
		f := strings.Split(r, ":")
		role := lifecycle.RoleSystem
		if f[2] != lifecycle.System.ID {
			role = lifecycle.RoleApplicant
		}
		out = append(out, store.Entry{ApplicationID: "EXP-1", Seq: i + 1, EventType: f[0], Status: f[1],
			ActorID: f[2], ActorRole: string(role)})
	}
	return out
}

// wantProblems checks problems against "seq:fragment" wants, in order.
func wantProblems(t *testing.T, got []Problem, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("problems %+v, want %q", got, want)
	}
	for i, w := range want {
		seq, frag, _ := strings.Cut(w, ":")
		if g := got[i]; g.ApplicationID != "EXP-1" || seq != itoa(g.Seq) || !strings.Contains(g.Problem, frag) {
			t.Errorf("problem %d = %+v, want seq %s with %q", i, g, seq, frag)
		}
	}
}

func TestCheckMoves(t *testing.T) {
	const (
		sub = "submitted:submitted:claire"
		con = "embassy_consulted:embassy_consultation:expectct"
		opi = "opinion_given:under_review:scac"
		rec = "recommended:awaiting_decision:instructor"
		app = "approved:approved:decider"
	)
	cases := []struct {
		name    string
		journal []store.Entry
		want    []string
	}{
		{"approved", entries(sub, con, opi, rec, app), nil},
		{"withdrawn during review", entries(sub, con, opi, "withdrawn:withdrawn:claire"), nil},
		{"review skipped", entries(sub, con, rec, app),
			[]string{"3:recommended moves the status from embassy_consultation to awaiting_decision"}},
		{"event and status disagree", entries(sub, con, opi, rec, "approved:rejected:decider"),
			[]string{"5:approved moves the status from awaiting_decision to rejected"}},
		{"approved then renounced", entries(sub, con, opi, rec, app, "renounced:renounced:claire"), nil},
		{"withdrawn after the approval", entries(sub, con, opi, rec, app, "withdrawn:withdrawn:claire"),
			[]string{"6:withdrawn moves the status from approved to withdrawn"}},
		{"rows after the end", entries(sub, con, opi, rec, "rejected:rejected:decider", "decision_reminded:awaiting_decision:expectct", "withdrawn:withdrawn:claire"),
			[]string{"6:decision_reminded (status awaiting_decision) follows the terminal status rejected of seq 5",
				"7:withdrawn (status withdrawn) follows the terminal status rejected of seq 5"}},
		{"no submission", entries(con, opi), []string{"1:the journal starts with embassy_consulted"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantProblems(t, checkMoves("EXP-1", c.journal), c.want...) })
	}
}

func TestCheckReadModel(t *testing.T) {
	journal := entries("submitted:submitted:claire", "embassy_consulted:embassy_consultation:expectct")
	wantProblems(t, checkReadModel("EXP-1", journal, readModel{found: true, status: "embassy_consultation", lastSeq: 2}))
	wantProblems(t, checkReadModel("EXP-1", journal, readModel{moving: true}))
	wantProblems(t, checkReadModel("EXP-1", journal, readModel{found: true, status: "approved", lastSeq: 2}),
		"2:read model says status approved at seq 2, the journal's last row embassy_consulted says status embassy_consultation at seq 2")
	wantProblems(t, checkReadModel("EXP-1", journal, readModel{found: true, status: "embassy_consultation", lastSeq: 1}),
		"2:read model says status embassy_consultation at seq 1")
	wantProblems(t, checkReadModel("EXP-1", journal, readModel{}), "2:read model row missing")
}

func (b *historyBuilder) accept(name string, actor string) int64 {
	b.t.Helper()
	args, err := dataConverter.ToPayloads(lifecycle.WithdrawInput{Actor: lifecycle.Actor{ID: actor}})
	if err != nil {
		b.t.Fatal(err)
	}
	return b.add(&historypb.HistoryEvent{EventType: enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{
			AcceptedRequest: &updatepb.Request{Input: &updatepb.Input{Name: name, Args: args}}}}})
}

func (b *historyBuilder) updateDone(accepted int64, failed bool) {
	outcome := &updatepb.Outcome{}
	if failed {
		outcome.Value = &updatepb.Outcome_Failure{Failure: &failurepb.Failure{Message: "record failed"}}
	}
	b.add(&historypb.HistoryEvent{EventType: enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes{WorkflowExecutionUpdateCompletedEventAttributes: &historypb.WorkflowExecutionUpdateCompletedEventAttributes{
			AcceptedEventId: accepted, Outcome: outcome}}})
}

func TestCompareUpdates(t *testing.T) {
	const (
		sub = "submitted:submitted:claire"
		con = "embassy_consulted:embassy_consultation:expectct"
		opi = "opinion_given:under_review:scac"
		rem = "decision_reminded:under_review:expectct"
		rec = "recommended:awaiting_decision:instructor"
	)
	steps := func(b *historyBuilder) {
		b.updateDone(b.accept(lifecycle.UpdateOpinion, "scac"), false)
		b.updateDone(b.accept(lifecycle.UpdateRecommend, "instructor"), false)
	}
	cases := []struct {
		name    string
		history func(b *historyBuilder)
		journal []store.Entry
		want    []string
	}{
		{"in order, system rows aside", steps, entries(sub, con, opi, rem, rec), nil},
		{"a failed step records nothing", func(b *historyBuilder) {
			b.updateDone(b.accept(lifecycle.UpdateOpinion, "scac"), false)
			b.updateDone(b.accept(lifecycle.UpdateDecide, "decider"), true)
			b.updateDone(b.accept(lifecycle.UpdateRecommend, "instructor"), false)
		}, entries(sub, con, opi, rec), nil},
		{"last step in flight, row not yet written", func(b *historyBuilder) {
			b.updateDone(b.accept(lifecycle.UpdateOpinion, "scac"), false)
			b.accept(lifecycle.UpdateRecommend, "instructor")
		}, entries(sub, con, opi), nil},
		{"reordered", steps, entries(sub, con, rec, opi), []string{
			"3:journal row recommended by instructor is not the next human step of the workflow history: opinion by scac",
			"4:journal row opinion_given by scac is not the next human step of the workflow history: recommend by instructor"}},
		{"someone else", steps, entries(sub, con, "opinion_given:under_review:scac.other", rec),
			[]string{"3:journal row opinion_given by scac.other is not the next human step"}},
		{"row missing", steps, entries(sub, con, opi),
			[]string{"0:the workflow history accepted recommend by instructor (event 3), the journal has no row for it"}},
		{"row without an update", steps, entries(sub, con, opi, rec, "withdrawn:withdrawn:claire"),
			[]string{"5:journal row withdrawn by claire has no accepted update"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &historyBuilder{t: t}
			c.history(b)
			wantProblems(t, compareUpdates("EXP-1", c.journal, b.events), c.want...)
		})
	}
}
