package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
	"github.com/daect/expectct/worker"
)

// checkpointReport is the answer of /v1/audit/verify with checkpoints.
type checkpointReport struct {
	verifyReport
	Checkpoints int `json:"checkpoints"`
}

func verifyAll(t *testing.T, s *testenv.Stack, exported []byte) checkpointReport {
	t.Helper()
	method, body := "GET", any(nil)
	if exported != nil {
		method, body = "POST", exported
	}
	r := apiCall(t, s, s.Token(testenv.Auditor), method, "/v1/audit/verify", body)
	if r.Status != http.StatusOK {
		t.Fatalf("%s /v1/audit/verify: %d %s", method, r.Status, r.Body)
	}
	var rep checkpointReport
	if err := json.Unmarshal(r.Body, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// reported tells whether the report names the application (or "" for the
// checkpoints and the directory), at seq when seq >= 0, with the text.
func reported(rep checkpointReport, id string, seq int, text string) bool {
	return slices.ContainsFunc(rep.Problems, func(p struct {
		ApplicationID string `json:"application_id"`
		Seq           int    `json:"seq"`
		Problem       string `json:"problem"`
	}) bool {
		return p.ApplicationID == id && (seq < 0 || p.Seq == seq) && strings.Contains(p.Problem, text)
	})
}

// forgetHistory deletes a workflow's executions from Temporal, as the
// namespace's retention does, and waits until Temporal no longer has them.
func forgetHistory(t *testing.T, s *testenv.Stack, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		_, err := s.Temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}})
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return // every run of it is gone
		}
		if err != nil {
			t.Fatalf("delete the history of %s: %v", id, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Temporal still has %s", id)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestTamperCaughtByCheckpoints: the application's database role cannot
// rewrite the journals; someone with the superuser's access can, and once
// Temporal has forgotten the histories, the signed checkpoints still show
// a rewritten row, a truncated tail, a deleted application and a touched
// people directory; and copies exported off-site show a rewrite that
// includes the checkpoints.
func TestTamperCaughtByCheckpoints(t *testing.T) {
	seed, _, err := checkpoint.Generate()
	if err != nil {
		t.Fatal(err)
	}
	key, err := checkpoint.ParseKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules(), Checkpoints: key})
	auditor := cliFor(t, s, cliToken(t, s, testenv.Auditor))
	ctx := context.Background()

	// The worker's schedule signs a first checkpoint at once.
	deadline := time.Now().Add(time.Minute)
	for {
		list, err := s.Store.Checkpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the checkpoint schedule took no checkpoint")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Every worker start finds the schedule there and keeps it, with the
	// interval it was given.
	for _, every := range []time.Duration{time.Hour, 2 * time.Hour} {
		if err := worker.EnsureCheckpointSchedule(ctx, s.Temporal, s.TaskQueue, every); err != nil {
			t.Fatalf("EnsureCheckpointSchedule again, every %s: %v", every, err)
		}
	}
	desc, err := s.Temporal.ScheduleClient().GetHandle(ctx, worker.CheckpointScheduleID(s.TaskQueue)).Describe(ctx)
	if err != nil || len(desc.Schedule.Spec.Intervals) != 1 || desc.Schedule.Spec.Intervals[0].Every != 2*time.Hour {
		t.Fatalf("checkpoint schedule: %+v, %v", desc, err)
	}
	if testenv.WritingHistories() {
		recordCheckpointHistory(t, s, desc)
	}
	// From here the test takes its own checkpoints. Interval schedules fire
	// on multiples of their interval since the epoch (16:00 for every 2h),
	// so a scheduled run could land among them: pause the schedule and let
	// a run under way finish.
	schedule := s.Temporal.ScheduleClient().GetHandle(ctx, worker.CheckpointScheduleID(s.TaskQueue))
	if err := schedule.Pause(ctx, client.SchedulePauseOptions{Note: "the tamper suite takes its own checkpoints"}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(time.Minute)
	for {
		d, err := schedule.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Info.RunningWorkflows) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a scheduled checkpoint still running: %+v", d.Info.RunningWorkflows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	scheduled, err := s.Store.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// want is how many checkpoints the export holds: the schedule's and ours.
	want := len(scheduled) + 1
	signedBy := fmt.Sprintf("against %d signed checkpoint(s)", want)

	rewritten := approvedApplication(t, s)
	truncated := approvedApplication(t, s)
	deleted := approvedApplication(t, s)
	intact := approvedApplication(t, s)
	s.Grant(testenv.Admin) // a directory line more
	if taken := s.Checkpoint(); !taken.Appended {
		t.Fatalf("checkpoint after four applications: %+v", taken)
	}
	if taken := s.Checkpoint(); taken.Appended {
		t.Fatalf("a checkpoint with no chain moved was appended: %+v", taken)
	}
	export := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	if r := auditor("audit", "checkpoint", "export", "--output", export); r.code != 0 {
		t.Fatalf("audit checkpoint export: %s", r)
	}
	exported, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(exported), "\n"); lines != want {
		t.Fatalf("exported %d checkpoints, want the schedule's and ours:\n%s", lines, exported)
	}
	if rep := verifyAll(t, s, exported); !rep.OK || rep.Checkpoints != want || rep.Checked != 4 {
		t.Fatalf("verify before tampering: %+v", rep)
	}
	if r := auditor("audit", "verify", "--checkpoints", export); r.code != 0 || !strings.Contains(r.stdout, signedBy) {
		t.Fatalf("audit verify --checkpoints before tampering: %s", r)
	}

	t.Run("the application's role is refused by the database", func(t *testing.T) {
		for _, sql := range []string{
			`UPDATE journal SET payload = '{}' WHERE application_id = $1`,
			`DELETE FROM journal WHERE application_id = $1`,
			`DELETE FROM checkpoints WHERE $1 <> ''`,
			`UPDATE checkpoints SET body = $1`,
			`DELETE FROM directory_journal WHERE $1 <> ''`,
		} {
			if _, err := s.Store.Pool.Exec(ctx, sql, rewritten); err == nil || !strings.Contains(err.Error(), "permission denied") {
				t.Errorf("%s as the application: %v, want permission denied", sql, err)
			}
		}
		for _, stmt := range []string{`TRUNCATE journal`, `TRUNCATE checkpoints`, `ALTER TABLE journal DISABLE TRIGGER USER`,
			`SET session_replication_role = replica`} {
			if _, err := s.Store.Pool.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "42501") {
				t.Errorf("%s as the application: %v, want insufficient privilege", stmt, err)
			}
		}
		err := pgx.BeginFunc(ctx, s.Store.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL expectct.allow_journal_rewrite = 'on'"); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DELETE FROM journal WHERE application_id = $1`, rewritten)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("delete with the former bypass setting: %v, want permission denied", err)
		}
		// It may add a checkpoint, not sign one: a forgery is reported.
		if _, err := s.Store.Pool.Exec(ctx, `INSERT INTO checkpoints (seq, created_at, key_id, body, signature)
			VALUES (3, now(), $1, '{"seq":3,"applications":0,"heads":[]}', 'Zm9yZ2Vk')`, key.ID()); err != nil {
			t.Fatalf("insert a checkpoint as the application: %v", err)
		}
		if rep := verifyAll(t, s, nil); rep.OK || !reported(rep, "", -1, "checkpoint 3: its signature does not match its content") {
			t.Errorf("forged checkpoint: %+v", rep)
		}
	})

	// Temporal's retention passes: the histories are gone.
	for _, id := range []string{rewritten, truncated, deleted, intact} {
		forgetHistory(t, s, id)
	}

	var rewrittenHead, truncatedHead int
	testenv.Tamper(t, s.DBURL, func(tx pgx.Tx) error {
		// Rewritten: the granted amount raised, every hash after it
		// recomputed, so the chain holds.
		entries := journalOf(t, s, rewritten)
		seq := seqOf(t, s, rewritten, lifecycle.EventApproved)
		prev := entries[seq-2].Hash
		for _, e := range entries[seq-1:] {
			if e.Seq == seq {
				e.Payload = []byte(strings.Replace(string(e.Payload), "2800", "4800", 1))
			}
			e.PrevHash = prev
			e.Hash = e.ComputeHash()
			prev = e.Hash
			if _, err := tx.Exec(ctx, `UPDATE journal SET payload = $3, prev_hash = $4, hash = $5 WHERE application_id = $1 AND seq = $2`,
				rewritten, e.Seq, string(e.Payload), e.PrevHash, e.Hash); err != nil {
				return err
			}
		}
		rewrittenHead = entries[len(entries)-1].Seq
		// Truncated: the last row gone, the read model moved back with it.
		entries = journalOf(t, s, truncated)
		truncatedHead = entries[len(entries)-1].Seq
		last := entries[len(entries)-2]
		if _, err := tx.Exec(ctx, `DELETE FROM journal WHERE application_id = $1 AND seq = $2`, truncated, truncatedHead); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE applications SET status = $2, last_seq = $3 WHERE id = $1`, truncated, last.Status, last.Seq); err != nil {
			return err
		}
		// Deleted: every trace of the application.
		for _, sql := range []string{`DELETE FROM journal WHERE application_id = $1`, `DELETE FROM applications WHERE id = $1`,
			`DELETE FROM outbox WHERE application_id = $1`, `DELETE FROM idempotency_keys WHERE application_id = $1`,
			`DELETE FROM attempts WHERE application_id = $1`} {
			if _, err := tx.Exec(ctx, sql, deleted); err != nil {
				return err
			}
		}
		// The directory's last line (the admin's grant) gone.
		_, err := tx.Exec(ctx, `DELETE FROM directory_journal WHERE seq = (SELECT max(seq) FROM directory_journal)`)
		return err
	})
	if breaks := store.VerifyChain(journalOf(t, s, rewritten)); len(breaks) != 0 {
		t.Fatalf("the rewrite left the chain broken: %+v", breaks)
	}

	expectTampering := func(t *testing.T, rep checkpointReport) {
		t.Helper()
		want := []struct {
			id   string
			seq  int
			text string
		}{
			{rewritten, rewrittenHead, "rewritten"},
			{truncated, truncatedHead, "truncated: checkpoint 2 signed seq " + itoa(truncatedHead)},
			{deleted, -1, "deleted: checkpoint 2 signed its journal"},
			{"", -1, "people directory journal: truncated"},
		}
		for _, w := range want {
			if !reported(rep, w.id, w.seq, w.text) {
				t.Errorf("not reported: %s seq %d %q in %+v", w.id, w.seq, w.text, rep)
			}
		}
		if rep.OK || rep.Checked != 4 || reported(rep, intact, -1, "") {
			t.Errorf("report: %+v, want not OK, 4 applications checked (the deleted one too), nothing on %s", rep, intact)
		}
	}

	t.Run("reported after the histories are gone", func(t *testing.T) {
		expectTampering(t, verifyAll(t, s, nil))
		// One application at a time too, the deleted one included.
		if rep := apiVerify(t, s, deleted); rep.OK || rep.Checked != 1 || !slices.ContainsFunc(rep.Problems, func(p struct {
			ApplicationID string `json:"application_id"`
			Seq           int    `json:"seq"`
			Problem       string `json:"problem"`
		}) bool {
			return p.ApplicationID == deleted && strings.HasPrefix(p.Problem, "deleted")
		}) {
			t.Errorf("verify %s: %+v", deleted, rep)
		}
		r := auditor("audit", "verify")
		if r.code == 0 {
			t.Fatalf("audit verify succeeded on a tampered database: %s", r)
		}
		mustContain(t, "audit verify", r.stdout, "FAILED", rewritten, truncated, deleted, "rewritten", "truncated", "deleted",
			"people directory journal")
	})

	t.Run("a rewrite of the checkpoints too is caught by the exported copy", func(t *testing.T) {
		testenv.Tamper(t, s.DBURL, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM checkpoints`)
			return err
		})
		rep := verifyAll(t, s, nil)
		if rep.OK || !reported(rep, "", -1, "the checkpoints table is empty") {
			t.Errorf("verify with the checkpoints gone: %+v", rep)
		}
		rep = verifyAll(t, s, exported)
		for n := 1; n <= want; n++ {
			text := fmt.Sprintf("exported checkpoint %d", n)
			if !reported(rep, "", -1, text) || !reported(rep, "", -1, "is not in the database: removed") {
				t.Errorf("%q not reported: %+v", text, rep)
			}
		}
		expectTampering(t, rep)
		r := auditor("audit", "verify", "--checkpoints", export)
		if r.code == 0 {
			t.Fatalf("audit verify --checkpoints succeeded: %s", r)
		}
		mustContain(t, "audit verify --checkpoints", r.stdout, signedBy, "removed", "deleted", "rewritten")
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// recordCheckpointHistory writes the history of the schedule's first
// checkpoint run for the workflows' replay test.
func recordCheckpointHistory(t *testing.T, s *testenv.Stack, desc *client.ScheduleDescription) {
	t.Helper()
	if len(desc.Info.RecentActions) == 0 {
		t.Fatal("the checkpoint schedule has run nothing yet")
	}
	run := desc.Info.RecentActions[0].StartWorkflowResult
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Temporal.GetWorkflow(ctx, run.WorkflowID, run.FirstExecutionRunID).Get(ctx, nil); err != nil {
		t.Fatalf("the schedule's checkpoint run: %v", err)
	}
	h := testenv.WorkflowHistory(t, s.Temporal, run.WorkflowID)
	if last := h.Events[len(h.Events)-1].GetEventType(); last != enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Fatalf("checkpoint run ended with %s", last)
	}
	b, err := testenv.MarshalHistory(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(testenv.HistoryFile(t, "checkpoint"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
