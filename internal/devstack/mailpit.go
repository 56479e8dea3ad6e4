package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MailServer is a Mailpit child process: SMTP for the worker, a web UI and an
// HTTP API to read what was sent.
type MailServer struct {
	Bin string
	// SMTPAddr and UIAddr are host:port; empty ones are set by Start to
	// free loopback ports.
	SMTPAddr string
	UIAddr   string
	DBFile   string
	Log      io.Writer
	// Args are more Mailpit flags (a test's --enable-chaos, say).
	Args []string
	// KeepDuplicates keeps every copy of a message; by default Mailpit drops
	// a message whose Message-ID it already holds, as a deduplicating mail
	// system would.
	KeepDuplicates bool

	srv *Server
}

// Start runs Mailpit and waits until it accepts SMTP connections and its
// API answers.
func (m *MailServer) Start(ctx context.Context) error {
	if _, err := os.Stat(m.Bin); err != nil {
		return fmt.Errorf("mailpit binary %s not found: run `make tools`: %w", m.Bin, err)
	}
	smtpHost, smtpPort, err := splitAddr(m.SMTPAddr)
	if err != nil {
		return fmt.Errorf("mailpit SMTP address: %w", err)
	}
	uiHost, uiPort, err := splitAddr(m.UIAddr)
	if err != nil {
		return fmt.Errorf("mailpit UI address: %w", err)
	}
	addrs := func(ports []int) (smtp, ui string) {
		return net.JoinHostPort(smtpHost, strconv.Itoa(ports[0])), net.JoinHostPort(uiHost, strconv.Itoa(ports[1]))
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	srv, err := StartServer(ctx, ServerSpec{
		Name:  "mailpit",
		Ports: []int{smtpPort, uiPort},
		Command: func(ports []int) (*exec.Cmd, error) {
			smtp, ui := addrs(ports)
			args := []string{"--smtp", smtp, "--listen", ui,
				"--disable-version-check", "--smtp-disable-rdns", "--quiet"}
			if !m.KeepDuplicates {
				args = append(args, "--ignore-duplicate-ids")
			}
			if m.DBFile != "" {
				args = append(args, "--database", m.DBFile)
			}
			cmd := exec.Command(m.Bin, append(args, m.Args...)...)
			cmd.Env = withoutMailpitEnv(os.Environ())
			return cmd, nil
		},
		Ready: func(ctx context.Context, ports []int) error {
			smtp, ui := addrs(ports)
			conn, err := net.DialTimeout("tcp", smtp, time.Second)
			if err != nil {
				return err
			}
			conn.Close()
			return answersOK(ctx, hc, "http://"+ui+"/readyz")
		},
		Timeout: 30 * time.Second,
		Output:  m.Log,
	})
	if err != nil {
		return err
	}
	m.srv = srv
	m.SMTPAddr, m.UIAddr = addrs(srv.Ports)
	return nil
}

// Stop ends Mailpit.
func (m *MailServer) Stop() error { return m.srv.Stop() }

// Pid is the Mailpit process's ID, to pause it as a stalled server would be.
func (m *MailServer) Pid() int { return m.srv.Pid() }

// answersOK tells whether a GET of the URL answers 200.
func answersOK(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// splitAddr splits host:port; an empty address is a free loopback port (0).
func splitAddr(addr string) (string, int, error) {
	if addr == "" {
		return "127.0.0.1", 0, nil
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port of %q: %w", addr, err)
	}
	return host, port, nil
}

// withoutMailpitEnv drops MP_* variables, which Mailpit reads as configuration
// and which could override our flags.
func withoutMailpitEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "MP_")
	})
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
