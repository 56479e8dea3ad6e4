package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// The CLI binary is built once per test process, into a directory named
// after the process; directories of processes gone are removed.
const cliDirPrefix = "expectct-e2e-cli-"

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// cliBinary builds ./cmd/expectct (once) and returns its path.
func cliBinary(t testing.TB) string {
	t.Helper()
	cliOnce.Do(func() {
		removeStaleCLIBuilds()
		dir := filepath.Join(os.TempDir(), cliDirPrefix+strconv.Itoa(os.Getpid()))
		if cliErr = os.MkdirAll(dir, 0o755); cliErr != nil {
			return
		}
		// `go test` puts its own go first on the PATH of the test.
		goBin, err := exec.LookPath("go")
		if err != nil {
			cliErr = fmt.Errorf("the go command is needed to build the CLI: %w", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cliPath = filepath.Join(dir, "expectct")
		cmd := exec.CommandContext(ctx, goBin, "build", "-o", cliPath, "./cmd/expectct")
		cmd.Dir = testenv.RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("go build ./cmd/expectct: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

// removeStaleCLIBuilds removes the binaries of test processes that ended.
func removeStaleCLIBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), cliDirPrefix+"*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), cliDirPrefix))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// cliResult is what one run of the CLI printed and returned.
type cliResult struct {
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCLI runs the binary with the environment's EXPECTCT_* variables replaced
// by env.
func runCLI(t testing.TB, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBinary(t), args...)
	cmd.Dir = testenv.RepoRoot(t)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EXPECTCT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// Each run has its own session directory unless the test gives one: a
	// session of the person running the tests never leaks in.
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "EXPECTCT_CONFIG_DIR=") }) {
		cmd.Env = append(cmd.Env, "EXPECTCT_CONFIG_DIR="+t.TempDir())
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("expectct %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("expectct %s: timed out\n%s", strings.Join(args, " "), res)
	}
	return res
}

// cliToken is the ID token of the actor's person, signed in on the stack's
// provider and granted the actor's role.
func cliToken(t testing.TB, s *testenv.Stack, a lifecycle.Actor) string {
	t.Helper()
	return s.Token(a)
}

// cliAs runs a client command against the stack's API with a token.
type cliAs func(args ...string) cliResult

func cliFor(t testing.TB, s *testenv.Stack, token string) cliAs {
	return func(args ...string) cliResult {
		t.Helper()
		return runCLI(t, nil, append([]string{"--api", s.API.URL, "--token", token}, args...)...)
	}
}

func mustSucceed(t testing.TB, r cliResult, what string) cliResult {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s failed: %s", what, r)
	}
	return r
}

// mustFail checks a run failed with each of the texts on standard error.
func mustFail(t testing.TB, r cliResult, what string, texts ...string) {
	t.Helper()
	if r.code == 0 {
		t.Errorf("%s succeeded, want a refusal: %s", what, r)
		return
	}
	for _, s := range texts {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("%s: standard error does not say %q: %s", what, s, r)
		}
	}
}

func mustContain(t testing.TB, what, out string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(out, s) {
			t.Errorf("%s does not show %q:\n%s", what, s, out)
		}
	}
}

// TestCLIFullPath drives an application from submission to approval with the
// expectct binary, as each actor would, then reads its status, its history
// and verifies its journal; refused steps exit non-zero with the reason.
func TestCLIFullPath(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	applicant := cliFor(t, s, cliToken(t, s, testenv.Applicant))
	embassy := cliFor(t, s, cliToken(t, s, testenv.EmbassySN))
	instructor := cliFor(t, s, cliToken(t, s, testenv.Instructor))
	decider := cliFor(t, s, cliToken(t, s, testenv.Decider))
	auditor := cliFor(t, s, cliToken(t, s, testenv.Auditor))
	dossierFile := filepath.Join("examples", "dossier.json")
	idemKey := fmt.Sprintf("cli-%d", time.Now().UnixNano())

	// Submission prints the ID alone on standard output.
	r := mustSucceed(t, applicant("submit", dossierFile, "--idempotency-key", idemKey), "submit")
	id := strings.TrimSpace(r.stdout)
	if !regexp.MustCompile(`^EXP-[A-Z2-7]{16}$`).MatchString(id) {
		t.Fatalf("submit printed %q, want the application ID alone", r.stdout)
	}
	mustContain(t, "submit's standard error", r.stderr, id, "created")
	// The same submission again finds the same application.
	r = mustSucceed(t, applicant("submit", dossierFile, "--idempotency-key", idemKey), "submit again")
	if strings.TrimSpace(r.stdout) != id {
		t.Errorf("resubmission printed %q, want %s", r.stdout, id)
	}
	mustContain(t, "resubmission's standard error", r.stderr, "already submitted")

	r = mustSucceed(t, applicant("status", id), "status")
	mustContain(t, "status", r.stdout, id, "Commune de Nantes", "214401093", "SN", "3500.00 EUR", "Steps:", "submitted")

	waitConsulted(t, s, id)
	r = mustSucceed(t, embassy("opinion", id, "--favorable", "--comment", "Partenariat solide"), "opinion")
	mustContain(t, "opinion", r.stdout, id, string(lifecycle.StatusUnderReview))

	r = mustSucceed(t, instructor("review", id, "--recommend", "approve", "--amount", "3000", "--comment", "Dossier solide"), "review")
	mustContain(t, "review", r.stdout, id, string(lifecycle.StatusAwaitingDecision))

	// Refused decisions: wrong role, the instructor's own decider account
	// (four-eyes), the applicant, no token, a token of another issuer,
	// an amount that is not one.
	mustFail(t, instructor("decide", id, "--approve", "--amount", "2800"), "decide by the instructor", "403", "holds no role that may decide")
	mustFail(t, cliFor(t, s, cliToken(t, s, testenv.InstructorAsDec))("decide", id, "--approve", "--amount", "2800"),
		"decide by the instructor's decider account", "403", "four-eyes")
	mustFail(t, applicant("decide", id, "--approve", "--amount", "2800"), "decide by the applicant", "403")
	mustFail(t, runCLI(t, nil, "--api", s.API.URL, "decide", id, "--approve", "--amount", "2800"), "decide without a token", "not signed in", "expectct login")
	mustFail(t, cliFor(t, s, testenv.SignIn(t, testenv.OwnOIDC(t), testenv.Decider.ID))("decide", id, "--approve", "--amount", "2800"),
		"decide with another issuer's token", "401", "expectct login")
	mustFail(t, decider("decide", id, "--approve", "--amount", "deux mille"), "decide with a bad amount", "--amount")
	mustFail(t, decider("decide", id, "--approve", "--amount", "3600"), "decide above the request", "422", "amount")
	mustFail(t, decider("decide", id, "--reject"), "refusal without motivation", "--reason")
	if st := readState(t, s, id); st.Status != lifecycle.StatusAwaitingDecision || st.Decision != nil {
		t.Fatalf("after refused decisions: %s %+v", st.Status, st.Decision)
	}

	r = mustSucceed(t, decider("decide", id, "--approve", "--amount", "2800"), "decide")
	mustContain(t, "decide", r.stdout, id, string(lifecycle.StatusApproved))
	mustFail(t, decider("decide", id, "--approve", "--amount", "2800"), "decide twice", "409")

	r = mustSucceed(t, applicant("status", id), "status after the decision")
	mustContain(t, "status after the decision", r.stdout, "approved", "accepté", "3000.00 EUR", "2800.00 EUR",
		"favorable", testenv.EmbassySN.ID, testenv.Instructor.ID, testenv.Decider.ID)
	r = mustSucceed(t, applicant("status", id, "--output", "json"), "status --output json")
	var st lifecycle.State
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --output json: %v\n%s", err, r.stdout)
	}
	if st.ApplicationID != id || st.Status != lifecycle.StatusApproved || st.Decision == nil || st.Decision.Amount.String() != "2800.00" {
		t.Errorf("status --output json: %+v", st)
	}

	// The history shows the steps with their amounts, and the refusals.
	r = mustSucceed(t, auditor("history", id), "history")
	mustContain(t, "history", r.stdout, "History of "+id,
		lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted, lifecycle.EventOpinionGiven,
		lifecycle.EventRecommended, lifecycle.EventApproved, "favorable", "amount=3000", "amount=2800",
		"attempt", testenv.Decider.ID, testenv.Instructor.ID)
	r = mustSucceed(t, auditor("history", id, "--output", "json"), "history --output json")
	var tl struct {
		ApplicationID string `json:"application_id"`
		Entries       []struct {
			Source  string         `json:"source"`
			Step    string         `json:"step"`
			Details map[string]any `json:"details"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &tl); err != nil {
		t.Fatalf("history --output json: %v\n%s", err, r.stdout)
	}
	if tl.ApplicationID != id || len(tl.Entries) == 0 {
		t.Fatalf("history --output json: %s", r.stdout)
	}
	// Amounts are exact decimals there, as the API sent them.
	mustContain(t, "history --output json", r.stdout, `"amount": 3000.00`, `"amount": 2800.00`)
	var journal []string
	attempts := 0
	for _, e := range tl.Entries {
		switch e.Source {
		case "journal":
			journal = append(journal, e.Step)
		case "attempt":
			attempts++
		}
	}
	want := []string{lifecycle.EventSubmitted, lifecycle.EventEmbassyConsulted, lifecycle.EventOpinionGiven,
		lifecycle.EventRecommended, lifecycle.EventApproved}
	if strings.Join(journal, ",") != strings.Join(want, ",") {
		t.Errorf("history's journal entries %v, want %v", journal, want)
	}
	// Refused by the API: the instructor, the four-eyes decider, the
	// applicant, above the request, the second decision. The forged token
	// identifies nobody: counted, not in the timeline.
	if attempts != 5 {
		t.Errorf("history shows %d refused attempts, want 5", attempts)
	}

	r = mustSucceed(t, auditor("audit", "verify", id), "audit verify")
	mustContain(t, "audit verify", r.stdout, "OK", "1 journal")
	mustFail(t, applicant("audit", "verify", id), "audit verify by the applicant", "403")
}
