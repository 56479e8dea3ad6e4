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
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/config"
	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/store"
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

	oidcPort, err := loopbackPort("EXPECTCT_OIDC_LISTEN", cfg.OIDCListen)
	if err != nil {
		return err
	}
	provider := &devstack.OIDCProvider{Bin: filepath.Join(binDir, "oidc-provider"), Port: oidcPort,
		PeopleFile: filepath.Join(repoDir(binDir), "dev", "people.json"), KeyFile: filepath.Join(cfg.DataDir, "oidc-key.pem"), Log: logFile}
	log.Info("starting the local OpenID provider", "listen", cfg.OIDCListen)
	if err := provider.Start(ctx); err != nil {
		return err
	}
	defer stopLogged(log, "OpenID provider", provider.Stop)
	cfg.OIDCIssuer = provider.Issuer()
	if err := seedDevGrants(ctx, cfg); err != nil {
		return err
	}

	if err := devCheckpointKey(cfg); err != nil {
		return err
	}

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

// devGrants are the roles of dev/people.json's ready-made people. Claire
// Martin has none: she applies for the SIREN of her ProConnect siret claim.
var devGrants = []struct {
	person, kind string
	grant        store.Grant
}{
	{"scac.dakar", "person", store.Grant{Role: "embassy", Countries: []string{"SN"}}},
	{"instructeur.daect", "person", store.Grant{Role: "instructor"}},
	{"delegue.daect", "person", store.Grant{Role: "decider"}},
	{"comptable.daect", "person", store.Grant{Role: "finance"}},
	{"auditeur.daect", "person", store.Grant{Role: "auditor"}},
	{"admin.daect", "person", store.Grant{Role: "admin"}},
	{"svc-tableau-de-bord", "service", store.Grant{Role: "auditor"}},
}

// seedDevGrants gives the ready-made people their roles, once: a restart
// journals nothing new.
func seedDevGrants(ctx context.Context, cfg *config.Config) error {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, d := range devGrants {
		if p, err := st.Person(ctx, d.person); err == nil && slices.ContainsFunc(p.Grants, func(g store.Grant) bool { return g.Role == d.grant.Role }) {
			continue
		}
		p := store.Person{ID: d.person, Issuer: cfg.OIDCIssuer, Kind: d.kind}
		if _, err := st.GrantRole(ctx, "expectct-dev", p, d.grant, "ready-made person of `expectct dev`"); err != nil {
			return fmt.Errorf("grant %s to %s: %w", d.grant.Role, d.person, err)
		}
	}
	return nil
}

// repoDir is the repository holding bin/ (dev/people.json is beside it).
func repoDir(binDir string) string { return filepath.Dir(binDir) }

func printDevBanner(w io.Writer, cfg *config.Config, apiAddr string) {
	fmt.Fprintf(w, `
expectct is running. Ctrl-C stops everything.

  Web application  http://%s   (sign in as one of the people below)
  API              http://%s/v1   (OpenAPI: /v1/openapi.json)
  OpenID provider  %s
  Temporal UI      http://%s:%d
  Mailpit UI       http://%s

Ready-made people (password of each: expectct-dev), in the browser or the CLI:
  export EXPECTCT_API=http://%s
  bin/expectct login        # shows an address and a code; sign in there as one of:
    claire.martin       applicant (SIREN 214401093, from her ProConnect siret)
    scac.dakar          embassy (SN)
    instructeur.daect   instructor
    delegue.daect       decider
    comptable.daect     finance (confirms payments)
    auditeur.daect      auditor
    admin.daect         admin (grants roles: bin/expectct people grant)
  service account svc-tableau-de-bord (auditor): EXPECTCT_CLIENT_ID=svc-tableau-de-bord EXPECTCT_CLIENT_SECRET=expectct-dev-service-secret

Try: bin/expectct whoami; bin/expectct submit examples/dossier.json
`, apiAddr, apiAddr, cfg.OIDCIssuer, hostOf(cfg.TemporalAddress), cfg.TemporalUIPort, cfg.MailUIListen, apiAddr)
}

// loopbackPort is the port of a 127.0.0.1:PORT setting: the local provider
// issues tokens for http://127.0.0.1:PORT, the only plain-HTTP issuer the
// API trusts.
func loopbackPort(name, addr string) (int, error) {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || host != "127.0.0.1" {
		return 0, fmt.Errorf("%s=%q: 127.0.0.1:PORT expected", name, addr)
	}
	return n, nil
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

// devCheckpointKey gives the dev stack a checkpoint key of its own, kept in
// the data directory so the checkpoints of earlier runs still check, unless
// EXPECTCT_CHECKPOINT_KEY is set.
func devCheckpointKey(cfg *config.Config) error {
	if cfg.CheckpointKey != "" {
		return nil
	}
	file := filepath.Join(cfg.DataDir, "checkpoint-key")
	seed, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		s, _, gerr := checkpoint.Generate()
		if gerr != nil {
			return gerr
		}
		seed, err = []byte(s), os.WriteFile(file, []byte(s), 0o600)
	}
	if err != nil {
		return fmt.Errorf("dev checkpoint key: %w", err)
	}
	key, err := checkpoint.ParseKey(string(seed))
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	cfg.CheckpointKey = string(seed)
	cfg.CheckpointPublicKeys = strings.Trim(cfg.CheckpointPublicKeys+","+key.Public(), ",")
	return nil
}
