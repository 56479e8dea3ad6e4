package testenv

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/letters"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/webhooks"
)

// Servers says what NewStackOn connects a stack to instead of NewStack's
// defaults, for tests that break those servers on purpose.
type Servers struct {
	// Temporal is the dev server the stack's clients dial; nil means the
	// package's shared one. Give it OwnTemporal's server to kill and restart it.
	Temporal *devstack.TemporalServer
	// DatabaseURL maps the test database's URL to the one the stack's worker
	// and API open, e.g. through a proxy; nil opens it directly. The test
	// database is still created, migrated and dropped directly.
	DatabaseURL func(direct string) string
	// OIDC is the provider the stack's API trusts; nil means the package's
	// shared one.
	OIDC *devstack.OIDCProvider
	// Verifier, when set, replaces the API's token verifier (another
	// audience, another clock).
	Verifier *identity.Verifier
}

// NewStackOn starts a stack like NewStack, on the given servers. The stack's
// Store and DBURL are the ones its worker and API use (the mapped URL).
func NewStackOn(t testing.TB, opts StackOptions, on Servers) *Stack {
	t.Helper()
	st, dbURL := Database(t)
	if on.DatabaseURL != nil {
		dbURL = on.DatabaseURL(dbURL)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var err error
		if st, err = store.Open(ctx, dbURL); err != nil {
			t.Fatalf("testenv: open the test database at %s: %v", dbURL, err)
		}
		t.Cleanup(st.Close)
	}
	srv := on.Temporal
	if srv == nil {
		srv = Temporal(t)
	}
	c := Client(t, srv, opts.Codec)
	s := &Stack{T: t, Store: st, DBURL: dbURL, Temporal: c, Mailpit: StartMailpitWith(t, opts.Mailpit),
		TaskQueue: "expectct-test-" + randomHex(6), Rules: FastRules(), OIDC: on.OIDC, checkpoints: opts.Checkpoints,
		webhooks: withFastWebhooks(opts.Webhooks)}
	if s.OIDC == nil {
		s.OIDC = OIDC(t)
	}
	verifier := on.Verifier
	if verifier == nil {
		verifier = identity.NewVerifier(s.OIDC.Issuer(), []string{ClientID})
	}
	if opts.Rules != nil {
		s.Rules = *opts.Rules
	}
	if !opts.NoWorker {
		s.Worker = s.StartWorker()
	}
	s.Server = &api.Server{Temporal: c, Codec: opts.Codec, CodecOrigins: []string{TemporalUIOrigin}, Store: st, Rules: s.Rules,
		Verifier: verifier, SignIn: identity.SignIn{Issuer: s.OIDC.Issuer(), ClientID: ClientID}, TaskQueue: s.TaskQueue,
		UpdateTimeout: 20 * time.Second, DirectoryFallback: 2 * time.Minute, RateLimits: opts.RateLimits, Log: opts.Log,
		Letters: &letters.Source{Store: st, PublicURL: PublicURL}}
	if s.Server.Log == nil {
		s.Server.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Checkpoints != nil {
		keys, err := checkpoint.ParsePublicKeys(opts.Checkpoints.Public())
		if err != nil {
			t.Fatal(err)
		}
		s.Server.CheckpointKeys = keys
	}
	s.API = httptest.NewServer(s.Server.Handler())
	t.Cleanup(s.API.Close)
	return s
}

// withFastWebhooks fills the zero fields of a test's webhook timings from
// FastWebhooks.
func withFastWebhooks(w webhooks.Settings) webhooks.Settings {
	f := FastWebhooks
	for _, p := range []struct{ v, def *time.Duration }{{&w.RetryFor, &f.RetryFor}, {&w.Backoff, &f.Backoff},
		{&w.MaxBackoff, &f.MaxBackoff}, {&w.IdleWait, &f.IdleWait}, {&w.Poll, &f.Poll}, {&w.Timeout, &f.Timeout}} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	return w
}
