package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/daect/expectct/internal/auth"
	"github.com/daect/expectct/internal/config"
	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/lifecycle"
)

func devCmd() *cobra.Command {
	var binDir string
	cmd := withConfig(&cobra.Command{
		Use:   "dev",
		Short: "Run the whole system locally: Temporal dev server, Mailpit, migrations, worker and API",
		Long: "Starts the Temporal dev server (state kept in EXPECTCT_DATA_DIR, so a restart keeps every application) " +
			"and Mailpit, creates and migrates the database, then runs the worker and the API until Ctrl-C, " +
			"which stops every process it started.",
		Args: cobra.NoArgs,
	}, func(ctx context.Context, cfg *config.Config) error {
		return runDev(ctx, cfg, binDir)
	})
	cmd.Flags().StringVar(&binDir, "bin-dir", defaultBinDir(), "where the temporal and mailpit binaries are (built by `make tools`)")
	return cmd
}

// defaultBinDir is the directory of this executable: `make` puts expectct,
// temporal and mailpit side by side in bin/.
func defaultBinDir() string {
	exe, err := os.Executable()
	if err != nil {
		return "bin"
	}
	return filepath.Dir(exe)
}

func runDev(ctx context.Context, cfg *config.Config, binDir string) error {
	log := cfg.Logger()
	if err := migrateDatabase(ctx, cfg, log); err != nil {
		return fmt.Errorf("%w\nexpectct dev needs PostgreSQL at DATABASE_URL=%s: start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or point DATABASE_URL at another server", err, cfg.DatabaseURL)
	}
	host, portStr, err := net.SplitHostPort(cfg.TemporalAddress)
	if err != nil {
		return fmt.Errorf("TEMPORAL_ADDRESS=%q: host:port expected", cfg.TemporalAddress)
	}
	port, _ := strconv.Atoi(portStr)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(cfg.DataDir, "dev.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()

	temporal := &devstack.TemporalServer{Bin: filepath.Join(binDir, "temporal"), IP: host, Port: port,
		UIPort: cfg.TemporalUIPort, DBFile: filepath.Join(cfg.DataDir, "temporal.db"), Log: logFile}
	log.Info("starting Temporal dev server", "address", cfg.TemporalAddress)
	if err := temporal.Start(ctx); err != nil {
		return err
	}
	defer stopLogged(log, "Temporal dev server", temporal.Stop)

	mailpit := &devstack.MailServer{Bin: filepath.Join(binDir, "mailpit"),
		SMTPAddr: net.JoinHostPort(cfg.SMTPHost, strconv.Itoa(cfg.SMTPPort)), UIAddr: cfg.MailUIListen,
		DBFile: filepath.Join(cfg.DataDir, "mailpit.db"), Log: logFile}
	log.Info("starting Mailpit", "smtp", mailpit.SMTPAddr)
	if err := mailpit.Start(ctx); err != nil {
		return err
	}
	defer stopLogged(log, "Mailpit", mailpit.Stop)

	apiReady := make(chan string, 1)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return runWorker(gctx, cfg, log) })
	g.Go(func() error { return runAPI(gctx, cfg, log, apiReady) })
	select {
	case addr := <-apiReady:
		printDevBanner(os.Stdout, cfg, addr)
	case <-gctx.Done():
	}
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	log.Info("stopping")
	return err
}

func stopLogged(log *slog.Logger, name string, stop func() error) {
	if err := stop(); err != nil {
		log.Warn("stop "+name, "error", err)
	}
}

func printDevBanner(w io.Writer, cfg *config.Config, apiAddr string) {
	keys := auth.NewKeys(cfg.TokenKey)
	tok := func(a lifecycle.Actor) string {
		t, err := keys.Issue(a, 12*time.Hour, time.Now())
		if err != nil {
			return "(" + err.Error() + ")"
		}
		return t
	}
	fmt.Fprintf(w, `
expectct is running. Ctrl-C stops everything.

  API            http://%s   (OpenAPI: /v1/openapi.json)
  Temporal UI    http://%s:%d
  Mailpit UI     http://%s

Tokens (12 h), or issue your own with: expectct token --role ROLE --subject ID [--siren N] [--country CC]
  export EXPECTCT_API=http://%s
  applicant (SIREN 214401093):  export EXPECTCT_TOKEN=%s
  embassy (SN):                 %s
  instructor:                   %s
  decider:                      %s

Try: expectct submit examples/dossier.json
`, apiAddr, hostOf(cfg.TemporalAddress), cfg.TemporalUIPort, cfg.MailUIListen, apiAddr,
		tok(lifecycle.Actor{ID: "claire.martin", Role: lifecycle.RoleApplicant, SIREN: "214401093"}),
		tok(lifecycle.Actor{ID: "scac.dakar", Role: lifecycle.RoleEmbassy, Countries: []string{"SN"}}),
		tok(lifecycle.Actor{ID: "instructeur.daect", Role: lifecycle.RoleInstructor}),
		tok(lifecycle.Actor{ID: "delegue.daect", Role: lifecycle.RoleDecider}))
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
