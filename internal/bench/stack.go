package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// StackOptions say where the standalone stack's parts come from.
type StackOptions struct {
	// Exe is the expectct binary run as `expectct worker` and `expectct api`.
	Exe string
	// BinDir holds the temporal and mailpit binaries.
	BinDir string
	// DatabaseURL names the PostgreSQL server; the stack creates its own
	// database there and drops it at the end.
	DatabaseURL string
	// RulesFile is passed to the worker and the API (empty: embedded rules).
	RulesFile string
	// Keep leaves the working directory (logs, Temporal's file store) and
	// the database, to look into a run afterwards.
	Keep bool
	// WorkerEnv is added to the worker's environment only (GOMEMLIMIT=...,
	// GOGC=... experiments).
	WorkerEnv []string
	// TemporalInMemory runs the dev server without its SQLite file, for
	// comparison; the default file store is what `expectct dev` runs.
	TemporalInMemory bool
}

// Stack is a standalone system for one benchmark: a Temporal dev server on a
// file store, Mailpit, a fresh database, and the worker and the API as child
// processes, so their memory can be read apart from the bench's own.
type Stack struct {
	Dir       string
	Temporal  *devstack.TemporalServer
	Mail      *devstack.MailServer
	DBURL     string
	TaskQueue string
	OIDC      *devstack.OIDCProvider
	SignIn    *SignIn
	APIURL    string
	// MetricsURL is the worker's /metrics, APIMetricsURL the API's.
	MetricsURL    string
	APIMetricsURL string
	Worker        *Child
	API           *Child

	keep         bool
	keepDatabase bool
}

// StartStack starts everything; on error what was started is stopped.
func StartStack(ctx context.Context, o StackOptions) (s *Stack, err error) {
	dir, err := os.MkdirTemp("", "expectct-bench-")
	if err != nil {
		return nil, err
	}
	s = &Stack{Dir: dir, keep: o.Keep, keepDatabase: o.Keep, TaskQueue: "expectct-bench-" + randomHex(4)}
	defer func() {
		if err != nil {
			s.keep = true // the logs say why
			err = errors.Join(err, s.Stop())
			err = fmt.Errorf("%w\n(logs in %s)", err, dir)
		}
	}()
	logs, err := os.Create(filepath.Join(dir, "servers.log"))
	if err != nil {
		return s, err
	}

	s.Temporal = &devstack.TemporalServer{Bin: filepath.Join(o.BinDir, "temporal"), Headless: true,
		DBFile: filepath.Join(dir, "temporal.db"), Log: logs}
	if o.TemporalInMemory {
		s.Temporal.DBFile = ""
	}
	if err := s.Temporal.Start(ctx); err != nil {
		return s, err
	}
	// Mailpit picks free ports itself and survives one being taken meanwhile.
	s.Mail = &devstack.MailServer{Bin: filepath.Join(o.BinDir, "mailpit"),
		DBFile: filepath.Join(dir, "mailpit.db"), Log: logs}
	if err := s.Mail.Start(ctx); err != nil {
		return s, err
	}
	// The bench's people sign in on a provider of its own with one password.
	password := randomHex(16)
	s.OIDC = &devstack.OIDCProvider{Bin: filepath.Join(o.BinDir, "oidc-provider"), TestPassword: password, Log: logs}
	if err := s.OIDC.Start(ctx); err != nil {
		return s, err
	}
	s.SignIn = &SignIn{Issuer: s.OIDC.Issuer(), ClientID: "expectct", Password: password}
	_, smtpPort, err := net.SplitHostPort(s.Mail.SMTPAddr)
	if err != nil {
		return s, err
	}
	ports, err := devstack.FreePorts(3)
	if err != nil {
		return s, err
	}

	u, err := url.Parse(o.DatabaseURL)
	if err != nil {
		return s, fmt.Errorf("DATABASE_URL: %w", err)
	}
	u.Path = "/expectct_bench_" + randomHex(6)
	s.DBURL = u.String()
	if err := store.EnsureDatabase(ctx, s.DBURL); err != nil {
		s.DBURL = "" // nothing to drop
		return s, err
	}
	if err := store.Migrate(ctx, s.DBURL); err != nil {
		return s, err
	}
	if err := grantBenchPeople(ctx, s.DBURL, s.OIDC.Issuer()); err != nil {
		return s, err
	}

	apiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	metricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	s.APIURL = "http://" + apiAddr
	s.MetricsURL = "http://" + metricsAddr + "/metrics"
	apiMetricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))
	s.APIMetricsURL = "http://" + apiMetricsAddr + "/metrics"
	env := []string{
		"DATABASE_URL=" + s.DBURL,
		"TEMPORAL_ADDRESS=" + s.Temporal.Address(),
		"TEMPORAL_NAMESPACE=default",
		"EXPECTCT_TASK_QUEUE=" + s.TaskQueue,
		"SMTP_HOST=127.0.0.1",
		"SMTP_PORT=" + smtpPort,
		"SMTP_TLS=none",
		"EXPECTCT_LISTEN=" + apiAddr,
		// The web application's sign-in comes back to it.
		"EXPECTCT_PUBLIC_URL=" + s.APIURL,
		"EXPECTCT_METRICS_LISTEN=" + metricsAddr,
		"EXPECTCT_API_METRICS_LISTEN=" + apiMetricsAddr,
		"EXPECTCT_OIDC_ISSUER=" + s.OIDC.Issuer(),
		"EXPECTCT_RULES_FILE=" + o.RulesFile,
		// One applicant submits every application of the run: the
		// per-person write limit (made for people) would measure itself.
		"EXPECTCT_RATE_WRITES=0",
		"EXPECTCT_RATE_ANONYMOUS=0",
		"LOG_LEVEL=warn",
	}
	workerEnv := append(slices.Clone(env), o.WorkerEnv...)
	if s.Worker, err = StartChild(o.Exe, "worker", workerEnv, filepath.Join(dir, "worker.log")); err != nil {
		return s, err
	}
	if s.API, err = StartChild(o.Exe, "api", env, filepath.Join(dir, "api.log")); err != nil {
		return s, err
	}
	if err := waitHTTP(ctx, s.Worker, "http://"+metricsAddr+"/healthz"); err != nil {
		return s, err
	}
	if err := waitHTTP(ctx, s.API, s.APIURL+"/readyz"); err != nil {
		return s, err
	}
	return s, nil
}

// grantBenchPeople gives the bench's people their roles in the directory.
func grantBenchPeople(ctx context.Context, dbURL, issuer string) error {
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, a := range []lifecycle.Actor{Applicant, EmbassySN, Instructor, Decider, Auditor, Admin} {
		p := store.Person{ID: a.ID, Issuer: issuer, Kind: "person"}
		if _, err := st.GrantRole(ctx, "expectct-bench", p, store.Grant{Role: string(a.Role), SIREN: a.SIREN, Countries: a.Countries}, ""); err != nil {
			return fmt.Errorf("grant %s to %s: %w", a.Role, a.ID, err)
		}
	}
	return nil
}

// DatabaseName is the name of the run's fresh database.
func (s *Stack) DatabaseName() string {
	u, err := url.Parse(s.DBURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// Stop ends the children and the servers, then drops the database and
// removes the working directory unless asked to keep them.
func (s *Stack) Stop() error {
	var errs []error
	for _, c := range []*Child{s.API, s.Worker} {
		if c != nil {
			errs = append(errs, c.Stop())
		}
	}
	if s.Mail != nil {
		errs = append(errs, s.Mail.Stop())
	}
	if s.OIDC != nil {
		errs = append(errs, s.OIDC.Stop())
	}
	if s.Temporal != nil {
		errs = append(errs, s.Temporal.Stop())
	}
	if s.DBURL != "" && !s.keepDatabase {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, store.DropDatabase(ctx, s.DBURL))
		cancel()
	}
	if !s.keep {
		errs = append(errs, os.RemoveAll(s.Dir))
	}
	return errors.Join(errs...)
}

// Child is an expectct service run as a child process.
type Child struct {
	Name string
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartChild runs `exe name` with the environment added to ours, its output
// to logPath. The child is killed if the bench dies.
func StartChild(exe, name string, env []string, logPath string) (*Child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, name)
	// Later entries win: ours override whatever the shell exported.
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start expectct %s: %w", name, err)
	}
	c := &Child{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(c.done) }()
	return c, nil
}

// PID is the child's process ID.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Exited tells whether the child has ended.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Stop asks the child to stop (SIGTERM), then kills it after 30 s.
func (c *Child) Stop() error {
	if c.Exited() {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return nil
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("expectct %s did not stop within 30 s: killed", c.Name)
	}
}

func waitHTTP(ctx context.Context, c *Child, u string) error {
	deadline := time.Now().Add(60 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if c.Exited() {
			return fmt.Errorf("expectct %s exited during start-up (see %s)", c.Name, c.Log)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("expectct %s not ready at %s after 60 s (see %s)", c.Name, u, c.Log)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
