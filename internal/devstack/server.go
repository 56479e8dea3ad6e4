package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrPortTaken marks a server that could not start because a port it was
// given, or one it picked itself, was taken by another process.
var ErrPortTaken = errors.New("port already in use")

// IsPortTaken tells whether err says a port was taken: a server child that
// exited on a bind collision, or a listener of our own that got EADDRINUSE.
func IsPortTaken(err error) bool {
	return errors.Is(err, ErrPortTaken) || errors.Is(err, syscall.EADDRINUSE)
}

// startAttempts is how often StartServer tries fresh ports. A collision needs
// another process to bind the same port within the moment between our choice
// and the server's own bind, so a second one in a row is already rare.
const startAttempts = 5

// ServerSpec describes a server child process for StartServer.
type ServerSpec struct {
	Name string // for errors, e.g. "temporal dev server"
	// Ports are the loopback ports the server listens on: a 0 is replaced by
	// a port free at that moment, chosen again on each attempt; others are
	// kept (a user's configured address, or a restart on the same port).
	Ports []int
	// Command builds the process for one attempt's ports. StartServer sets
	// its output and process attributes.
	Command func(ports []int) (*exec.Cmd, error)
	// Output receives the server's stdout and stderr (nil: discarded); the
	// last few kilobytes are also kept to tell why a start failed.
	Output io.Writer
	// Ready returns nil once the server answers on its ports.
	Ready func(ctx context.Context, ports []int) error
	// Timeout bounds one attempt's wait for Ready (default 90 s).
	Timeout time.Duration
}

// Server is a child process StartServer started and found ready.
type Server struct {
	Ports []int

	cmd  *exec.Cmd
	done chan struct{}
}

// StartServer runs the server on free ports and waits until it is ready.
//
// Free ports can only be found by binding and releasing them, and servers we
// cannot hand a listener to (Temporal's CLI, Mailpit, our own binary) bind
// again later, so another process may take a port in between; the Temporal
// dev server also picks its internal ports that way. When the process exits
// saying "address already in use", or when the answer on its port came from
// another process, StartServer tries again with fresh ports instead of
// failing. Any other failure is returned at once, with the output's tail.
func StartServer(ctx context.Context, spec ServerSpec) (*Server, error) {
	var errs []error
	for range startAttempts {
		s, err := startOnce(ctx, spec)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		var fixed fixedPortTaken
		if !errors.Is(err, ErrPortTaken) || errors.As(err, &fixed) || ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// fixedPortTaken is a collision on a port the caller chose: trying again
// would meet the same process there, so StartServer gives up at once.
type fixedPortTaken struct{ port int }

func (e fixedPortTaken) Error() string {
	return fmt.Sprintf("port %d is taken by another process", e.port)
}

func (e fixedPortTaken) Unwrap() error { return ErrPortTaken }

// bindFailure matches Go's bind error, e.g. "listen tcp 127.0.0.1:7233:
// bind: address already in use", in the server's log.
var bindFailure = regexp.MustCompile(`:(\d+): bind: address already in use`)

// collision classifies a port taken under the server: a fixed one (given by
// the caller) ends the attempts, any other (ours or the server's own
// choice) is worth another try.
func collision(name string, port int, fixed []int, output string) error {
	if port != 0 && slices.Contains(fixed, port) {
		return fmt.Errorf("%s: %w", name, fixedPortTaken{port})
	}
	return fmt.Errorf("%s: port %d taken: %w:\n%s", name, port, ErrPortTaken, output)
}

func startOnce(ctx context.Context, spec ServerSpec) (*Server, error) {
	ports, err := choosePorts(spec.Ports)
	if err != nil {
		return nil, err
	}
	cmd, err := spec.Command(ports)
	if err != nil {
		return nil, err
	}
	out := &tail{max: 8 << 10}
	cmd.Stdout = io.Writer(out)
	if spec.Output != nil {
		cmd.Stdout = io.MultiWriter(spec.Output, out)
	}
	cmd.Stderr = cmd.Stdout
	// The server dies with us, even if we are killed, and its whole process
	// group is stopped with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	s := &Server{Ports: ports, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()

	timeout := spec.Timeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		err := spec.Ready(ctx, ports)
		if err == nil {
			// A server that lost a port may still see a healthy answer on
			// it, from the process that won: make sure the answer is ours.
			if p, ok := notOurs(cmd.Process.Pid, ports); ok {
				_ = s.Kill()
				return nil, collision(spec.Name, p, spec.Ports, "(it answers from another process)")
			}
			return s, nil
		}
		select {
		case <-s.done:
			if log := out.String(); strings.Contains(log, "address already in use") {
				p := 0 // a port the log does not name is not one of the fixed ones
				if m := bindFailure.FindStringSubmatch(log); m != nil {
					p, _ = strconv.Atoi(m[1])
				}
				return nil, collision(spec.Name, p, spec.Ports, log)
			}
			return nil, fmt.Errorf("%s exited during start-up (%v): %v:\n%s", spec.Name, cmd.ProcessState, err, out.String())
		case <-ctx.Done():
			_ = s.Kill()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Kill()
			return nil, fmt.Errorf("%s not ready on ports %v after %s: %w", spec.Name, ports, timeout, err)
		}
	}
}

// Pid is the server's process ID.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Done is closed once the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Exited tells whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// State describes how the process ended, or "running".
func (s *Server) State() string {
	if !s.Exited() {
		return "running"
	}
	return s.cmd.ProcessState.String()
}

// Stop asks the server to shut down (SIGTERM) and waits, killing it after 15 s.
func (s *Server) Stop() error {
	if s == nil {
		return nil
	}
	return stop(s.cmd, s.done)
}

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() error {
	if s == nil {
		return nil
	}
	return kill(s.cmd, s.done)
}

// FreePorts returns n distinct loopback ports that were free a moment ago.
// The listeners are held until all are chosen, so the kernel cannot hand out
// one port twice; another process may still take one before it is used.
func FreePorts(n int) ([]int, error) {
	return choosePorts(make([]int, n))
}

// choosePorts replaces each 0 in ports by a distinct free port.
func choosePorts(ports []int) ([]int, error) {
	out := make([]int, len(ports))
	for i, p := range ports {
		if p != 0 {
			out[i] = p
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		out[i] = l.Addr().(*net.TCPAddr).Port
	}
	return out, nil
}

// notOurs returns a port among ports that some process listens on, but not
// pid; ok is false when pid holds them all or when the system does not say
// (no /proc: the check is skipped rather than failing the start).
func notOurs(pid int, ports []int) (port int, ok bool) {
	ours, err := socketInodes(pid)
	if err != nil {
		return 0, false
	}
	listening, err := listeningInodes()
	if err != nil {
		return 0, false
	}
	for _, p := range ports {
		inodes := listening[p]
		if len(inodes) == 0 {
			continue // not a TCP listener of the server (or not bound yet): nothing to say
		}
		mine := false
		for _, ino := range inodes {
			mine = mine || ours[ino]
		}
		if !mine {
			return p, true
		}
	}
	return 0, false
}

// socketInodes lists the socket inodes the process holds open.
func socketInodes(pid int) (map[string]bool, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range entries {
		link, err := os.Readlink(dir + "/" + e.Name())
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			out[strings.TrimSuffix(ino, "]")] = true
		}
	}
	return out, nil
}

// listeningInodes maps each listening TCP port to its sockets' inodes.
func listeningInodes() (map[int][]string, error) {
	out := map[int][]string{}
	read := 0
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		read++
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			p, err := strconv.ParseInt(hexPort, 16, 32)
			if err != nil {
				continue
			}
			out[int(p)] = append(out[int(p)], fields[9])
		}
		f.Close()
	}
	if read == 0 {
		return nil, errors.New("no /proc/net/tcp")
	}
	return out, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
