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
	// DynamicConfig are more "key=value" server settings, e.g. a low
	// history length at which continue-as-new is suggested.
	DynamicConfig []string

	srv *Server
}

// Address is the frontend's host:port.
func (s *TemporalServer) Address() string { return net.JoinHostPort(s.IP, strconv.Itoa(s.Port)) }

// Start runs the server and waits until it answers. A Port of 0 is chosen
// free; the HTTP and metrics ports always are (see StartServer for how a
// port taken meanwhile is survived).
func (s *TemporalServer) Start(ctx context.Context) error {
	if _, err := os.Stat(s.Bin); err != nil {
		return fmt.Errorf("temporal dev server binary %s not found: run `make tools`: %w", s.Bin, err)
	}
	if s.IP == "" {
		s.IP = "127.0.0.1"
	}
	if s.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(s.DBFile), 0o755); err != nil {
			return err
		}
	}
	ports := []int{s.Port, 0, 0} // frontend, HTTP, metrics
	if !s.Headless && s.UIPort != 0 {
		ports = append(ports, s.UIPort)
	}
	srv, err := StartServer(ctx, ServerSpec{
		Name:  "temporal dev server",
		Ports: ports,
		Command: func(ports []int) (*exec.Cmd, error) {
			return exec.Command(s.Bin, s.args(ports)...), nil
		},
		Ready: func(ctx context.Context, ports []int) error {
			c, err := client.Dial(client.Options{HostPort: net.JoinHostPort(s.IP, strconv.Itoa(ports[0])),
				Logger: log.NewStructuredLogger(discardLogger())})
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
		Output: s.Log,
	})
	if err != nil {
		return err
	}
	s.srv, s.Port = srv, srv.Ports[0]
	return nil
}

func (s *TemporalServer) args(ports []int) []string {
	args := []string{"server", "start-dev", "--ip", s.IP, "--port", strconv.Itoa(ports[0]),
		"--http-port", strconv.Itoa(ports[1]), "--metrics-port", strconv.Itoa(ports[2]),
		"--log-level", "error", "--log-format", "json",
		// Updates on the dev server: lift the per-workflow in-flight limit so
		// concurrent human steps queue instead of failing.
		"--dynamic-config-value", "history.maxInFlightUpdates=100",
	}
	for _, kv := range s.DynamicConfig {
		args = append(args, "--dynamic-config-value", kv)
	}
	if s.Headless {
		args = append(args, "--headless")
	} else if len(ports) > 3 {
		args = append(args, "--ui-port", strconv.Itoa(ports[3]))
	}
	if s.DBFile != "" {
		args = append(args, "--db-filename", s.DBFile)
	}
	for _, name := range sortedKeys(SearchAttributes) {
		args = append(args, "--search-attribute", name+"="+SearchAttributes[name])
	}
	return args
}

// Stop asks the server to shut down and waits for it.
func (s *TemporalServer) Stop() error { return s.srv.Stop() }

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *TemporalServer) Kill() error { return s.srv.Kill() }

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
// It was free a moment ago only: a server started on it must survive
// another process taking it first (StartServer does).
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}
