package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// Addresses the example dossier and the seeded embassy directory lead to.
const (
	applicantEmail = "claire.martin@mairie-nantes.example"
	embassySNEmail = "scac.dakar-amba@diplomatie.gouv.fr"
	// embassyNOEmail is set in the directory by the embassy_contact_missing path.
	embassyNOEmail = "scac.oslo-amba@diplomatie.gouv.fr"
	sender         = "no-reply@expectct.test"
)

// wait bounds every wait: the machine is small and shared, so it is generous;
// waits poll and return as soon as the condition holds.
const wait = 60 * time.Second

// embassyNO covers the destination without a seeded directory entry.
var embassyNO = lifecycle.Actor{ID: "scac.oslo", Role: lifecycle.RoleEmbassy, Countries: []string{"NO"}}

// lifecyclePath is one decision path, run end to end through the API. run
// asserts everything a user would check and returns the closed application.
type lifecyclePath struct {
	name string
	run  func(t *testing.T) (*testenv.Stack, string)
}

var lifecyclePaths = []lifecyclePath{
	{"approved", pathApproved},
	{"rejected", pathRejected},
	{"withdrawn", pathWithdrawn},
	{"embassy_deadline", pathEmbassyDeadline},
	{"complements_expired", pathComplementsExpired},
	{"complements_answered", pathComplementsAnswered},
	{"embassy_contact_missing", pathEmbassyContactMissing},
	{"decision_reminder", pathDecisionReminder},
	{"withdrawn_during_review", pathWithdrawnDuringReview},
	{"complements_then_withdrawn", pathComplementsThenWithdrawn},
	{"concurrent_steps", pathConcurrentSteps},
	{"paid_and_closed", pathPaidAndClosed},
	{"grant_cancelled", pathGrantCancelled},
	{"report_changes_then_paid", pathReportChangesThenPaid},
	{"overdue_then_extended", pathOverdueThenExtended},
	{"changes_then_renounced", pathChangesThenRenounced},
}

func TestLifecycle(t *testing.T) {
	for _, p := range lifecyclePaths {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			p.run(t)
		})
	}
}

// TestHistories keeps one committed history per path. With
// EXPECTCT_WRITE_HISTORIES=1 it runs every path and (re)writes its history;
// otherwise it checks that every path has a readable, complete history, so a
// new path cannot be added without one.
func TestHistories(t *testing.T) {
	var names []string
	for _, p := range lifecyclePaths {
		names = append(names, p.name)
	}
	if !slices.Equal(slices.Sorted(slices.Values(names)), slices.Sorted(slices.Values(testenv.HistoryPaths))) {
		t.Fatalf("the end-to-end paths %v and the replayed histories testenv.HistoryPaths %v differ", names, testenv.HistoryPaths)
	}
	if testenv.WritingHistories() {
		for _, p := range lifecyclePaths {
			t.Run(p.name, func(t *testing.T) {
				t.Parallel()
				s, id := p.run(t)
				testenv.WriteHistory(t, s.Temporal, id, p.name)
			})
		}
		return
	}
	for _, name := range testenv.HistoryPaths {
		file := testenv.HistoryFile(t, name)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("path %s has no committed history (%v): run `%s=1 go test ./internal/e2e/ -run Histories`",
				name, err, testenv.WriteHistoriesEnv)
			continue
		}
		h, err := client.HistoryFromJSON(bytes.NewReader(data), client.HistoryJSONOptions{})
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		events := h.GetEvents()
		if len(events) == 0 || events[0].GetEventType() != enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED ||
			events[len(events)-1].GetEventType() != enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
			t.Errorf("%s: want a history from the start to the completion of a workflow, got %d events", file, len(events))
			continue
		}
		if wt := events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName(); wt != "Application" {
			t.Errorf("%s: workflow type %q, want Application", file, wt)
		}
	}
}

// calmRules keep the embassy and complements timers out of the way of paths
// whose human steps must come first, however slow the machine.
func calmRules() *rules.Rules {
	r := testenv.FastRules()
	r.Timers.EmbassyReminder = rules.Duration(time.Hour)
	r.Timers.EmbassyDeadline = rules.Duration(2 * time.Hour)
	r.Timers.ComplementsDeadline = rules.Duration(time.Hour)
	return &r
}

// flow drives one application through the API and checks what it left.
type flow struct {
	t  *testing.T
	s  *testenv.Stack
	id string
}

func start(t *testing.T, r *rules.Rules, dossierJSON []byte) *flow {
	t.Helper()
	s := testenv.NewStack(t, testenv.StackOptions{Rules: r})
	return &flow{t: t, s: s, id: s.Submit(dossierJSON)}
}

// step posts a human step and returns the state the workflow answered.
func (f *flow) step(actor lifecycle.Actor, path string, body any) lifecycle.State {
	f.t.Helper()
	r := f.s.Do(&actor, "POST", "/v1/applications/"+f.id+"/"+path, body)
	if r.Status != http.StatusOK {
		f.t.Fatalf("%s as %s: %d %s", path, actor.ID, r.Status, r.Body)
	}
	var st lifecycle.State
	r.JSON(f.t, &st)
	return st
}

// mails waits until n e-mails arrived: the transitions before are recorded.
func (f *flow) mails(n int) {
	f.t.Helper()
	f.s.Mailpit.WaitFor(f.t, n, wait)
}

// state reads the application through the API.
func (f *flow) state() lifecycle.State {
	f.t.Helper()
	return f.s.State(f.id)
}

// renounce ends an approved application, its mission to come, so that the
// workflow closes.
func (f *flow) renounce() lifecycle.State {
	f.t.Helper()
	f.step(testenv.Applicant, "renunciation", map[string]string{"reason": "Le partenaire a reporté la mission."})
	st := f.closed()
	if st.Status != lifecycle.StatusRenounced {
		f.t.Fatalf("after the renunciation: %s", st.Status)
	}
	return st
}

func (f *flow) closed() lifecycle.State {
	f.t.Helper()
	return f.s.WaitClosed(f.id, wait)
}

// exampleWith returns the example dossier changed by edit.
func exampleWith(t *testing.T, edit func(d map[string]any)) []byte {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(testenv.ExampleDossier(t), &d); err != nil {
		t.Fatal(err)
	}
	edit(d)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// budget3000 asks DAECT for 3,000.00 EUR of the 4,800.00 EUR mission: 62.5%,
// within the 70% of any destination.
func budget3000(d map[string]any) {
	b := d["budget"].(map[string]any)
	b["requested"] = "3000.00"
	b["own_share"] = "1800.00"
}

// mailWant is one e-mail a step must send, exactly once.
type mailWant struct {
	seq      int
	template string
	to       lifecycle.Recipient
	addr     string
	cc       []string
	subject  string   // the French subject, without the [EXPE-CT] tag
	contains []string // in the text part
}

func (f *flow) key(w mailWant) string {
	return fmt.Sprintf("%s/%d/%s/%s", f.id, w.seq, w.template, w.to)
}

// Standard e-mails of the paths.

func (f *flow) acknowledgement() mailWant {
	return mailWant{seq: 1, template: lifecycle.MailAcknowledgement, to: lifecycle.ToApplicant, addr: applicantEmail,
		subject:  "Accusé de réception de votre demande " + f.id,
		contains: []string{"Bonjour Claire Martin", "Référence : " + f.id}}
}

func (f *flow) secretariatNotice() mailWant {
	return mailWant{seq: 1, template: lifecycle.MailSecretariatNotice, to: lifecycle.ToSecretariat, addr: testenv.Secretariat,
		subject:  "Nouvelle demande " + f.id + " — Commune de Nantes",
		contains: []string{"Référence : " + f.id}}
}

func (f *flow) consultation(seq int, addr, country string) mailWant {
	return mailWant{seq: seq, template: lifecycle.MailEmbassyConsultation, to: lifecycle.ToEmbassy, addr: addr,
		subject:  "Demande d'avis du poste sur la demande " + f.id + " — " + country,
		contains: []string{"Référence : " + f.id, "Pays : " + country}}
}

func (f *flow) approvalLetter(seq int, embassy string, requested string) mailWant {
	return mailWant{seq: seq, template: lifecycle.MailDecisionApproved, to: lifecycle.ToApplicant, addr: applicantEmail,
		cc:      []string{embassy},
		subject: "Décision : soutien accordé — demande " + f.id,
		contains: []string{"un soutien de 3 000,00 €", "support of EUR 3,000.00",
			"montant demandé : " + requested, "Bonjour Claire Martin"}}
}

// checkMails asserts that Mailpit received exactly the wanted e-mails, one
// each, with their recipients, subjects and contents. The order of arrival
// is not checked: the outbox relay promises delivery, at least once, not an
// order (a retried e-mail may come after a later step's).
func (f *flow) checkMails(want []mailWant) {
	f.t.Helper()
	t := f.t
	got := f.s.Mailpit.WaitFor(t, len(want), wait)
	var summary []string
	for _, m := range got {
		summary = append(summary, fmt.Sprintf("  %v to %v: %s", m.Headers[mail.HeaderKey], m.To, m.Subject))
	}
	if len(got) != len(want) {
		t.Fatalf("Mailpit has %d e-mails, want %d:\n%s", len(got), len(want), strings.Join(summary, "\n"))
	}
	seqOf := map[string]int{}
	for _, w := range want {
		seqOf[f.key(w)] = w.seq
	}
	byKey := map[string]testenv.MailpitMessage{}
	for _, m := range got {
		keys := m.Headers[mail.HeaderKey]
		if len(keys) != 1 {
			t.Fatalf("e-mail %q has %s %v, want one", m.Subject, mail.HeaderKey, keys)
		}
		k := keys[0]
		if _, dup := byKey[k]; dup {
			t.Fatalf("e-mail %s received twice:\n%s", k, strings.Join(summary, "\n"))
		}
		byKey[k] = m
		if _, ok := seqOf[k]; !ok {
			t.Fatalf("unexpected e-mail %s:\n%s", k, strings.Join(summary, "\n"))
		}
	}
	for _, w := range want {
		k := f.key(w)
		m := byKey[k]
		if !slices.Equal(m.To, []string{w.addr}) {
			t.Errorf("%s: To %v, want %s", k, m.To, w.addr)
		}
		if !slices.Equal(m.Cc, w.cc) {
			t.Errorf("%s: Cc %v, want %v", k, m.Cc, w.cc)
		}
		if m.From != sender {
			t.Errorf("%s: From %s, want %s", k, m.From, sender)
		}
		if m.MessageID != mail.MessageID(k) {
			t.Errorf("%s: Message-ID %s, want %s", k, m.MessageID, mail.MessageID(k))
		}
		if !strings.HasPrefix(m.Subject, "[EXPE-CT] "+w.subject+" / ") {
			t.Errorf("%s: subject %q, want it to start with %q", k, m.Subject, "[EXPE-CT] "+w.subject+" / ")
		}
		text := strings.ReplaceAll(m.Text, "\r\n", "\n")
		for _, c := range w.contains {
			if !strings.Contains(text, c) {
				t.Errorf("%s: text lacks %q:\n%s", k, c, text)
			}
		}
		if m.HTML == "" {
			t.Errorf("%s: no HTML part", k)
		}
	}
	f.checkOutbox(want)
}

// checkOutbox asserts the outbox holds one row per wanted e-mail, all sent.
func (f *flow) checkOutbox(want []mailWant) {
	f.t.Helper()
	t := f.t
	ctx := context.Background()
	// The relay marks a row sent once the mail server has taken it, a
	// moment after the message shows in Mailpit.
	deadline := time.Now().Add(wait)
	for {
		var unsent int
		if err := f.s.Store.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&unsent); err != nil {
			t.Fatal(err)
		}
		if unsent == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	rows, err := f.s.Store.Pool.Query(ctx, `SELECT application_id, dedup_key, seq, template, recipients, cc, sent_at IS NOT NULL, message_id
		FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type row struct {
		app, key, template, messageID string
		seq                           int
		to, cc                        []string
		sent                          bool
	}
	seen := map[string]bool{}
	seenStep := map[string]bool{}
	n := 0
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.app, &r.key, &r.seq, &r.template, &r.to, &r.cc, &r.sent, &r.messageID); err != nil {
			t.Fatal(err)
		}
		n++
		step := fmt.Sprintf("%s/%d/%s/%v", r.app, r.seq, r.template, r.to)
		if seen[r.key] || seenStep[step] {
			t.Errorf("outbox: duplicate row %s", r.key)
		}
		seen[r.key], seenStep[step] = true, true
		if !r.sent {
			t.Errorf("outbox: %s not sent (sent_at is null)", r.key)
		}
		if r.messageID != mail.MessageID(r.key) {
			t.Errorf("outbox: %s has Message-ID %s", r.key, r.messageID)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("outbox has %d rows, want %d", n, len(want))
	}
	for _, w := range want {
		if !seen[f.key(w)] {
			t.Errorf("outbox: no row %s", f.key(w))
		}
	}
}

// checkJournal asserts the journal rows, in order, and the status the last leaves.
func (f *flow) checkJournal(final lifecycle.Status, events ...string) {
	f.t.Helper()
	if got := f.s.Journal(f.id); !slices.Equal(got, events) {
		f.t.Fatalf("journal %v, want %v", got, events)
	}
	entries, err := f.s.Store.Journal(context.Background(), f.id)
	if err != nil {
		f.t.Fatal(err)
	}
	for i, e := range entries {
		if e.Seq != i+1 {
			f.t.Errorf("journal row %d has seq %d", i, e.Seq)
		}
	}
	if last := entries[len(entries)-1]; last.Status != string(final) {
		f.t.Errorf("last journal row leaves status %s, want %s", last.Status, final)
	}
}

// readModelWant is what the applications row must show at the end.
type readModelWant struct {
	status      lifecycle.Status
	requested   int64
	recommended *int64
	granted     *int64
	decided     bool
	lastSeq     int
	country     string
}

func cents(euros int64) *int64 { c := euros * 100; return &c }

func (f *flow) checkReadModel(w readModelWant) store.Application {
	f.t.Helper()
	t := f.t
	a, err := f.s.Store.Application(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	eq := func(p *int64, q *int64) bool { return (p == nil) == (q == nil) && (p == nil || *p == *q) }
	show := func(p *int64) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprint(*p)
	}
	if a.Status != string(w.status) {
		t.Errorf("read model status %s, want %s", a.Status, w.status)
	}
	if a.RequestedCents != w.requested*100 {
		t.Errorf("read model requested %d cents, want %d", a.RequestedCents, w.requested*100)
	}
	if !eq(a.RecommendedCents, w.recommended) {
		t.Errorf("read model recommended %s, want %s", show(a.RecommendedCents), show(w.recommended))
	}
	if !eq(a.GrantedCents, w.granted) {
		t.Errorf("read model granted %s, want %s", show(a.GrantedCents), show(w.granted))
	}
	if (a.DecidedAt != nil) != w.decided {
		t.Errorf("read model decided_at %v, want set: %v", a.DecidedAt, w.decided)
	}
	if a.LastSeq != w.lastSeq {
		t.Errorf("read model last_seq %d, want %d", a.LastSeq, w.lastSeq)
	}
	if a.Country != w.country || a.SIREN != testenv.Applicant.SIREN || a.RulesVersion != "test-fast" {
		t.Errorf("read model country %s, SIREN %s, rules %s", a.Country, a.SIREN, a.RulesVersion)
	}
	return a
}

func checkSteps(t *testing.T, st lifecycle.State, status lifecycle.Status, n int) {
	t.Helper()
	if st.Status != status {
		t.Errorf("status %s, want %s", st.Status, status)
	}
	if len(st.Steps) != n {
		t.Errorf("state has %d steps, want %d: %+v", len(st.Steps), n, st.Steps)
	}
	if len(st.Deadlines) != 0 {
		t.Errorf("closed application still has deadlines %+v", st.Deadlines)
	}
}

func checkOpinion(t *testing.T, st lifecycle.State, value, actor string) {
	t.Helper()
	if st.Opinion == nil || st.Opinion.Value != value || st.Opinion.Actor.ID != actor {
		t.Errorf("opinion %+v, want %s by %s", st.Opinion, value, actor)
	}
}

func checkGrant(t *testing.T, st lifecycle.State, euros int64) {
	t.Helper()
	if st.Recommendation == nil || st.Recommendation.Value != lifecycle.RecommendApprove ||
		st.Recommendation.Amount != dossier.Euros(euros) || st.Recommendation.Actor.ID != testenv.Instructor.ID {
		t.Errorf("recommendation %+v, want approve %d EUR by %s", st.Recommendation, euros, testenv.Instructor.ID)
	}
	if st.Decision == nil || st.Decision.Value != lifecycle.DecisionApprove ||
		st.Decision.Amount != dossier.Euros(euros) || st.Decision.Actor.ID != testenv.Decider.ID {
		t.Errorf("decision %+v, want approve %d EUR by %s", st.Decision, euros, testenv.Decider.ID)
	}
}

// grant recommends then decides 3,000.00 EUR.
func (f *flow) grant() lifecycle.State {
	f.t.Helper()
	st := f.step(testenv.Instructor, "recommendation", map[string]any{
		"recommendation": "approve", "amount": "3000.00", "comment": "Mission bien préparée, budget cohérent."})
	if st.Status != lifecycle.StatusAwaitingDecision {
		f.t.Fatalf("after the recommendation: %s", st.Status)
	}
	st = f.step(testenv.Decider, "decision", map[string]any{"decision": "approve", "amount": "3000.00"})
	// The answer is the read model, which may already hold the next
	// transition: for a mission already over, the report's request.
	if st.Status != lifecycle.StatusApproved && st.Status != lifecycle.StatusAwaitingReport {
		f.t.Fatalf("after the decision: %s", st.Status)
	}
	return st
}

func (f *flow) favorable(embassy lifecycle.Actor) {
	f.t.Helper()
	st := f.step(embassy, "opinion", map[string]string{
		"opinion": lifecycle.OpinionFavorable, "comment": "Partenariat actif, mission utile à la commune partenaire."})
	if st.Status != lifecycle.StatusUnderReview {
		f.t.Fatalf("after the opinion: %s", st.Status)
	}
}

func pathApproved(t *testing.T) (*testenv.Stack, string) {
	f := start(t, calmRules(), testenv.ExampleDossier(t))
	f.mails(3) // acknowledgement, secretariat notice, consultation
	f.favorable(testenv.EmbassySN)
	f.grant()

	st := f.state() // open: the mission is to come
	checkSteps(t, st, lifecycle.StatusApproved, 5)
	checkOpinion(t, st, lifecycle.OpinionFavorable, testenv.EmbassySN.ID)
	checkGrant(t, st, 3000)
	f.checkJournal(lifecycle.StatusApproved, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventRecommended, lifecycle.EventApproved)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		f.approvalLetter(5, embassySNEmail, "3 500,00 €"),
	})
	f.checkReadModel(readModelWant{status: lifecycle.StatusApproved, requested: 3500,
		recommended: cents(3000), granted: cents(3000), decided: true, lastSeq: 5, country: "SN"})
	f.renounce()
	return f.s, f.id
}

func pathRejected(t *testing.T) (*testenv.Stack, string) {
	const motivation = "Le projet ne relève pas de l'expertise d'une collectivité territoriale."
	f := start(t, calmRules(), testenv.ExampleDossier(t))
	f.mails(3)
	st := f.step(testenv.EmbassySN, "opinion", map[string]string{
		"opinion": lifecycle.OpinionUnfavorable, "comment": "Le partenaire n'a pas confirmé son intérêt."})
	if st.Status != lifecycle.StatusUnderReview {
		t.Fatalf("an unfavourable opinion must not end the application: %s", st.Status)
	}
	f.step(testenv.Instructor, "recommendation", map[string]any{
		"recommendation": "reject", "comment": "Avis défavorable du poste."})
	f.step(testenv.Decider, "decision", map[string]any{"decision": "reject", "motivation": motivation})

	st = f.closed()
	checkSteps(t, st, lifecycle.StatusRejected, 5)
	checkOpinion(t, st, lifecycle.OpinionUnfavorable, testenv.EmbassySN.ID)
	if st.Recommendation == nil || st.Recommendation.Value != lifecycle.RecommendReject || st.Recommendation.Amount != 0 {
		t.Errorf("recommendation %+v, want reject", st.Recommendation)
	}
	if st.Decision == nil || st.Decision.Value != lifecycle.DecisionReject || st.Decision.Amount != 0 ||
		st.Decision.Motivation != motivation || st.Decision.Actor.ID != testenv.Decider.ID {
		t.Errorf("decision %+v, want reject with the motivation", st.Decision)
	}
	f.checkJournal(lifecycle.StatusRejected, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventRecommended, lifecycle.EventRejected)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		{seq: 5, template: lifecycle.MailDecisionRejected, to: lifecycle.ToApplicant, addr: applicantEmail,
			cc:       []string{embassySNEmail},
			subject:  "Décision : demande " + f.id + " non retenue",
			contains: []string{"pour le motif suivant :", "for the following reason:", "\n    " + motivation + "\n"}},
	})
	f.checkReadModel(readModelWant{status: lifecycle.StatusRejected, requested: 3500,
		recommended: cents(0), decided: true, lastSeq: 5, country: "SN"})
	return f.s, f.id
}

func pathWithdrawn(t *testing.T) (*testenv.Stack, string) {
	const reason = "La mission est reportée à l'année prochaine."
	f := start(t, calmRules(), testenv.ExampleDossier(t))
	f.mails(3)
	st := f.step(testenv.Applicant, "withdrawal", map[string]string{"reason": reason})
	if st.Status != lifecycle.StatusWithdrawn {
		t.Fatalf("after the withdrawal: %s", st.Status)
	}

	st = f.closed()
	checkSteps(t, st, lifecycle.StatusWithdrawn, 3)
	if st.WithdrawalReason != reason || st.Opinion != nil || st.Decision != nil {
		t.Errorf("withdrawn state: reason %q, opinion %+v, decision %+v", st.WithdrawalReason, st.Opinion, st.Decision)
	}
	f.checkJournal(lifecycle.StatusWithdrawn, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted, lifecycle.EventWithdrawn)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		{seq: 3, template: lifecycle.MailWithdrawn, to: lifecycle.ToApplicant, addr: applicantEmail,
			subject:  "Retrait de votre demande " + f.id,
			contains: []string{"Motif indiqué :", "Reason given:", "\n    " + reason + "\n"}},
	})
	f.checkReadModel(readModelWant{status: lifecycle.StatusWithdrawn, requested: 3500, lastSeq: 3, country: "SN"})
	return f.s, f.id
}

func pathEmbassyDeadline(t *testing.T) (*testenv.Stack, string) {
	r := testenv.FastRules() // reminder after 2 s, avis réputé rendu after 4 s
	f := start(t, &r, testenv.ExampleDossier(t))
	f.mails(5) // ... consultation, reminder, deadline passed
	st := f.s.WaitStatus(f.id, lifecycle.StatusUnderReview, wait)
	checkOpinion(t, st, lifecycle.OpinionNotGiven, lifecycle.System.ID)
	if st.Opinion.Actor.Role != lifecycle.RoleSystem {
		t.Errorf("the deemed opinion is recorded by %+v, want the system", st.Opinion.Actor)
	}
	// The embassy answering late is refused: the application has moved on.
	if r := f.s.Do(&testenv.EmbassySN, "POST", "/v1/applications/"+f.id+"/opinion",
		map[string]string{"opinion": "favorable", "comment": "Trop tard."}); r.Status != http.StatusConflict {
		t.Errorf("late opinion: %d %s, want 409", r.Status, r.Body)
	}
	f.grant()

	st = f.state() // open: the mission is to come
	checkSteps(t, st, lifecycle.StatusApproved, 6)
	checkOpinion(t, st, lifecycle.OpinionNotGiven, lifecycle.System.ID)
	checkGrant(t, st, 3000)
	f.checkJournal(lifecycle.StatusApproved, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventEmbassyReminded, lifecycle.EventOpinionDeemedGiven, lifecycle.EventRecommended, lifecycle.EventApproved)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		{seq: 3, template: lifecycle.MailEmbassyReminder, to: lifecycle.ToEmbassy, addr: embassySNEmail,
			subject:  "Relance : avis du poste attendu sur la demande " + f.id,
			contains: []string{"Référence : " + f.id}},
		{seq: 4, template: lifecycle.MailEmbassyDeadlinePassed, to: lifecycle.ToSecretariat, addr: testenv.Secretariat,
			subject:  "Avis du poste non rendu — demande " + f.id,
			contains: []string{"Référence : " + f.id}},
		f.approvalLetter(6, embassySNEmail, "3 500,00 €"),
	})
	f.checkReadModel(readModelWant{status: lifecycle.StatusApproved, requested: 3500,
		recommended: cents(3000), granted: cents(3000), decided: true, lastSeq: 6, country: "SN"})
	f.renounce()
	return f.s, f.id
}

const complementsMessage = "Merci de joindre le programme détaillé de la mission, jour par jour."

func (f *flow) requestComplements() {
	f.t.Helper()
	st := f.step(testenv.Instructor, "complements-request", map[string]string{"message": complementsMessage})
	if st.Status != lifecycle.StatusAwaitingComplements || st.ComplementsDue == nil {
		f.t.Fatalf("after the request for complements: %s, due %v", st.Status, st.ComplementsDue)
	}
}

func (f *flow) complementsRequest() mailWant {
	return mailWant{seq: 4, template: lifecycle.MailComplementsRequest, to: lifecycle.ToApplicant, addr: applicantEmail,
		subject:  "Demande de compléments — demande " + f.id,
		contains: []string{"compléments suivants :", "\n    " + complementsMessage + "\n"}}
}

func pathComplementsExpired(t *testing.T) (*testenv.Stack, string) {
	r := calmRules()
	r.Timers.ComplementsDeadline = rules.Duration(3 * time.Second)
	f := start(t, r, testenv.ExampleDossier(t))
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	f.requestComplements()

	st := f.closed() // closed without action when the 3 s pass
	checkSteps(t, st, lifecycle.StatusClosedWithoutAction, 5)
	if st.Decision != nil || st.ComplementsRequest != complementsMessage {
		t.Errorf("decision %+v, complements request %q", st.Decision, st.ComplementsRequest)
	}
	f.checkJournal(lifecycle.StatusClosedWithoutAction, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventComplementsRequested, lifecycle.EventComplementsExpired)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		f.complementsRequest(),
		{seq: 5, template: lifecycle.MailClosedWithoutAction, to: lifecycle.ToApplicant, addr: applicantEmail,
			subject:  "Demande " + f.id + " classée sans suite",
			contains: []string{"Référence : " + f.id}},
	})
	f.checkReadModel(readModelWant{status: lifecycle.StatusClosedWithoutAction, requested: 3500, lastSeq: 5, country: "SN"})
	return f.s, f.id
}

func pathComplementsAnswered(t *testing.T) (*testenv.Stack, string) {
	f := start(t, calmRules(), testenv.ExampleDossier(t))
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	f.requestComplements()
	f.mails(4)
	amended := exampleWith(t, func(d map[string]any) {
		budget3000(d)
		m := d["mission"].(map[string]any)
		m["objectives"] = m["objectives"].(string) + " Programme détaillé : diagnostic (jours 1 à 3), formation (jours 4 à 7), plan d'action (jours 8 à 10)."
	})
	st := f.step(testenv.Applicant, "complements", map[string]any{
		"dossier": json.RawMessage(amended), "comment": "Programme joint, budget révisé."})
	if st.Status != lifecycle.StatusUnderReview || st.Dossier.Budget.Requested != dossier.Euros(3000) ||
		!strings.Contains(st.Dossier.Mission.Objectives, "Programme détaillé") || st.ComplementsDue != nil {
		t.Fatalf("after the complements: %s, requested %s, due %v", st.Status, st.Dossier.Budget.Requested, st.ComplementsDue)
	}
	f.grant()

	st = f.state() // open: the mission is to come
	checkSteps(t, st, lifecycle.StatusApproved, 7)
	checkGrant(t, st, 3000)
	if got := readState(t, f.s, f.id).Dossier.Budget.Requested; got != dossier.Euros(3000) {
		t.Errorf("final dossier requests %s, want the amended 3000.00", got)
	}
	f.checkJournal(lifecycle.StatusApproved, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventComplementsRequested, lifecycle.EventComplementsReceived,
		lifecycle.EventRecommended, lifecycle.EventApproved)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		f.complementsRequest(),
		{seq: 5, template: lifecycle.MailComplementsReceived, to: lifecycle.ToSecretariat, addr: testenv.Secretariat,
			subject:  "Compléments reçus — demande " + f.id,
			contains: []string{"Référence : " + f.id, "Montant demandé : 3 000,00 €"}},
		// The letter speaks of the amended request.
		f.approvalLetter(7, embassySNEmail, "3 000,00 €"),
	})
	f.checkReadModel(readModelWant{status: lifecycle.StatusApproved, requested: 3000,
		recommended: cents(3000), granted: cents(3000), decided: true, lastSeq: 7, country: "SN"})
	var stored dossier.Dossier
	raw, err := f.s.Store.DossierJSON(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Budget.Requested != dossier.Euros(3000) || !strings.Contains(stored.Mission.Objectives, "Programme détaillé") {
		t.Errorf("stored dossier not the amended one: %+v", stored.Budget)
	}
	f.renounce()
	return f.s, f.id
}

func pathEmbassyContactMissing(t *testing.T) (*testenv.Stack, string) {
	// Norway: no directory entry, not a least-developed country (70% at most).
	norway := exampleWith(t, func(d map[string]any) {
		budget3000(d)
		p := d["partner"].(map[string]any)
		p["country"], p["city"], p["authority"] = "NO", "Bergen", "Bergen kommune"
	})
	f := start(t, calmRules(), norway)
	f.mails(3) // acknowledgement, secretariat notice, contact missing
	st := f.state()
	if st.Status != lifecycle.StatusEmbassyConsultation || st.EmbassyContacted {
		t.Fatalf("without a contact: status %s, embassy contacted %v", st.Status, st.EmbassyContacted)
	}
	// No embassy was consulted, so none may answer yet.
	if r := f.s.Do(&embassyNO, "POST", "/v1/applications/"+f.id+"/opinion",
		map[string]string{"opinion": "favorable", "comment": "Avis spontané."}); r.Status != http.StatusConflict {
		t.Errorf("opinion before consultation: %d %s, want 409", r.Status, r.Body)
	}
	if r := f.s.Do(&testenv.Admin, "PUT", "/v1/embassies/NO", map[string]any{
		"name": "Ambassade de France en Norvège", "emails": []string{embassyNOEmail}}); r.Status != http.StatusOK {
		t.Fatalf("set the embassy contact: %d %s", r.Status, r.Body)
	}
	f.mails(4) // the consultation, once the directory has the contact
	f.favorable(embassyNO)
	f.grant()

	st = f.state() // open: the mission is to come
	checkSteps(t, st, lifecycle.StatusApproved, 6)
	checkOpinion(t, st, lifecycle.OpinionFavorable, embassyNO.ID)
	checkGrant(t, st, 3000)
	if !st.EmbassyContacted {
		t.Error("embassy never contacted")
	}
	f.checkJournal(lifecycle.StatusApproved, lifecycle.EventSubmitted, lifecycle.EventEmbassyContactMissing,
		lifecycle.EventEmbassyConsulted, lifecycle.EventOpinionGiven, lifecycle.EventRecommended, lifecycle.EventApproved)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		{seq: 2, template: lifecycle.MailEmbassyContactMissing, to: lifecycle.ToSecretariat, addr: testenv.Secretariat,
			subject:  "Contact du poste manquant pour Norvège (NO) — demande " + f.id,
			contains: []string{"aucun contact pour le pays Norvège (NO)"}},
		f.consultation(3, embassyNOEmail, "Norvège (NO)"),
		f.approvalLetter(6, embassyNOEmail, "3 000,00 €"),
	})
	f.checkReadModel(readModelWant{status: lifecycle.StatusApproved, requested: 3000,
		recommended: cents(3000), granted: cents(3000), decided: true, lastSeq: 6, country: "NO"})
	f.renounce()
	return f.s, f.id
}

func (f *flow) withdraw(reason string) {
	f.t.Helper()
	if st := f.step(testenv.Applicant, "withdrawal", map[string]string{"reason": reason}); st.Status != lifecycle.StatusWithdrawn {
		f.t.Fatalf("after the withdrawal: %s", st.Status)
	}
}

func (f *flow) withdrawal(seq int, reason string) mailWant {
	return mailWant{seq: seq, template: lifecycle.MailWithdrawn, to: lifecycle.ToApplicant, addr: applicantEmail,
		subject:  "Retrait de votre demande " + f.id,
		contains: []string{"Motif indiqué :", "Reason given:", "\n    " + reason + "\n"}}
}

func pathDecisionReminder(t *testing.T) (*testenv.Stack, string) {
	const reason = "Le partenaire a reporté la mission."
	r := calmRules()
	// Long enough for the withdrawal to come before a second reminder,
	// however slow the machine.
	r.Timers.DecisionReminder = rules.Duration(5 * time.Second)
	f := start(t, r, testenv.ExampleDossier(t))
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	f.mails(4) // the decision reminder, once DAECT has waited
	f.withdraw(reason)

	st := f.closed()
	checkSteps(t, st, lifecycle.StatusWithdrawn, 5)
	f.checkJournal(lifecycle.StatusWithdrawn, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventDecisionReminded, lifecycle.EventWithdrawn)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		{seq: 4, template: lifecycle.MailDecisionReminder, to: lifecycle.ToSecretariat, addr: testenv.Secretariat,
			subject:  "Décision en attente — demande " + f.id,
			contains: []string{"Référence : " + f.id}},
		f.withdrawal(5, reason),
	})
	f.checkReadModel(readModelWant{status: lifecycle.StatusWithdrawn, requested: 3500, lastSeq: 5, country: "SN"})
	return f.s, f.id
}

func pathWithdrawnDuringReview(t *testing.T) (*testenv.Stack, string) {
	const reason = "La commune partenaire a changé d'équipe municipale."
	f := start(t, calmRules(), testenv.ExampleDossier(t))
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	f.withdraw(reason)

	st := f.closed()
	checkSteps(t, st, lifecycle.StatusWithdrawn, 4)
	checkOpinion(t, st, lifecycle.OpinionFavorable, testenv.EmbassySN.ID)
	f.checkJournal(lifecycle.StatusWithdrawn, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventWithdrawn)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		f.withdrawal(4, reason),
	})
	f.checkReadModel(readModelWant{status: lifecycle.StatusWithdrawn, requested: 3500, lastSeq: 4, country: "SN"})
	return f.s, f.id
}

func pathComplementsThenWithdrawn(t *testing.T) (*testenv.Stack, string) {
	const reason = "Nous déposerons une demande pour l'an prochain."
	f := start(t, calmRules(), testenv.ExampleDossier(t))
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	f.requestComplements()
	st := f.step(testenv.Applicant, "complements", map[string]any{
		"dossier": json.RawMessage(testenv.ExampleDossier(t)), "comment": "Dossier inchangé."})
	if st.Status != lifecycle.StatusUnderReview {
		t.Fatalf("after the complements: %s", st.Status)
	}
	f.withdraw(reason)

	st = f.closed()
	checkSteps(t, st, lifecycle.StatusWithdrawn, 6)
	f.checkJournal(lifecycle.StatusWithdrawn, lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted,
		lifecycle.EventOpinionGiven, lifecycle.EventComplementsRequested, lifecycle.EventComplementsReceived,
		lifecycle.EventWithdrawn)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		f.complementsRequest(),
		{seq: 5, template: lifecycle.MailComplementsReceived, to: lifecycle.ToSecretariat, addr: testenv.Secretariat,
			subject:  "Compléments reçus — demande " + f.id,
			contains: []string{"Référence : " + f.id}},
		f.withdrawal(6, reason),
	})
	f.checkReadModel(readModelWant{status: lifecycle.StatusWithdrawn, requested: 3500, lastSeq: 6, country: "SN"})
	return f.s, f.id
}

// pathConcurrentSteps sends the recommendation and the withdrawal at once.
// Whichever the workflow accepts first comes first in the journal; the
// withdrawal is allowed in both states, the recommendation only before it.
func pathConcurrentSteps(t *testing.T) (*testenv.Stack, string) {
	const reason = "Retrait décidé en conseil municipal."
	f := start(t, calmRules(), testenv.ExampleDossier(t))
	f.mails(3)
	f.favorable(testenv.EmbassySN)
	var recommend, withdraw testenv.Response
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		recommend = f.s.Do(&testenv.Instructor, "POST", "/v1/applications/"+f.id+"/recommendation", map[string]any{
			"recommendation": "approve", "amount": "3000.00", "comment": "Mission bien préparée."})
	}()
	go func() {
		defer wg.Done()
		withdraw = f.s.Do(&testenv.Applicant, "POST", "/v1/applications/"+f.id+"/withdrawal", map[string]string{"reason": reason})
	}()
	wg.Wait()
	if withdraw.Status != http.StatusOK {
		t.Fatalf("withdrawal: %d %s", withdraw.Status, withdraw.Body)
	}
	events := []string{lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted, lifecycle.EventOpinionGiven}
	switch recommend.Status {
	case http.StatusOK:
		events = append(events, lifecycle.EventRecommended)
	case http.StatusConflict: // the withdrawal came first
	default:
		t.Fatalf("recommendation: %d %s", recommend.Status, recommend.Body)
	}
	events = append(events, lifecycle.EventWithdrawn)

	st := f.closed()
	checkSteps(t, st, lifecycle.StatusWithdrawn, len(events))
	f.checkJournal(lifecycle.StatusWithdrawn, events...)
	f.checkMails([]mailWant{
		f.acknowledgement(),
		f.secretariatNotice(),
		f.consultation(2, embassySNEmail, "Sénégal (SN)"),
		f.withdrawal(len(events), reason),
	})
	var recommended *int64
	if recommend.Status == http.StatusOK {
		recommended = cents(3000)
	}
	f.checkReadModel(readModelWant{status: lifecycle.StatusWithdrawn, requested: 3500, recommended: recommended,
		lastSeq: len(events), country: "SN"})
	return f.s, f.id
}
