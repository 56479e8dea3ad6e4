package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

// MailServer is a Mailpit child process: SMTP for the worker, a web UI and an
// HTTP API to read what was sent.
type MailServer struct {
	Bin      string
	SMTPAddr string // host:port
	UIAddr   string // host:port
	DBFile   string
	Log      io.Writer

	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs Mailpit and waits until it accepts SMTP connections.
func (m *MailServer) Start(ctx context.Context) error {
	if _, err := os.Stat(m.Bin); err != nil {
		return fmt.Errorf("mailpit binary %s not found: run `make tools`: %w", m.Bin, err)
	}
	args := []string{"--smtp", m.SMTPAddr, "--listen", m.UIAddr, "--ignore-duplicate-ids",
		"--disable-version-check", "--smtp-disable-rdns", "--quiet"}
	if m.DBFile != "" {
		args = append(args, "--database", m.DBFile)
	}
	cmd := exec.Command(m.Bin, args...)
	cmd.Stdout, cmd.Stderr = m.Log, m.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mailpit: %w", err)
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(m.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", m.SMTPAddr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-m.done:
			return fmt.Errorf("mailpit exited during start-up (port %s taken?)", m.SMTPAddr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = m.Stop()
			return fmt.Errorf("mailpit did not accept SMTP on %s", m.SMTPAddr)
		}
	}
}

// Stop ends Mailpit.
func (m *MailServer) Stop() error { return stop(m.cmd, m.done) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
