package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/daect/expectct/internal/config"
	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// TestDevStartsAndStopsEverything runs `expectct dev` on free ports: the API
// answers, the Temporal UI and Mailpit are up, and cancelling (Ctrl-C) stops
// every process it started.
func TestDevStartsAndStopsEverything(t *testing.T) {
	_, dbURL := testenv.Database(t)
	root := testenv.RepoRoot(t)
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var (
		cfg    *config.Config
		cancel context.CancelFunc
		done   chan error
	)
	deadline := time.Now().Add(90 * time.Second)
	// The ports are free when chosen, but another test may bind one before
	// dev does: start again on fresh ports when dev says a port is taken.
	for attempt := 1; ; attempt++ {
		ports, err := devstack.FreePorts(8)
		if err != nil {
			t.Fatal(err)
		}
		cfg = &config.Config{}
		cfg.Bind(pflag.NewFlagSet("dev", pflag.ContinueOnError))
		cfg.DatabaseURL = dbURL
		cfg.MigrateURL = testenv.OwnerURL(t, dbURL)
		cfg.TemporalAddress = "127.0.0.1:" + strconv.Itoa(ports[0])
		cfg.TemporalUIPort = ports[1]
		cfg.SMTPPort = ports[2]
		cfg.MailUIListen = "127.0.0.1:" + strconv.Itoa(ports[3])
		cfg.Listen = "127.0.0.1:" + strconv.Itoa(ports[4])
		cfg.MetricsListen = "127.0.0.1:" + strconv.Itoa(ports[5])
		cfg.OIDCListen = "127.0.0.1:" + strconv.Itoa(ports[6])
		cfg.APIMetricsListen = "127.0.0.1:" + strconv.Itoa(ports[7])
		cfg.DataDir = t.TempDir()
		cfg.LogLevel = "error"

		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		done = make(chan error, 1)
		go func() { done <- runDev(ctx, cfg, filepath.Join(root, "bin")) }()
		err = waitAPI(get, cfg.Listen, done, deadline)
		if err == nil {
			break
		}
		cancel()
		if !devstack.IsPortTaken(err) || attempt == 3 {
			t.Fatalf("API not ready: %v", err)
		}
		t.Logf("dev start %d lost a port, trying fresh ones: %v", attempt, err)
	}
	for name, url := range map[string]string{
		"Temporal UI":     "http://127.0.0.1:" + strconv.Itoa(cfg.TemporalUIPort) + "/",
		"Mailpit UI":      "http://" + cfg.MailUIListen + "/api/v1/messages",
		"worker metrics":  "http://" + cfg.MetricsListen + "/metrics",
		"API metrics":     "http://" + cfg.APIMetricsListen + "/metrics",
		"OpenID provider": "http://" + cfg.OIDCListen + "/.well-known/openid-configuration",
	} {
		// The worker and the API start side by side: wait for each.
		code := get(url)
		for code != http.StatusOK && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			code = get(url)
		}
		if code != http.StatusOK {
			t.Errorf("%s at %s answered %d", name, url, code)
		}
	}
	// The metrics are not on the public port.
	if code := get("http://" + cfg.Listen + "/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the public API port answered %d, want 404", code)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "temporal.db")); err != nil {
		t.Errorf("Temporal state file not kept in the data dir: %v", err)
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if list, err := st.Embassies(context.Background()); err != nil || len(list) == 0 {
		t.Errorf("dev did not migrate the database: %v", err)
	}
	// The worker signs checkpoints with a key dev keeps in the data dir.
	if info, err := os.Stat(filepath.Join(cfg.DataDir, "checkpoint-key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("dev checkpoint key: %v %v, want a file readable by its owner only", info, err)
	}
	for {
		list, err := st.Checkpoints(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dev's worker signed no checkpoint")
		}
		time.Sleep(100 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dev stopped with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("dev did not stop")
	}
	for name, addr := range map[string]string{"API": cfg.Listen, "API metrics": cfg.APIMetricsListen, "Temporal": cfg.TemporalAddress, "Mailpit": cfg.MailUIListen} {
		if code := get("http://" + addr + "/"); code != 0 {
			t.Errorf("%s still answers after stop", name)
		}
	}
}

// waitAPI waits until the API at addr is ready; it returns what dev returned
// if it stopped first.
func waitAPI(get func(string) int, addr string, done <-chan error, deadline time.Time) error {
	for get("http://"+addr+"/readyz") != http.StatusOK {
		select {
		case err := <-done:
			return fmt.Errorf("dev stopped: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("API not ready after 90 s")
		}
	}
	return nil
}

func TestDevExplainsUnreachablePostgreSQL(t *testing.T) {
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	cfg.Bind(pflag.NewFlagSet("dev", pflag.ContinueOnError))
	cfg.DatabaseURL = "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/expectct?sslmode=disable"
	cfg.DataDir = t.TempDir()
	err = runDev(context.Background(), cfg, "bin")
	if err == nil {
		t.Fatal("dev started without PostgreSQL")
	}
	for _, want := range []string{"PostgreSQL", "DATABASE_URL", "pg_ctlcluster"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
