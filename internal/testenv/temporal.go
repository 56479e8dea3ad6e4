package testenv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/daect/expectct/internal/codec"
	"github.com/daect/expectct/internal/devstack"
)

var (
	sharedOnce   sync.Once
	sharedServer *devstack.TemporalServer
	sharedErr    error
)

// Run runs a package's tests and then stops the servers they shared. Use it
// from TestMain: os.Exit(testenv.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	if sharedServer != nil {
		_ = sharedServer.Stop()
	}
	if oidcServer != nil {
		_ = oidcServer.Stop()
	}
	return code
}

// Temporal returns the package's shared Temporal dev server, started on
// first use. Tests isolate themselves with their own task queue and IDs.
func Temporal(t testing.TB) *devstack.TemporalServer {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "expectct-temporal-")
		if err != nil {
			sharedErr = err
			return
		}
		sharedServer, sharedErr = startTemporal(RepoRoot(t), filepath.Join(dir, "temporal.db"))
	})
	if sharedErr != nil {
		t.Fatalf("Temporal dev server is required: %v", sharedErr)
	}
	return sharedServer
}

// OwnTemporal starts a dev server for this test alone, on a file store, so
// the test may kill and restart it, or give it its own dynamic settings
// ("key=value").
func OwnTemporal(t testing.TB, dynamicConfig ...string) *devstack.TemporalServer {
	t.Helper()
	s, err := startTemporal(RepoRoot(t), filepath.Join(t.TempDir(), "temporal.db"), dynamicConfig...)
	if err != nil {
		t.Fatalf("Temporal dev server is required: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func startTemporal(root, dbFile string, dynamicConfig ...string) (*devstack.TemporalServer, error) {
	s := &devstack.TemporalServer{
		Bin:           filepath.Join(root, "bin", "temporal"),
		Headless:      true,
		DBFile:        dbFile,
		Log:           os.Stderr,
		DynamicConfig: dynamicConfig,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		return nil, fmt.Errorf("%w (run `make tools` to build bin/temporal)", err)
	}
	return s, nil
}

// Client connects to a dev server, sealing payloads with the codec when one
// is given; closed when the test ends.
func Client(t testing.TB, s *devstack.TemporalServer, pc ...*codec.Codec) client.Client {
	t.Helper()
	var sealer *codec.Codec
	if len(pc) > 0 {
		sealer = pc[0]
	}
	c, err := client.Dial(client.Options{HostPort: s.Address(), Logger: QuietLogger(), DataConverter: codec.DataConverter(sealer)})
	if err != nil {
		t.Fatalf("connect to Temporal at %s: %v", s.Address(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// QuietLogger keeps the SDK's routine logs out of test output.
func QuietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})))
}
