package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// verifyReport is the answer of GET /v1/audit/verify.
type verifyReport struct {
	OK       bool `json:"ok"`
	Checked  int  `json:"checked"`
	Problems []struct {
		ApplicationID string `json:"application_id"`
		Seq           int    `json:"seq"`
		Problem       string `json:"problem"`
	} `json:"problems"`
}

func apiVerify(t *testing.T, s *testenv.Stack, id string) verifyReport {
	t.Helper()
	r := apiCall(t, s, s.Token(testenv.Auditor), "GET", "/v1/audit/verify?application_id="+id, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("verify %s: %d %s", id, r.Status, r.Body)
	}
	var rep verifyReport
	if err := json.Unmarshal(r.Body, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// rewriteJournal runs f in a transaction past the journal's append-only
// trigger, as someone with full access to the database server could.
func rewriteJournal(t *testing.T, s *testenv.Stack, f func(tx pgx.Tx) error) {
	t.Helper()
	testenv.Tamper(t, s.DBURL, f)
}

// seqOf is the journal seq of an application's event.
func seqOf(t *testing.T, s *testenv.Stack, id, event string) int {
	t.Helper()
	for _, e := range journalOf(t, s, id) {
		if e.EventType == event {
			return e.Seq
		}
	}
	t.Fatalf("%s has no %s in its journal", id, event)
	return 0
}

// approvedApplication runs a full path, the applicant then renounces the
// mission, and it waits for the workflow to end.
func approvedApplication(t *testing.T, s *testenv.Stack) string {
	t.Helper()
	id := submitAs(t, s, testenv.Applicant, testenv.ExampleDossier(t))
	fullPath(t, s, id)
	renounce := s.Do(&testenv.Applicant, "POST", "/v1/applications/"+id+"/renunciation", map[string]string{"reason": "Mission reportée"})
	if renounce.Status != 200 {
		t.Fatalf("renounce %s: %d %s", id, renounce.Status, renounce.Body)
	}
	if st := s.WaitClosed(id, 60*time.Second); st.Status != lifecycle.StatusRenounced || st.Decision == nil {
		t.Fatalf("%s ended %s", id, st.Status)
	}
	return id
}

// expectBroken checks the API's report on id and the CLI's, run by an
// auditor: both name the application and the seq with a problem saying what.
func expectBroken(t *testing.T, s *testenv.Stack, auditor cliAs, id string, seq int, what string) {
	t.Helper()
	rep := apiVerify(t, s, id)
	found := false
	for _, p := range rep.Problems {
		if p.ApplicationID == id && p.Seq == seq && strings.Contains(p.Problem, what) {
			found = true
		}
	}
	if rep.OK || rep.Checked != 1 || !found {
		t.Errorf("GET /v1/audit/verify?application_id=%s: %+v, want ok=false with seq %d: %q", id, rep, seq, what)
	}

	r := auditor("audit", "verify", id)
	if r.code == 0 {
		t.Fatalf("expectct audit verify %s succeeded on a tampered journal: %s", id, r)
	}
	mustContain(t, "audit verify's standard error", r.stderr, "audit verification failed")
	mustContain(t, "audit verify", r.stdout, "FAILED", what)
	// The table row: application, seq, problem.
	row := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `\s+` + fmt.Sprint(seq) + `\s+\S`)
	if !row.MatchString(r.stdout) {
		t.Errorf("audit verify does not show %s at seq %d:\n%s", id, seq, r.stdout)
	}

	r = auditor("audit", "verify", id, "--output", "json")
	var cliRep verifyReport
	if err := json.Unmarshal([]byte(r.stdout), &cliRep); err != nil || r.code == 0 || cliRep.OK {
		t.Errorf("audit verify --output json: %v %s", err, r)
	}
}

// TestAuditTamper alters the journal behind the application's back, past its
// append-only trigger, and checks both `expectct audit verify` and the API
// report it, with the application and the seq.
func TestAuditTamper(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	auditor := cliFor(t, s, cliToken(t, s, testenv.Auditor))

	altered := approvedApplication(t, s)
	recomputed := approvedApplication(t, s)
	removed := approvedApplication(t, s)
	intact := approvedApplication(t, s)

	for _, id := range []string{altered, recomputed, removed, intact} {
		if rep := apiVerify(t, s, id); !rep.OK || len(rep.Problems) != 0 {
			t.Fatalf("%s before tampering: %+v", id, rep)
		}
		r := auditor("audit", "verify", id)
		if r.code != 0 || !strings.Contains(r.stdout, "OK") {
			t.Fatalf("audit verify %s before tampering: %s", id, r)
		}
	}

	t.Run("the database refuses the application's role", func(t *testing.T) {
		// The stack's API and worker log in as this role.
		for _, sql := range []string{
			`UPDATE journal SET payload = '{}' WHERE application_id = $1 AND seq = 1`,
			`DELETE FROM journal WHERE application_id = $1`,
		} {
			_, err := s.Store.Pool.Exec(context.Background(), sql, altered)
			if err == nil || !strings.Contains(err.Error(), "permission denied for table journal") {
				t.Errorf("%s as the application: %v, want permission denied", sql, err)
			}
		}
		// The owner is refused by the trigger: no setting opens it.
		owner := testenv.Owner(t, s.DBURL)
		err := pgx.BeginFunc(context.Background(), owner.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(context.Background(), "SET LOCAL expectct.allow_journal_rewrite = 'on'"); err != nil {
				return err
			}
			_, err := tx.Exec(context.Background(), `DELETE FROM journal WHERE application_id = $1`, altered)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("delete as the owner with the former bypass setting: %v, want the append-only refusal", err)
		}
	})

	t.Run("altered row", func(t *testing.T) {
		// The opinion turned unfavourable, hashes left as they were.
		seq := seqOf(t, s, altered, lifecycle.EventOpinionGiven)
		rewriteJournal(t, s, func(tx pgx.Tx) error {
			tag, err := tx.Exec(context.Background(), `UPDATE journal SET payload = $3
				WHERE application_id = $1 AND seq = $2`, altered, seq, `{"opinion":"unfavorable","comment":"Partenariat fragile"}`)
			if err == nil && tag.RowsAffected() != 1 {
				err = fmt.Errorf("%d rows updated", tag.RowsAffected())
			}
			return err
		})
		expectBroken(t, s, auditor, altered, seq, "altered")
	})

	t.Run("rewritten with hashes recomputed", func(t *testing.T) {
		// The granted amount raised and the row's hash recomputed: the
		// chain holds, the workflow history gives it away.
		seq := seqOf(t, s, recomputed, lifecycle.EventApproved)
		rewriteJournal(t, s, func(tx pgx.Tx) error {
			entries := journalOf(t, s, recomputed)
			var prev string
			for _, e := range entries {
				if e.Seq < seq {
					prev = e.Hash
					continue
				}
				if e.Seq == seq {
					e.Payload = []byte(strings.Replace(string(e.Payload), "2800", "4800", 1))
				}
				e.PrevHash = prev
				e.Hash = e.ComputeHash()
				prev = e.Hash
				if _, err := tx.Exec(context.Background(), `UPDATE journal SET payload = $3, prev_hash = $4, hash = $5
					WHERE application_id = $1 AND seq = $2`, recomputed, e.Seq, string(e.Payload), e.PrevHash, e.Hash); err != nil {
					return err
				}
			}
			return nil
		})
		if breaks := store.VerifyChain(journalOf(t, s, recomputed)); len(breaks) != 0 {
			t.Fatalf("the rewrite left the chain broken: %+v", breaks)
		}
		expectBroken(t, s, auditor, recomputed, seq, "differs from the workflow history")
	})

	t.Run("removed row", func(t *testing.T) {
		seq := seqOf(t, s, removed, lifecycle.EventRecommended)
		rewriteJournal(t, s, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), `DELETE FROM journal WHERE application_id = $1 AND seq = $2`, removed, seq)
			return err
		})
		expectBroken(t, s, auditor, removed, seq, "missing")
	})

	t.Run("every journal", func(t *testing.T) {
		if rep := apiVerify(t, s, intact); !rep.OK {
			t.Errorf("the untouched application: %+v", rep)
		}
		r := auditor("audit", "verify")
		if r.code == 0 {
			t.Fatalf("audit verify of every journal succeeded: %s", r)
		}
		mustContain(t, "audit verify of every journal", r.stdout, "4 journal(s) checked", altered, recomputed, removed)
		if strings.Contains(r.stdout, intact) {
			t.Errorf("the untouched application %s is reported:\n%s", intact, r.stdout)
		}
	})
}
