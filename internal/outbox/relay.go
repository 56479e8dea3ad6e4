// Package outbox delivers the e-mails that transitions queue in the outbox
// table. It runs in every worker process, outside the workflow: a slow or
// stopped mail server delays e-mails, never the recording of later steps.
//
// Delivery is at least once. Each row is claimed with FOR UPDATE SKIP LOCKED
// and a lease, so two relays never send the same row at once; but a relay
// that dies after the mail server accepted a message and before the row is
// marked sent leaves the lease to expire, and the message is sent again with
// the same Message-ID (a receiver that deduplicates by Message-ID drops it).
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/store"
)

// Mailer delivers one e-mail; *mail.Sender is the real one.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Defaults of a Relay's settings.
const (
	DefaultPoll     = time.Second
	DefaultLease    = 2 * time.Minute
	DefaultBatch    = 20
	firstBackoff    = 5 * time.Second
	maxBackoff      = 5 * time.Minute
	errorPauseAfter = 5 * time.Second
)

// Relay sends the outbox's due e-mails until its context ends.
type Relay struct {
	Store  *store.Store
	Mailer Mailer
	Log    *slog.Logger
	// Poll is how often an idle relay looks for due e-mails.
	Poll time.Duration
	// Lease is how long a claimed row is reserved for this relay; it must
	// outlast one SMTP conversation.
	Lease time.Duration
	Batch int
	m     *relayMetrics
}

type relayMetrics struct {
	sent, retried, refused prometheus.Counter
}

// Register exposes the relay's counters on reg.
func (r *Relay) Register(reg prometheus.Registerer) {
	r.m = &relayMetrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "expectct_mail_sent_total", Help: "E-mails the mail server accepted.",
		}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "expectct_mail_retried_total", Help: "Delivery attempts that failed temporarily and will be retried.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "expectct_mail_refused_total", Help: "E-mails the mail server refused for good; listed by `expectct mail failed`.",
		}),
	}
	reg.MustRegister(r.m.sent, r.m.retried, r.m.refused)
}

// Run delivers due e-mails until ctx ends. A database outage pauses it;
// it never returns early.
func (r *Relay) Run(ctx context.Context) {
	poll := orDefault(r.Poll, DefaultPoll)
	for ctx.Err() == nil {
		n, err := r.RunOnce(ctx)
		wait := time.Duration(0)
		switch {
		case err != nil && ctx.Err() == nil:
			r.log().Warn("outbox relay paused", "error", err)
			wait = errorPauseAfter
		case n == 0:
			wait = poll
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
}

// RunOnce claims one batch of due e-mails and tries each; it returns how
// many it claimed.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	limit := r.Batch
	if limit <= 0 {
		limit = DefaultBatch
	}
	batch, err := r.Store.ClaimMail(ctx, orDefault(r.Lease, DefaultLease), limit)
	if err != nil {
		return 0, err
	}
	for _, m := range batch {
		if err := r.deliver(ctx, m); err != nil {
			return len(batch), err
		}
	}
	return len(batch), nil
}

// deliver sends one claimed row and records the outcome.
func (r *Relay) deliver(ctx context.Context, m store.OutboxMail) error {
	log := r.log().With("application_id", m.ApplicationID, "seq", m.Seq, "template", m.Template,
		"key", m.DedupKey, "attempt", m.Attempts)
	sendErr := r.Mailer.Send(ctx, mail.Message{Key: m.DedupKey, To: m.To, Cc: m.Cc,
		Rendered: mail.Rendered{Subject: m.Subject, Text: m.Text, HTML: m.HTML}})
	// The outcome is recorded even when ctx ends now: a sent e-mail left
	// unmarked would be sent again.
	mark, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case sendErr == nil:
		if err := r.Store.MarkSent(mark, m.ID); err != nil {
			return err
		}
		r.count(func(m *relayMetrics) prometheus.Counter { return m.sent })
		log.Info("e-mail sent", "message_id", m.MessageID)
	case mail.IsPermanent(sendErr):
		if err := r.Store.MarkRefused(mark, m.ID, sendErr); err != nil {
			return err
		}
		r.count(func(m *relayMetrics) prometheus.Counter { return m.refused })
		log.Error("e-mail refused for good by the mail server; listed by `expectct mail failed`", "error", sendErr)
	default:
		delay := Backoff(m.Attempts)
		if err := r.Store.MarkRetry(mark, m.ID, sendErr, delay); err != nil {
			return err
		}
		r.count(func(m *relayMetrics) prometheus.Counter { return m.retried })
		log.Warn("e-mail not delivered, will retry", "error", sendErr, "retry_in", delay)
		if errors.Is(sendErr, context.Canceled) {
			return sendErr
		}
	}
	return nil
}

// Backoff is the wait before the next attempt after the given number of
// failed attempts: doubling from 5 s, at most 5 minutes.
func Backoff(attempts int) time.Duration {
	d := firstBackoff
	for i := 1; i < attempts && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

func (r *Relay) count(pick func(*relayMetrics) prometheus.Counter) {
	if r.m != nil {
		pick(r.m).Inc()
	}
}

func (r *Relay) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log.With("component", "outbox")
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
