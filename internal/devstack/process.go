// Package devstack starts the local stack's real components as child
// processes: the Temporal dev server (on a file store, so it keeps every
// application across restarts) and Mailpit. `expectct dev` and the
// integration tests use it.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
)

// SearchAttributes are the custom search attributes the workflows set:
// status and destination country only, never personal data.
var SearchAttributes = map[string]string{"ExpectctStatus": "Keyword", "ExpectctCountry": "Keyword"}

// TemporalServer is a Temporal CLI dev server child process.
type TemporalServer struct {
	Bin      string // path of the temporal binary
	IP       string
	Port     int
	UIPort   int    // 0 with Headless
	Headless bool   // no Web UI
	DBFile   string // SQLite file; the server keeps its state there
	Log      io.Writer

	cmd  *exec.Cmd
	done chan struct{}
}

// Address is the frontend's host:port.
func (s *TemporalServer) Address() string { return net.JoinHostPort(s.IP, strconv.Itoa(s.Port)) }

// Start runs the server and waits until it answers.
func (s *TemporalServer) Start(ctx context.Context) error {
	if _, err := os.Stat(s.Bin); err != nil {
		return fmt.Errorf("temporal dev server binary %s not found: run `make tools`: %w", s.Bin, err)
	}
	if s.IP == "" {
		s.IP = "127.0.0.1"
	}
	if s.Port == 0 {
		p, err := FreePort()
		if err != nil {
			return err
		}
		s.Port = p
	}
	httpPort, err := FreePort()
	if err != nil {
		return err
	}
	metricsPort, err := FreePort()
	if err != nil {
		return err
	}
	args := []string{"server", "start-dev", "--ip", s.IP, "--port", strconv.Itoa(s.Port),
		"--http-port", strconv.Itoa(httpPort), "--metrics-port", strconv.Itoa(metricsPort),
		"--log-level", "error", "--log-format", "json",
		// Updates on the dev server: lift the per-workflow in-flight limit so
		// concurrent human steps queue instead of failing.
		"--dynamic-config-value", "history.maxInFlightUpdates=100",
	}
	if s.Headless {
		args = append(args, "--headless")
	} else if s.UIPort != 0 {
		args = append(args, "--ui-port", strconv.Itoa(s.UIPort))
	}
	if s.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(s.DBFile), 0o755); err != nil {
			return err
		}
		args = append(args, "--db-filename", s.DBFile)
	}
	for _, name := range sortedKeys(SearchAttributes) {
		args = append(args, "--search-attribute", name+"="+SearchAttributes[name])
	}
	cmd := exec.Command(s.Bin, args...)
	cmd.Stdout, cmd.Stderr = s.Log, s.Log
	// The server dies with us, even if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start temporal dev server: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	return s.waitReady(ctx)
}

func (s *TemporalServer) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := client.Dial(client.Options{HostPort: s.Address(), Logger: log.NewStructuredLogger(discardLogger())})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("temporal dev server exited during start-up (see its log): %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Kill()
			return fmt.Errorf("temporal dev server did not answer on %s: %w", s.Address(), err)
		}
	}
}

// Stop asks the server to shut down and waits for it.
func (s *TemporalServer) Stop() error { return stop(s.cmd, s.done) }

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *TemporalServer) Kill() error { return kill(s.cmd, s.done) }

// Restart starts the server again on the same port and file store.
func (s *TemporalServer) Restart(ctx context.Context) error {
	_ = s.Kill()
	return s.Start(ctx)
}

func stop(cmd *exec.Cmd, done chan struct{}) error {
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(15 * time.Second):
		return kill(cmd, done)
	}
}

func kill(cmd *exec.Cmd, done chan struct{}) error {
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	<-done
	return nil
}

// FreePort asks the kernel for an unused TCP port on the loopback.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
