package faults

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/testenv"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// Binary builds the expectct command once per test binary (go build from the
// repository root) and returns its path. RemoveBinary deletes it.
func Binary(t testing.TB) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "expectct-faults-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "expectct")
		cmd := exec.Command("go", "build", "-o", buildBin, "./cmd/expectct")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/expectct: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("faults: %v", buildErr)
	}
	return buildBin
}

// RemoveBinary deletes what Binary built; call it from TestMain.
func RemoveBinary() {
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
}

// WorkerConfig is the environment of an `expectct worker` process.
type WorkerConfig struct {
	DatabaseURL     string
	TemporalAddress string
	TaskQueue       string
	SMTPHost        string
	SMTPPort        int
	Secretariat     string
	// MailLease, when set, is the outbox relay's lease (EXPECTCT_MAIL_LEASE):
	// how soon a killed worker's claimed e-mails are taken up again.
	MailLease time.Duration
}

// testMailLease is the relay's lease unless a test sets one: the tests kill
// workers mid-send and wait seconds, not the production lease's minutes, for
// the e-mails to leave. Mailpit answers in milliseconds, well within it.
const testMailLease = 5 * time.Second

// WorkerProcess is `expectct worker` run as a child process, which the test
// may SIGKILL and start again, as a crash and a supervisor restart would.
type WorkerProcess struct {
	bin  string
	cfg  WorkerConfig
	logs *testenv.SyncBuffer

	mu     sync.Mutex
	srv    *devstack.Server
	starts int
}

// StartWorkerProcess starts the worker and waits until it serves /healthz,
// which it does once its Temporal pollers are started. The process is
// killed when the test ends.
func StartWorkerProcess(t testing.TB, bin string, cfg WorkerConfig) *WorkerProcess {
	t.Helper()
	w := &WorkerProcess{bin: bin, cfg: cfg, logs: &testenv.SyncBuffer{}}
	t.Cleanup(func() {
		w.stop()
		if t.Failed() {
			t.Logf("worker process output:\n%s", w.Logs())
		}
	})
	w.Start(t)
	return w
}

// Start runs the worker again after Kill. Its metrics port is chosen free
// for each start; devstack.StartServer survives another process taking it.
func (w *WorkerProcess) Start(t testing.TB) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running() {
		t.Fatalf("faults: worker process already running (pid %d)", w.srv.Pid())
	}
	w.starts++
	fmt.Fprintf(w.logs, "---- start %d ----\n", w.starts)
	metrics := func(ports []int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])) }
	client := &http.Client{Timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devstack.StartServer(ctx, devstack.ServerSpec{
		Name:  "expectct worker",
		Ports: []int{0},
		Command: func(ports []int) (*exec.Cmd, error) {
			cmd := exec.Command(w.bin, "worker")
			cmd.Env = append(withoutEnv(os.Environ(), "DATABASE_URL", "TEMPORAL_", "EXPECTCT_", "SMTP_", "MAIL_FROM",
				"DAECT_", "LOG_"),
				"DATABASE_URL="+w.cfg.DatabaseURL,
				"TEMPORAL_ADDRESS="+w.cfg.TemporalAddress,
				"EXPECTCT_TASK_QUEUE="+w.cfg.TaskQueue,
				"SMTP_HOST="+w.cfg.SMTPHost,
				"SMTP_PORT="+strconv.Itoa(w.cfg.SMTPPort),
				"SMTP_TLS=none",
				"DAECT_SECRETARIAT_EMAIL="+w.cfg.Secretariat,
				"EXPECTCT_METRICS_LISTEN="+metrics(ports),
				"EXPECTCT_MAIL_POLL=100ms",
				"EXPECTCT_MAIL_LEASE="+cmp.Or(w.cfg.MailLease, testMailLease).String(),
				"LOG_FORMAT=text",
				"LOG_LEVEL=info",
			)
			return cmd, nil
		},
		// The worker serves /healthz once its Temporal pollers are started.
		Ready: func(ctx context.Context, ports []int) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metrics(ports)+"/healthz", nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("/healthz: %s", resp.Status)
			}
			return nil
		},
		Timeout: 60 * time.Second,
		Output:  w.logs,
	})
	if err != nil {
		t.Fatalf("faults: worker process did not start: %v\n%s", err, w.Logs())
	}
	w.srv = srv
}

// Kill ends the worker at once with SIGKILL: no activity finishes, no
// connection is closed cleanly. It fails the test if the worker had already
// exited on its own.
func (w *WorkerProcess) Kill(t testing.TB) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running() {
		t.Fatalf("faults: worker process is not running (exited: %v):\n%s", w.state(), w.Logs())
	}
	if err := w.srv.Kill(); err != nil {
		t.Fatalf("faults: SIGKILL worker pid %d: %v", w.srv.Pid(), err)
	}
	fmt.Fprintf(w.logs, "---- SIGKILL (pid %d) ----\n", w.srv.Pid())
}

// Alive tells whether the worker process is running.
func (w *WorkerProcess) Alive() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running()
}

// Logs is everything the worker processes wrote, start after start.
func (w *WorkerProcess) Logs() string { return w.logs.String() }

func (w *WorkerProcess) running() bool { return w.srv != nil && !w.srv.Exited() }

func (w *WorkerProcess) state() string {
	if w.srv == nil {
		return "never started"
	}
	return w.srv.State()
}

func (w *WorkerProcess) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running() {
		_ = w.srv.Kill()
	}
}

// withoutEnv drops the variables with one of the prefixes, so the host's
// configuration cannot leak into the worker.
func withoutEnv(env []string, prefixes ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(kv, p) })
	})
}
