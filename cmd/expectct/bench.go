package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/daect/expectct/internal/bench"
	"github.com/daect/expectct/internal/config"
)

// configDefault is the documented default of a configuration variable, or
// the environment's value when it is set.
func configDefault(env string) string {
	if v, ok := os.LookupEnv(env); ok {
		return v
	}
	for _, v := range (&config.Config{}).Vars() {
		if v.Env == env {
			return v.Default
		}
	}
	return ""
}

func benchCmd() *cobra.Command {
	o := bench.Options{}
	signIn := bench.SignIn{ClientID: configDefault("EXPECTCT_OIDC_CLIENT_ID")}
	var binDir, store string
	var failOnMiss bool
	cmd := &cobra.Command{
		Use:   "bench [--standalone] [-n N] [-c C] [--scale N] [--seed N]",
		Short: "Measure the engine against bare Temporal: lifecycles/s, step latencies, memory, reads and web pages at scale",
		Long: `Runs N complete lifecycles (submission, embassy opinion, recommendation, decision) through
the HTTP API, then the same number of a bare workflow of the same shape (a start, 3 updates,
6 no-op activities) driven with the Temporal client on the same Temporal server, and prints
lifecycles per second, p50/p99 per step, the engine/bare ratios, the worker's and the API's
peak memory and PASS/MISS against the targets.

With --scale N it then submits N applications left waiting for the embassy and times the
filtered list query and status reads, with the worker's resident memory.

With --scale N or --seed N it then times every web page as its role reads it, each person
signing in on the OpenID provider's form: --seed N first writes N applications straight into
the database through the worker's recording code (no workflows: seconds, where --scale takes
half an hour), and the dossier pages show 3 applications submitted through the API for the
run. The site is --api, which must be the API's EXPECTCT_PUBLIC_URL.

--standalone starts its own Temporal dev server, Mailpit, database, worker and API (child
processes of this binary) and removes them at the end. Without it, the run goes against the
running stack named by --api, --temporal-address, --task-queue and --database-url, its people
signing in on --oidc-issuer with --oidc-password (expectct dev's ready-made people hold their
roles already); give --worker-pid and --api-pid to read their memory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			output := cmd.Flag("output").Value.String()
			o.API = cmd.Flag("api").Value.String()
			if o.Lifecycles < 0 || o.Scale < 0 || o.Seed < 0 || o.Concurrency < 1 || o.Reads < 1 || o.ReadConcurrency < 1 {
				return errors.New("-n, --scale and --seed must be ≥ 0, -c, --reads and --read-concurrency ≥ 1")
			}
			if o.Lifecycles == 0 && o.Scale == 0 && o.Seed == 0 {
				return errors.New("nothing to do: -n 0 and no --scale or --seed")
			}
			o.Stack.BinDir = binDir
			for _, kv := range o.Stack.WorkerEnv {
				if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
					return fmt.Errorf("--worker-env %q: KEY=VALUE expected", kv)
				}
			}
			switch store {
			case "file":
			case "memory":
				o.Stack.TemporalInMemory = true
			default:
				return fmt.Errorf("--temporal-store must be file or memory, not %q", store)
			}
			o.Stack.DatabaseURL = o.DatabaseURL
			if !o.Standalone {
				o.SignIn = &signIn
			}
			if o.Standalone {
				exe, err := os.Executable()
				if err != nil {
					return fmt.Errorf("cannot find this binary to run the worker and the API: %w", err)
				}
				o.Stack.Exe = exe
			}
			o.Progress = cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := bench.Execute(ctx, o)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return errors.New("interrupted")
				}
				return err
			}
			if output == "json" {
				err = rep.WriteJSON(cmd.OutOrStdout())
			} else {
				err = rep.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if failOnMiss && rep.Missed() {
				return errors.New("a target was missed")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.Standalone, "standalone", false, "start a Temporal dev server, Mailpit, a fresh database, the worker and the API for this run")
	f.IntVarP(&o.Lifecycles, "lifecycles", "n", 200, "complete lifecycles to run, for the engine and for the bare workflow (0: skip)")
	f.IntVarP(&o.Concurrency, "concurrency", "c", 16, "concurrent clients")
	f.IntVar(&o.Warmup, "warmup", 16, "lifecycles each system runs first, left out of the figures")
	f.IntVar(&o.Rounds, "rounds", 2, "turns the lifecycles are split into, bare and engine alternating (bare, engine | engine, bare | ...)")
	f.BoolVar(&o.EngineFirst, "engine-first", false, "start the turns with the engine (default: the bare workflow)")
	f.DurationVar(&o.Poll, "poll-interval", 100*time.Millisecond, "status polling interval while waiting for the embassy consultation")
	f.IntVar(&o.Scale, "scale", 0, "applications to submit and hold open for the scale run (0: skip)")
	f.IntVar(&o.Seed, "seed", 0, "applications to write straight into the database (as the worker records them, without workflows) before the page timings (0: none)")
	f.IntVar(&o.Reads, "reads", 500, "scale run: list queries, and status reads, to time; page timings: requests per page")
	f.IntVar(&o.ReadConcurrency, "read-concurrency", 1, "scale run and page timings: concurrent readers")
	f.DurationVar(&o.ScaleTimeout, "scale-timeout", 45*time.Minute, "scale run: how long to wait for every application to reach the embassy")
	f.StringVar(&signIn.Issuer, "oidc-issuer", configDefault("EXPECTCT_OIDC_ISSUER"), "without --standalone: the OpenID provider the bench's people sign in on (env EXPECTCT_OIDC_ISSUER)")
	f.StringVar(&signIn.Password, "oidc-password", "expectct-dev", "without --standalone: the password of the bench's people (dev/people.json's)")
	f.StringVar(&o.TemporalAddress, "temporal-address", configDefault("TEMPORAL_ADDRESS"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	f.StringVar(&o.Namespace, "temporal-namespace", configDefault("TEMPORAL_NAMESPACE"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	f.StringVar(&o.TaskQueue, "task-queue", configDefault("EXPECTCT_TASK_QUEUE"), "the engine's task queue; the bare workflow uses <queue>-bare-<run> (env EXPECTCT_TASK_QUEUE)")
	f.StringVar(&o.DatabaseURL, "database-url", configDefault("DATABASE_URL"), "expectct's database (scale progress); with --standalone, the server a fresh database is created on (env DATABASE_URL)")
	f.IntVar(&o.WorkerPID, "worker-pid", 0, "process ID of the running worker, to read its memory")
	f.IntVar(&o.APIPID, "api-pid", 0, "process ID of the running API, to read its memory")
	f.StringVar(&o.WorkerMetrics, "worker-metrics", "", "the running worker's /metrics URL (e.g. http://127.0.0.1:9090/metrics), to show its activity latencies")
	f.StringVar(&o.APIMetrics, "api-metrics", "", "the running API's /metrics URL (e.g. http://127.0.0.1:9091/metrics), to show its latencies")
	f.StringVar(&binDir, "bin-dir", defaultBinDir(), "--standalone: where the temporal and mailpit binaries are (make tools builds them)")
	f.StringVar(&o.Stack.RulesFile, "rules-file", "", "--standalone: programme rules for the worker and API (empty: embedded rules, embassy timers of 7 and 15 days)")
	f.StringVar(&store, "temporal-store", "file", "--standalone: the dev server's store, file (SQLite in a temporary file, as expectct dev) or memory")
	f.StringArrayVar(&o.Stack.WorkerEnv, "worker-env", nil, "--standalone: KEY=VALUE added to the worker's environment only, e.g. GOMEMLIMIT=450MiB (repeatable)")
	f.BoolVar(&o.Stack.Keep, "keep", false, "--standalone: keep the working directory (logs, Temporal file store) and the database")
	f.BoolVar(&failOnMiss, "fail-on-miss", false, "exit non-zero when a target is missed")
	return cmd
}
