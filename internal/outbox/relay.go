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
	"fmt"
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

// Letters renders the letter an e-mail carries, again from the journal,
// when it is sent (*letters.Source): the outbox keeps a reference, never
// the file.
type Letters interface {
	Attachment(ctx context.Context, applicationID string, seq int, kind string) (name string, pdf []byte, err error)
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
	// Letters renders the letters e-mails carry; an e-mail that carries one
	// waits, retried, while it is nil or fails.
	Letters Letters
	Log     *slog.Logger
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
// many it claimed. A row is only sent while this relay's lease on it lasts:
// each send must end a margin before the lease does, and the rows there is
// no time left for, or that ctx's end leaves untried, are given back.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	limit := r.Batch
	if limit <= 0 {
		limit = DefaultBatch
	}
	lease := orDefault(r.Lease, DefaultLease)
	// Measured on this clock from before the claim, so the database's clock
	// never matters.
	leaseEnds := time.Now().Add(lease - lease/4)
	batch, err := r.Store.ClaimMail(ctx, lease, limit)
	if err != nil {
		return 0, err
	}
	for i, m := range batch {
		if ctx.Err() != nil || time.Until(leaseEnds) < lease/4 {
			r.release(batch[i:])
			return len(batch), ctx.Err()
		}
		if err := r.deliver(ctx, m, leaseEnds); err != nil {
			r.release(batch[i+1:])
			return len(batch), err
		}
	}
	return len(batch), nil
}

// release gives back rows claimed but not tried.
func (r *Relay) release(rows []store.OutboxMail) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range rows {
		if _, err := r.Store.ReleaseMail(ctx, m); err != nil {
			r.log().Warn("could not give back a claimed e-mail; it is due again when its lease ends", "key", m.DedupKey, "error", err)
		}
	}
}

// deliver sends one claimed row, within the lease, and records the outcome.
// A send under way is finished even when ctx ends (a worker stopping): cut
// short, the e-mail could have left without being marked, and go again.
func (r *Relay) deliver(ctx context.Context, m store.OutboxMail, leaseEnds time.Time) error {
	log := r.log().With("application_id", m.ApplicationID, "seq", m.Seq, "template", m.Template,
		"key", m.DedupKey, "attempt", m.Attempts)
	sendCtx, cancelSend := context.WithDeadline(context.WithoutCancel(ctx), leaseEnds)
	msg := mail.Message{Key: m.DedupKey, To: m.To, Cc: m.Cc,
		Rendered: mail.Rendered{Subject: m.Subject, Text: m.Text, HTML: m.HTML}}
	sendErr := r.attach(sendCtx, m, &msg)
	if sendErr == nil {
		sendErr = r.Mailer.Send(sendCtx, msg)
	}
	cancelSend()
	mark, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var held bool
	var err error
	switch {
	case sendErr == nil:
		if held, err = r.Store.MarkSent(mark, m); err == nil && held {
			r.count(func(m *relayMetrics) prometheus.Counter { return m.sent })
			log.Info("e-mail sent", "message_id", m.MessageID)
		}
	case mail.IsPermanent(sendErr):
		if held, err = r.Store.MarkRefused(mark, m, sendErr); err == nil && held {
			r.count(func(m *relayMetrics) prometheus.Counter { return m.refused })
			log.Error("e-mail refused for good by the mail server; listed by `expectct mail failed`", "error", sendErr)
		}
	default:
		delay := Backoff(m.Attempts)
		if held, err = r.Store.MarkRetry(mark, m, sendErr, delay); err == nil && held {
			r.count(func(m *relayMetrics) prometheus.Counter { return m.retried })
			log.Warn("e-mail not delivered, will retry", "error", sendErr, "retry_in", delay)
		}
	}
	if err == nil && !held {
		log.Warn("lease on the e-mail lost before its outcome was recorded; another relay has it", "send_error", sendErr)
	}
	return err
}

// attach renders the letter the row carries. A failure is temporary, as
// the letter is rendered from the journal, which a retry finds again.
func (r *Relay) attach(ctx context.Context, m store.OutboxMail, msg *mail.Message) error {
	if m.Letter == "" {
		return nil
	}
	if r.Letters == nil {
		return fmt.Errorf("the e-mail carries the %s letter and this relay cannot render letters", m.Letter)
	}
	name, pdf, err := r.Letters.Attachment(ctx, m.ApplicationID, m.Seq, m.Letter)
	if err != nil {
		return fmt.Errorf("render the %s letter: %w", m.Letter, err)
	}
	msg.Attachments = append(msg.Attachments, mail.Attachment{Name: name, ContentType: "application/pdf", Data: pdf})
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
