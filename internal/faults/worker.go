package faults

import (
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
	"syscall"
	"testing"
	"time"

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
}

// WorkerProcess is `expectct worker` run as a child process, which the test
// may SIGKILL and start again, as a crash and a supervisor restart would.
type WorkerProcess struct {
	bin  string
	cfg  WorkerConfig
	logs *testenv.SyncBuffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	metrics string // host:port of the running process's /healthz
	starts  int
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

// Start runs the worker again after Kill.
func (w *WorkerProcess) Start(t testing.TB) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running() {
		t.Fatalf("faults: worker process already running (pid %d)", w.cmd.Process.Pid)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("faults: %v", err)
	}
	w.starts++
	w.metrics = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	fmt.Fprintf(w.logs, "---- start %d ----\n", w.starts)
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
		"EXPECTCT_METRICS_LISTEN="+w.metrics,
		"LOG_FORMAT=text",
		"LOG_LEVEL=info",
	)
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	// The worker dies with the test binary, even if that is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("faults: start %s worker: %v", w.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	w.cmd, w.done = cmd, done

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + w.metrics + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("faults: worker process exited during start-up (%v):\n%s", cmd.ProcessState, w.Logs())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("faults: worker process not serving /healthz on %s after 60s:\n%s", w.metrics, w.Logs())
		}
	}
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
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("faults: SIGKILL worker pid %d: %v", w.cmd.Process.Pid, err)
	}
	<-w.done
	fmt.Fprintf(w.logs, "---- SIGKILL (pid %d) ----\n", w.cmd.Process.Pid)
}

// Alive tells whether the worker process is running.
func (w *WorkerProcess) Alive() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running()
}

// Logs is everything the worker processes wrote, start after start.
func (w *WorkerProcess) Logs() string { return w.logs.String() }

func (w *WorkerProcess) running() bool {
	if w.cmd == nil {
		return false
	}
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

func (w *WorkerProcess) state() string {
	if w.cmd == nil || w.cmd.ProcessState == nil {
		return "never started"
	}
	return w.cmd.ProcessState.String()
}

func (w *WorkerProcess) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running() {
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		<-w.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// withoutEnv drops the variables with one of the prefixes, so the host's
// configuration cannot leak into the worker.
func withoutEnv(env []string, prefixes ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(kv, p) })
	})
}
