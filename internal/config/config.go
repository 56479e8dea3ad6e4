// Package config is the services' configuration: every address, port,
// credential and path, read from environment variables, which command-line
// flags override. The README's configuration table lists the same names.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/daect/expectct/internal/mail"
)

// Config is what the api, worker and dev services need.
type Config struct {
	DatabaseURL       string
	MigrateURL        string
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	// TemporalTLS* secure the connection to the Temporal frontend: see
	// TemporalTLS.
	TemporalTLSCA         string
	TemporalTLSCert       string
	TemporalTLSKey        string
	TemporalTLSServerName string
	// TemporalCompression is auto, gzip or none: see GrpcCompression.
	TemporalCompression string

	SMTPHost     string
	SMTPPort     int
	SMTPUsername string
	SMTPPassword string
	SMTPTLS      string
	MailFrom     string
	Secretariat  string
	MailPoll     time.Duration
	MailLease    time.Duration
	CodecKeys    string
	CodecCORS    string

	CheckpointKey        string
	CheckpointPublicKeys string
	CheckpointInterval   time.Duration

	// WebhookRetryFor is how long a failing webhook delivery is retried.
	WebhookRetryFor time.Duration

	Listen string
	// PublicURL is the API's address as the public reaches it: letters
	// print their verification address under it.
	PublicURL     string
	MetricsListen string
	// APIMetricsListen is the API's /metrics, apart from the public port.
	APIMetricsListen string
	OIDCIssuer       string
	OIDCAudiences    string
	OIDCClientID     string
	OIDCListen       string
	RulesFile        string
	MaxBodyBytes     int64
	UpdateTimeout    time.Duration
	// DirectoryFallback: see api.Server.
	DirectoryFallback time.Duration
	WorkflowCache     int
	LogLevel          string
	LogFormat         string
	DataDir           string
	TemporalUIPort    int
	MailUIListen      string

	RateAnonymous      float64
	RateAnonymousBurst int
	RateWrites         float64
	RateWritesBurst    int
	TrustedProxies     string

	errs []error // malformed environment values, reported by Check
}

// CheckSignIn refuses to serve the API without an OpenID issuer to trust:
// without one nobody can be identified. The issuer must be HTTPS, except on
// the loopback interface (a workstation's local provider).
func (c *Config) CheckSignIn() error {
	if c.OIDCIssuer == "" {
		return errors.New("EXPECTCT_OIDC_ISSUER is not set: the API identifies people through an OpenID Connect provider " +
			"(ProConnect in production, see docs/operations.md); `expectct dev` runs a local one")
	}
	u, err := url.Parse(c.OIDCIssuer)
	if err != nil || u.Host == "" {
		return fmt.Errorf("EXPECTCT_OIDC_ISSUER=%q: an https:// URL expected", c.OIDCIssuer)
	}
	if u.Scheme != "https" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("EXPECTCT_OIDC_ISSUER=%q: tokens are only trusted from an https:// issuer (plain http only on 127.0.0.1)", c.OIDCIssuer)
	}
	if len(c.Audiences()) == 0 {
		return errors.New("EXPECTCT_OIDC_AUDIENCES is empty: name the client IDs whose tokens the API accepts")
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// Audiences are the client IDs a token may be addressed to.
func (c *Config) Audiences() []string { return commaList(c.OIDCAudiences) }

// CodecOrigins are the browser origins allowed to call the codec endpoint.
func (c *Config) CodecOrigins() []string { return commaList(c.CodecCORS) }

func commaList(s string) []string {
	var list []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			list = append(list, a)
		}
	}
	return list
}

// Var is one configuration variable, for the flags and the README table.
type Var struct {
	Env, Flag, Default, Help string
	target                   any
}

// Vars binds each setting to its environment variable and flag.
func (c *Config) Vars() []Var {
	return []Var{
		{"DATABASE_URL", "database-url", "postgres://postgres@127.0.0.1:5432/expectct?sslmode=disable", "PostgreSQL URL of expectct's database (created if missing by migrate/dev)", &c.DatabaseURL},
		{"EXPECTCT_MIGRATE_DATABASE_URL", "migrate-database-url", "", "migrate/dev: PostgreSQL URL of the role that owns the tables and runs the migrations; DATABASE_URL's role is then made a member of expectct_app, which may only read and append to the journals. Empty: DATABASE_URL's role owns the tables (workstations only: nothing keeps it from rewriting the journal)", &c.MigrateURL},
		{"TEMPORAL_ADDRESS", "temporal-address", "127.0.0.1:7233", "Temporal frontend host:port", &c.TemporalAddress},
		{"TEMPORAL_NAMESPACE", "temporal-namespace", "default", "Temporal namespace", &c.TemporalNamespace},
		{"TEMPORAL_TLS_CA", "temporal-tls-ca", "", "PEM file of the CA that signed the Temporal frontend's certificate (set: the connection uses TLS)", &c.TemporalTLSCA},
		{"TEMPORAL_TLS_CERT", "temporal-tls-cert", "", "PEM client certificate for mutual TLS with the Temporal frontend (with TEMPORAL_TLS_KEY)", &c.TemporalTLSCert},
		{"TEMPORAL_TLS_KEY", "temporal-tls-key", "", "PEM private key of TEMPORAL_TLS_CERT", &c.TemporalTLSKey},
		{"TEMPORAL_TLS_SERVER_NAME", "temporal-tls-server-name", "", "name expected in the frontend's certificate (default: the host of TEMPORAL_ADDRESS)", &c.TemporalTLSServerName},
		{"TEMPORAL_GRPC_COMPRESSION", "temporal-grpc-compression", "auto", "gzip or none on the connection to Temporal; auto: none when EXPECTCT_CODEC_KEYS is set (sealed payloads are deflated already and ciphertext does not compress), gzip otherwise", &c.TemporalCompression},
		{"EXPECTCT_TASK_QUEUE", "task-queue", "expectct", "Temporal task queue of the application workflows", &c.TaskQueue},
		{"SMTP_HOST", "smtp-host", "127.0.0.1", "SMTP server host", &c.SMTPHost},
		{"SMTP_PORT", "smtp-port", "1025", "SMTP server port", &c.SMTPPort},
		{"SMTP_USERNAME", "smtp-username", "", "SMTP user (empty: no authentication)", &c.SMTPUsername},
		{"SMTP_PASSWORD", "smtp-password", "", "SMTP password", &c.SMTPPassword},
		{"SMTP_TLS", "smtp-tls", "none", "SMTP transport security: none, starttls or tls", &c.SMTPTLS},
		{"MAIL_FROM", "mail-from", "EXPE-CT DAECT <expe-ct.noreply@diplomatie.gouv.fr>", "From address of every e-mail", &c.MailFrom},
		{"EXPECTCT_MAIL_POLL", "mail-poll", "1s", "worker: how often the outbox relay looks for e-mails to send when idle", &c.MailPoll},
		{"EXPECTCT_MAIL_LEASE", "mail-lease", "2m", "worker: how long the outbox relay reserves an e-mail it is sending; a relay that dies leaves it to another after this (longer than an SMTP conversation)", &c.MailLease},
		{"DAECT_SECRETARIAT_EMAIL", "secretariat-email", "secretariat.dgm-aect@diplomatie.gouv.fr", "DAECT secretariat's address (notices, reminders)", &c.Secretariat},
		{"EXPECTCT_LISTEN", "listen", "127.0.0.1:8080", "HTTP API listen address", &c.Listen},
		{"EXPECTCT_PUBLIC_URL", "public-url", "http://127.0.0.1:8080", "the API's address as the public reaches it (https:// in production): the letters print their verification address, <this>/v1/letters/verify/<code>, under it; a letter rendered again after a change prints the new one", &c.PublicURL},
		{"EXPECTCT_METRICS_LISTEN", "metrics-listen", "127.0.0.1:9090", "worker's /metrics and /healthz listen address", &c.MetricsListen},
		{"EXPECTCT_API_METRICS_LISTEN", "api-metrics-listen", "127.0.0.1:9091", "API's /metrics listen address, apart from the public API port", &c.APIMetricsListen},
		{"EXPECTCT_OIDC_ISSUER", "oidc-issuer", "", "OpenID Connect issuer whose tokens identify people and service accounts (ProConnect in production; `expectct dev` runs a local one)", &c.OIDCIssuer},
		{"EXPECTCT_OIDC_AUDIENCES", "oidc-audiences", "expectct", "client IDs a token may be addressed to (comma-separated): expectct's web and CLI clients, the service accounts' audience", &c.OIDCAudiences},
		{"EXPECTCT_OIDC_CLIENT_ID", "oidc-client-id", "expectct", "public client ID the CLI signs in with (`expectct login`)", &c.OIDCClientID},
		{"EXPECTCT_OIDC_LISTEN", "oidc-listen", "127.0.0.1:9998", "dev: where the local OpenID provider listens", &c.OIDCListen},
		{"EXPECTCT_CODEC_KEYS", "codec-keys", "", "keys sealing every Temporal payload (AES-256-GCM): id=base64 of 32 bytes, comma-separated, the first current; empty: payloads in clear (workstations only)", &c.CodecKeys},
		{"EXPECTCT_CHECKPOINT_KEY", "checkpoint-key", "", "worker: base64 Ed25519 seed signing the checkpoints of every chain (`expectct checkpoint-key` makes one); empty: no checkpoints are taken", &c.CheckpointKey},
		{"EXPECTCT_CHECKPOINT_PUBLIC_KEYS", "checkpoint-public-keys", "", "api: base64 Ed25519 public keys audit verify checks checkpoints with, comma-separated (the current key's and the older ones' during a rotation)", &c.CheckpointPublicKeys},
		{"EXPECTCT_CHECKPOINT_INTERVAL", "checkpoint-interval", "1h", "worker: how often the heads of every chain are signed (a Temporal schedule; nothing is stored when no chain moved)", &c.CheckpointInterval},
		{"EXPECTCT_WEBHOOK_RETRY_FOR", "webhook-retry-for", "72h", "worker: how long a webhook delivery the receiver refuses (or that cannot reach it) is retried, with backoff up to 10 minutes, before it is given up and the subscriber's next events go out", &c.WebhookRetryFor},
		{"EXPECTCT_CODEC_CORS_ORIGINS", "codec-cors-origins", "", "api: Temporal Web UI origins (scheme://host:port, comma-separated) allowed to call the codec endpoint /v1/codec/decode from a browser", &c.CodecCORS},
		{"EXPECTCT_RULES_FILE", "rules-file", "", "programme rules YAML (empty: the embedded defaults)", &c.RulesFile},
		{"EXPECTCT_MAX_BODY_BYTES", "max-body-bytes", "1048576", "largest request body the API reads", &c.MaxBodyBytes},
		{"EXPECTCT_DIRECTORY_FALLBACK", "directory-fallback", "2m", "api: while PostgreSQL is unreachable, people seen within this time keep the roles last read (0: refuse with 503)", &c.DirectoryFallback},
		{"EXPECTCT_RATE_ANONYMOUS", "rate-anonymous", "10", "API: requests per second one client address may send without a valid token (0: no limit)", &c.RateAnonymous},
		{"EXPECTCT_RATE_ANONYMOUS_BURST", "rate-anonymous-burst", "50", "API: how many such requests an address may send at once", &c.RateAnonymousBurst},
		{"EXPECTCT_RATE_WRITES", "rate-writes", "2", "API: writes per second one person may send: submissions, steps, grants, embassy contacts (0: no limit)", &c.RateWrites},
		{"EXPECTCT_RATE_WRITES_BURST", "rate-writes-burst", "20", "API: how many writes a person may send at once", &c.RateWritesBurst},
		{"EXPECTCT_TRUSTED_PROXIES", "trusted-proxies", "", "API: reverse proxies (comma-separated CIDRs or addresses) whose X-Forwarded-For gives the client's address; empty: the TCP peer is the client", &c.TrustedProxies},
		{"EXPECTCT_UPDATE_TIMEOUT", "update-timeout", "30s", "how long the API waits for a human step to be recorded", &c.UpdateTimeout},
		{"EXPECTCT_WORKFLOW_CACHE", "workflow-cache", "2000", "worker: workflows kept in memory between tasks; the others are replayed from history when they wake (bounds memory)", &c.WorkflowCache},
		{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error", &c.LogLevel},
		{"LOG_FORMAT", "log-format", "json", "json or text", &c.LogFormat},
		{"EXPECTCT_DATA_DIR", "data-dir", ".data", "dev: where the Temporal and Mailpit state files live", &c.DataDir},
		{"TEMPORAL_UI_PORT", "temporal-ui-port", "8233", "dev: Temporal Web UI port", &c.TemporalUIPort},
		{"MAILPIT_UI_LISTEN", "mail-ui-listen", "127.0.0.1:8025", "dev: Mailpit web UI and API address", &c.MailUIListen},
	}
}

// Bind registers the flags, defaulting each to its environment variable.
func (c *Config) Bind(fs *pflag.FlagSet) {
	for _, v := range c.Vars() {
		def := v.Default
		if e, ok := os.LookupEnv(v.Env); ok {
			def = e
		}
		help := fmt.Sprintf("%s (env %s)", v.Help, v.Env)
		switch p := v.target.(type) {
		case *string:
			fs.StringVar(p, v.Flag, def, help)
		case *int:
			n, _ := strconv.Atoi(def)
			fs.IntVar(p, v.Flag, n, help)
			if _, err := strconv.Atoi(def); err != nil {
				c.deferErr(fmt.Errorf("%s=%q: not an integer", v.Env, def))
			}
		case *int64:
			n, err := strconv.ParseInt(def, 10, 64)
			if err != nil {
				c.deferErr(fmt.Errorf("%s=%q: not an integer", v.Env, def))
			}
			fs.Int64Var(p, v.Flag, n, help)
		case *float64:
			f, err := strconv.ParseFloat(def, 64)
			if err != nil {
				c.deferErr(fmt.Errorf("%s=%q: not a number", v.Env, def))
			}
			fs.Float64Var(p, v.Flag, f, help)
		case *time.Duration:
			d, err := time.ParseDuration(def)
			if err != nil {
				c.deferErr(fmt.Errorf("%s=%q: not a duration such as 30s", v.Env, def))
			}
			fs.DurationVar(p, v.Flag, d, help)
		}
	}
}

func (c *Config) deferErr(err error) { c.errs = append(c.errs, err) }

// Check reports a malformed environment variable or value.
func (c *Config) Check() error {
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	switch c.SMTPTLS {
	case mail.TLSNone, mail.TLSStartTLS, mail.TLSImplicit:
	default:
		return fmt.Errorf("SMTP_TLS=%q: none, starttls or tls", c.SMTPTLS)
	}
	for _, r := range []struct {
		env   string
		rate  float64
		burst int
	}{{"EXPECTCT_RATE_ANONYMOUS", c.RateAnonymous, c.RateAnonymousBurst}, {"EXPECTCT_RATE_WRITES", c.RateWrites, c.RateWritesBurst}} {
		if r.rate < 0 || r.burst < 0 {
			return fmt.Errorf("%s=%v, burst %d: zero (no limit) or more expected", r.env, r.rate, r.burst)
		}
		if r.rate > 0 && r.burst < 1 {
			return fmt.Errorf("%s_BURST=%d: at least 1 when %s is set", r.env, r.burst, r.env)
		}
	}
	if c.WebhookRetryFor <= 0 {
		return fmt.Errorf("EXPECTCT_WEBHOOK_RETRY_FOR=%s: a positive duration expected", c.WebhookRetryFor)
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		return fmt.Errorf("EXPECTCT_TRUSTED_PROXIES: %w", err)
	}
	return nil
}

// TrustedProxyPrefixes reads EXPECTCT_TRUSTED_PROXIES: CIDRs or single
// addresses, comma-separated.
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(c.TrustedProxies, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if a, aerr := netip.ParseAddr(item); aerr == nil {
			p, err = a.Prefix(a.BitLen())
		}
		if err != nil {
			return nil, fmt.Errorf("%q: an address or a CIDR expected", item)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// SMTP is the mail server configuration.
func (c *Config) SMTP() mail.SMTPConfig {
	return mail.SMTPConfig{Host: c.SMTPHost, Port: c.SMTPPort, Username: c.SMTPUsername,
		Password: c.SMTPPassword, TLS: c.SMTPTLS, From: c.MailFrom,
		// Short enough that one activity delivering two e-mails stays well
		// inside its 30 s start-to-close timeout.
		Timeout: 10 * time.Second}
}

// Logger builds the process logger: JSON by default, for log collectors.
func (c *Config) Logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.LogFormat, "text") {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
