package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the server StartServer starts: with
// fakeServerPort set it listens there (after fakeServerDelay) and answers
// every HTTP request with 200, or exits with Go's bind error, as Temporal's
// CLI and Mailpit do.
const (
	fakeServerPort  = "DEVSTACK_FAKE_SERVER_PORT"
	fakeServerDelay = "DEVSTACK_FAKE_SERVER_DELAY"
)

func TestMain(m *testing.M) {
	if port := os.Getenv(fakeServerPort); port != "" {
		fakeServer(port)
		return
	}
	os.Exit(m.Run())
}

func fakeServer(port string) {
	if d, err := time.ParseDuration(os.Getenv(fakeServerDelay)); err == nil {
		time.Sleep(d)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: %v\n", err)
		os.Exit(1)
	}
	_ = http.Serve(ln, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
}

// fakeSpec starts the fake server; before each attempt's process starts,
// occupy (if set) may take the chosen port, as a parallel test would.
func fakeSpec(delay time.Duration, occupy func(attempt, port int)) (ServerSpec, *int) {
	attempts := 0
	hc := &http.Client{Timeout: time.Second}
	return ServerSpec{
		Name:  "fake server",
		Ports: []int{0},
		Command: func(ports []int) (*exec.Cmd, error) {
			attempts++
			if occupy != nil {
				occupy(attempts, ports[0])
			}
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), fakeServerPort+"="+strconv.Itoa(ports[0]), fakeServerDelay+"="+delay.String())
			return cmd, nil
		},
		Ready: func(ctx context.Context, ports []int) error {
			resp, err := hc.Get("http://127.0.0.1:" + strconv.Itoa(ports[0]) + "/")
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		},
		Timeout: 20 * time.Second,
	}, &attempts
}

// occupyWith takes the port on the first attempt with a listener of ours
// that serves answer (nil: accepts connections, answers nothing).
func occupyWith(t *testing.T, answer http.Handler) (func(attempt, port int), *int) {
	taken := 0
	return func(attempt, port int) {
		if attempt != 1 {
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("occupy port %d: %v", port, err)
		}
		taken = port
		t.Cleanup(func() { ln.Close() })
		if answer != nil {
			go func() { _ = http.Serve(ln, answer) }()
		}
	}, &taken
}

func TestStartServerSurvivesPortTakenBeforeBind(t *testing.T) {
	occupy, taken := occupyWith(t, nil)
	spec, attempts := fakeSpec(0, occupy)
	s, err := StartServer(context.Background(), spec)
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Cleanup(func() { _ = s.Kill() })
	if *attempts != 2 {
		t.Errorf("attempts = %d, want 2 (one lost to the collision)", *attempts)
	}
	if s.Ports[0] == *taken {
		t.Errorf("started on the taken port %d", *taken)
	}
	if s.Exited() {
		t.Errorf("server exited: %s", s.State())
	}
}

// The collision a health check alone misses: the port answers, but from
// the process that took it, while ours is about to die on its bind.
func TestStartServerRejectsAnAnswerFromAnotherProcess(t *testing.T) {
	occupy, taken := occupyWith(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	spec, attempts := fakeSpec(time.Second, occupy)
	s, err := StartServer(context.Background(), spec)
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Cleanup(func() { _ = s.Kill() })
	if *attempts != 2 || s.Ports[0] == *taken {
		t.Errorf("attempts = %d on ports ending with %v (taken: %d), want a second attempt elsewhere", *attempts, s.Ports, *taken)
	}
}

func TestStartServerGivesUpOnAFixedPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	spec, attempts := fakeSpec(0, nil)
	spec.Ports = []int{port}
	_, err = StartServer(context.Background(), spec)
	if !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), fmt.Sprintf("port %d is taken", port)) {
		t.Errorf("error = %v, want port %d taken", err, port)
	}
	if *attempts != 1 {
		t.Errorf("attempts = %d, want 1: a fixed port stays taken", *attempts)
	}
}

func TestStartServerReportsOtherFailuresAtOnce(t *testing.T) {
	spec, attempts := fakeSpec(0, nil)
	spec.Command = func([]int) (*exec.Cmd, error) {
		*attempts++
		return exec.Command("sh", "-c", "echo no configuration >&2; exit 3"), nil
	}
	_, err := StartServer(context.Background(), spec)
	if err == nil || IsPortTaken(err) || !strings.Contains(err.Error(), "no configuration") {
		t.Errorf("error = %v, want the exit with its output", err)
	}
	if *attempts != 1 {
		t.Errorf("attempts = %d, want 1", *attempts)
	}
}
