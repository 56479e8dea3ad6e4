package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/daect/expectct/activities"
	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/codec"
	"github.com/daect/expectct/internal/config"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/letters"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/metrics"
	"github.com/daect/expectct/internal/outbox"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/web"
	"github.com/daect/expectct/internal/webhooks"
	"github.com/daect/expectct/worker"
)

// serviceCommands are the processes of the system: api, worker, dev, migrate,
// plus the local helpers token and healthcheck.
func serviceCommands() []*cobra.Command {
	return []*cobra.Command{apiCmd(), workerCmd(), devCmd(), migrateCmd(), bootstrapAdminCmd(), healthcheckCmd(), benchCmd(), checkpointKeyCmd()}
}

// withConfig gives a command the configuration flags and checks them.
func withConfig(cmd *cobra.Command, run func(ctx context.Context, cfg *config.Config) error) *cobra.Command {
	cfg := &config.Config{}
	cfg.Bind(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := cfg.Check(); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return run(ctx, cfg)
	}
	return cmd
}

func migrateCmd() *cobra.Command {
	return withConfig(&cobra.Command{
		Use:   "migrate",
		Short: "Create the database if missing and apply the schema migrations (idempotent)",
		Args:  cobra.NoArgs,
	}, func(ctx context.Context, cfg *config.Config) error {
		return migrateDatabase(ctx, cfg, cfg.Logger())
	})
}

// migrateDatabase creates and migrates the database as the owner
// (EXPECTCT_MIGRATE_DATABASE_URL), then lets DATABASE_URL's role in as a
// member of store.AppRole. Without an owner URL, DATABASE_URL's role owns
// the tables: fit for a workstation, and said so.
func migrateDatabase(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	owner := cfg.MigrateURL
	if owner == "" {
		owner = cfg.DatabaseURL
	}
	same, err := store.SameRole(owner, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if err := store.EnsureDatabase(ctx, owner); err != nil {
		return err
	}
	if err := store.Migrate(ctx, owner); err != nil {
		return err
	}
	if same {
		log.Warn("EXPECTCT_MIGRATE_DATABASE_URL is not set (or logs in as DATABASE_URL's role): the application owns its tables and could rewrite the journal; fit for a workstation only (docs/operations.md, \"Database roles\")")
	} else if err := store.GrantApp(ctx, owner, cfg.DatabaseURL); err != nil {
		return err
	}
	log.Info("database migrated")
	return nil
}

// bootstrapAdminCmd grants the admin role straight in the database: the
// directory starts empty, and only an admin may grant through the API.
func bootstrapAdminCmd() *cobra.Command {
	var in identity.GrantInput
	var subject string
	cmd := withConfig(&cobra.Command{
		Use:   "bootstrap-admin --subject SUB [--name NAME] [--email EMAIL]",
		Short: "Grant the first admin (their subject at EXPECTCT_OIDC_ISSUER), straight in the database; journaled",
		Args:  cobra.NoArgs,
	}, func(ctx context.Context, cfg *config.Config) error {
		if err := cfg.CheckSignIn(); err != nil {
			return err
		}
		in.Role = string(lifecycle.RoleAdmin)
		if !identity.PersonIDPattern.MatchString(subject) {
			return fmt.Errorf("--subject %q: letters, digits and . _ @ : | + = - only", subject)
		}
		if err := dossier.ValidateStruct(in); err != nil {
			return err
		}
		st, err := store.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer st.Close()
		by := "operator"
		if u, err := user.Current(); err == nil {
			by = "operator:" + u.Username
		}
		p := store.Person{ID: subject, Issuer: cfg.OIDCIssuer, Kind: string(identity.KindPerson), Name: in.Name, Email: in.Email}
		e, err := st.GrantRole(ctx, by, p, store.Grant{Role: in.Role}, in.Reason)
		if err != nil {
			return err
		}
		fmt.Printf("%s is admin (directory journal line %d)\n", subject, e.Seq)
		return nil
	})
	cmd.Flags().StringVar(&subject, "subject", "", "the person's subject at the issuer (expectct whoami shows it)")
	cmd.Flags().StringVar(&in.Name, "name", "", "the person's name (replaced by the provider's at sign-in)")
	cmd.Flags().StringVar(&in.Email, "email", "", "the person's e-mail (replaced by the provider's at sign-in)")
	cmd.Flags().StringVar(&in.Reason, "reason", "first admin", "why (kept in the directory's journal)")
	_ = cmd.MarkFlagRequired("subject")
	return cmd
}

// connect opens the database and the Temporal client, with errors that say
// how to fix a missing component. The client seals payloads with the codec,
// also returned for the readers of raw histories (the audit).
func connect(ctx context.Context, cfg *config.Config, logger *slog.Logger, metrics client.MetricsHandler) (*store.Store, client.Client, *codec.Codec, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w\nPostgreSQL must be reachable at DATABASE_URL (start it with `pg_ctlcluster 15 main start` or `docker compose up postgres`, then run `expectct migrate`)", err)
	}
	pc, err := codec.Parse(cfg.CodecKeys)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	if pc == nil {
		logger.Warn("EXPECTCT_CODEC_KEYS is not set: Temporal payloads (dossiers, steps) travel and are stored in clear; fit for a workstation only")
	}
	tlsConfig, err := cfg.TemporalTLS()
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	compression, err := cfg.GrpcCompression()
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	opts := client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk")), DataConverter: codec.DataConverter(pc),
		ConnectionOptions: client.ConnectionOptions{TLS: tlsConfig, GrpcCompression: compression}}
	if metrics != nil {
		opts.MetricsHandler = metrics
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		st.Close()
		return nil, nil, nil, fmt.Errorf("cannot reach Temporal at %s: %w (start it with `make run` or `docker compose up temporal`)", cfg.TemporalAddress, err)
	}
	return st, c, pc, nil
}

func apiCmd() *cobra.Command {
	return withConfig(&cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API",
		Args:  cobra.NoArgs,
	}, func(ctx context.Context, cfg *config.Config) error {
		if err := cfg.CheckSignIn(); err != nil {
			return err
		}
		return runAPI(ctx, cfg, cfg.Logger(), nil)
	})
}

// runAPI serves until ctx ends; ready, when set, receives the bound address.
func runAPI(ctx context.Context, cfg *config.Config, log *slog.Logger, ready chan<- string) error {
	prog, err := rules.Load(cfg.RulesFile)
	if err != nil {
		return err
	}
	st, c, pc, err := connect(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	defer c.Close()
	keys, err := checkpoint.ParsePublicKeys(cfg.CheckpointPublicKeys)
	if err != nil {
		return err
	}
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := &api.Server{CheckpointKeys: keys, Temporal: c, Store: st, Rules: prog, TaskQueue: cfg.TaskQueue, Namespace: cfg.TemporalNamespace,
		MaxBodyBytes: cfg.MaxBodyBytes, UpdateTimeout: cfg.UpdateTimeout, Log: log, Registry: reg,
		Codec: pc, CodecOrigins: cfg.CodecOrigins(), DirectoryFallback: cfg.DirectoryFallback,
		RateLimits: api.RateLimits{Anonymous: rate.Limit(cfg.RateAnonymous), AnonymousBurst: cfg.RateAnonymousBurst,
			Writes: rate.Limit(cfg.RateWrites), WritesBurst: cfg.RateWritesBurst, TrustedProxies: proxies},
		Verifier: identity.NewVerifier(cfg.OIDCIssuer, cfg.Audiences()),
		Letters:  &letters.Source{Store: st, PublicURL: cfg.PublicURL},
		SignIn:   identity.SignIn{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID}}
	// The web application shares the API's server, its rules and its
	// sign-in: its callback is under the public address.
	site := &web.Server{API: srv, Store: st, Rules: prog, Log: log, Issuer: cfg.OIDCIssuer,
		SignIn: &identity.WebSignIn{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, Verifier: srv.Verifier.(*identity.Verifier),
			RedirectURL: strings.TrimSuffix(cfg.PublicURL, "/") + web.CallbackPath, Sessions: st}}
	// The metrics tell request rates, refusals and runtime details that the
	// public need not see: they get a listener of their own.
	metricsMux := http.NewServeMux()
	metricsMux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveHTTP(gctx, cfg.Listen, site.Handler(srv.Handler()), log, "api", ready) })
	g.Go(func() error { return site.ExpireSessions(gctx, time.Hour) })
	g.Go(func() error { return serveHTTP(gctx, cfg.APIMetricsListen, metricsMux, log, "api metrics", nil) })
	return g.Wait()
}

func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger, name string, ready chan<- string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	log.Info(name+" listening", "address", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return err
	}
	log.Info(name + " stopped")
	return nil
}

func workerCmd() *cobra.Command {
	return withConfig(&cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker (application workflows and activities)",
		Args:  cobra.NoArgs,
	}, func(ctx context.Context, cfg *config.Config) error {
		return runWorker(ctx, cfg, cfg.Logger())
	})
}

// runWorker runs the worker until ctx ends, with its metrics on /metrics.
func runWorker(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, c, _, err := connect(ctx, cfg, log, sdkMetrics(reg))
	if err != nil {
		return err
	}
	defer st.Close()
	defer c.Close()
	sender, err := mail.NewSender(cfg.SMTP())
	if err != nil {
		return fmt.Errorf("SMTP configuration: %w", err)
	}
	// Applications wait weeks for people: keep only the busiest in memory.
	sdkworker.SetStickyWorkflowCacheSize(cfg.WorkflowCache)
	acts := &activities.Activities{Store: st, Secretariat: cfg.Secretariat, Log: log, Refused: activities.RefusedCounter(reg)}
	var key *checkpoint.Key
	if cfg.CheckpointKey != "" {
		if key, err = checkpoint.ParseKey(cfg.CheckpointKey); err != nil {
			return err
		}
		acts.Checkpoint = key
	} else {
		log.Warn("EXPECTCT_CHECKPOINT_KEY is not set: no signed checkpoints are taken, so a rewrite of the database by its owner would go unseen once Temporal's histories are gone (docs/operations.md, \"Signed checkpoints\")")
	}
	hooks := &webhooks.Activities{Store: st, Log: log, Settings: webhooks.Settings{RetryFor: cfg.WebhookRetryFor},
		Outcomes: webhooks.OutcomeCounter(reg)}
	w := worker.New(c, cfg.TaskQueue, acts, hooks)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	n, err := webhooks.Ensure(ctx, c, st, cfg.TaskQueue)
	if err != nil {
		return err
	}
	log.Info("webhook deliverers running", "subscriptions", n, "retry_for", cfg.WebhookRetryFor.String())
	if key != nil {
		if err := worker.EnsureCheckpointSchedule(ctx, c, cfg.TaskQueue, cfg.CheckpointInterval); err != nil {
			return err
		}
		log.Info("checkpoints signed", "key_id", key.ID(), "every", cfg.CheckpointInterval.String(), "schedule", worker.CheckpointScheduleID(cfg.TaskQueue))
	}
	relay := &outbox.Relay{Store: st, Mailer: sender, Log: log, Poll: cfg.MailPoll, Lease: cfg.MailLease,
		Letters: &letters.Source{Store: st, PublicURL: cfg.PublicURL}}
	relay.Register(reg)
	// The relay stops with the worker, whatever ends it.
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan struct{})
	go func() { defer close(relayDone); relay.Run(relayCtx) }()
	defer func() { stopRelay(); <-relayDone }()
	log.Info("worker started", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("alive\n")) })
	return serveHTTP(ctx, cfg.MetricsListen, mux, log, "worker metrics", nil)
}

// sdkMetrics exposes the Temporal SDK's metrics through Prometheus.
func sdkMetrics(reg *prometheus.Registry) client.MetricsHandler {
	return metrics.NewTemporalHandler(reg)
}

func healthcheckCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the URL answers 200 (container healthchecks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return errors.New(url + ": " + resp.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8080/healthz", "URL to check")
	return cmd
}

func checkpointKeyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "checkpoint-key",
		Short: "Print a new Ed25519 key pair for signing checkpoints: the worker's EXPECTCT_CHECKPOINT_KEY and the API's EXPECTCT_CHECKPOINT_PUBLIC_KEYS",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			seed, public, err := checkpoint.Generate()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "# the worker's only: keep it out of the database and its backups\nEXPECTCT_CHECKPOINT_KEY=%s\n"+
				"# the API's (append it to the older public keys during a rotation)\nEXPECTCT_CHECKPOINT_PUBLIC_KEYS=%s\n", seed, public)
			return nil
		},
	}
}
