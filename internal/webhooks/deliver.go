package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/daect/expectct/internal/store"
)

// Settings are the deliverers' timings. The workflow reads them from the
// worker at each round, so a worker started with new ones applies them from
// the next round.
type Settings struct {
	// RetryFor is how long a failing delivery is retried, from its first
	// attempt; then it is given up and the subscriber's cursor moves on.
	RetryFor time.Duration `json:"retry_for"`
	// Backoff is the wait after a first failure, doubled after each next
	// up to MaxBackoff.
	Backoff    time.Duration `json:"backoff"`
	MaxBackoff time.Duration `json:"max_backoff"`
	// IdleWait is how long a delivery round lasts, looking for new journal
	// rows every Poll while none are pending.
	IdleWait time.Duration `json:"idle_wait"`
	Poll     time.Duration `json:"poll"`
	// Timeout bounds one POST, answer included.
	Timeout time.Duration `json:"timeout"`
}

// DefaultSettings are the production timings: a receiver down for hours
// is retried every ten minutes at most, and gets everything once back.
var DefaultSettings = Settings{RetryFor: 72 * time.Hour, Backoff: 5 * time.Second, MaxBackoff: 10 * time.Minute,
	IdleWait: time.Minute, Poll: time.Second, Timeout: 10 * time.Second}

// withDefaults fills the zero fields from DefaultSettings.
func (s Settings) withDefaults() Settings {
	d := DefaultSettings
	for _, f := range []struct{ v, def *time.Duration }{{&s.RetryFor, &d.RetryFor}, {&s.Backoff, &d.Backoff},
		{&s.MaxBackoff, &d.MaxBackoff}, {&s.IdleWait, &d.IdleWait}, {&s.Poll, &d.Poll}, {&s.Timeout, &d.Timeout}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	s.MaxBackoff = max(s.MaxBackoff, s.Backoff)
	return s
}

// Activities deliver webhooks; the worker registers them next to the
// application's.
type Activities struct {
	Store    *store.Store
	Settings Settings
	// HTTP posts the messages; nil means a client that follows no redirect.
	HTTP *http.Client
	Log  *slog.Logger
	// Outcomes counts the attempts by outcome (OutcomeCounter); nil counts
	// nothing.
	Outcomes *prometheus.CounterVec
}

// OutcomeCounter registers on reg the counter of delivery attempts by
// outcome: delivered, failed, given_up.
func OutcomeCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "expectct_webhook_deliveries_total",
		Help: "Webhook delivery attempts by outcome: delivered, failed (retried with backoff), given_up (EXPECTCT_WEBHOOK_RETRY_FOR spent).",
	}, []string{"outcome"})
	reg.MustRegister(c)
	return c
}

func (a *Activities) count(outcome string) {
	if a.Outcomes != nil {
		a.Outcomes.WithLabelValues(outcome).Inc()
	}
}

// Round is what one delivery round did.
type Round struct {
	Delivered int `json:"delivered"`
	Skipped   int `json:"skipped"`
	GivenUp   int `json:"given_up"`
	// Disabled is set when the subscription was removed: its workflow ends.
	Disabled bool `json:"disabled"`
}

// Error types of DeliverWebhooks.
const (
	ErrUnknownSubscription = "UnknownWebhookSubscription"
	ErrDeliveryFailed      = "WebhookDeliveryFailed"
	ErrDelivererBusy       = "WebhookDelivererBusy"
)

// Activity names, as the workflow calls them.
const (
	activitySettings = "WebhookSettings"
	activityDeliver  = "DeliverWebhooks"
)

// WebhookSettings returns the worker's timings.
func (a *Activities) WebhookSettings(context.Context) (Settings, error) {
	return a.Settings.withDefaults(), nil
}

// DeliverWebhooks delivers to a subscriber the journal rows it has not been
// through, oldest first in each application, and records each attempt. A
// failed POST stops that application's deliveries (their order holds) while
// the others go on, then fails the round: Temporal retries it with backoff.
// While nothing is pending it looks again every Poll, heartbeating, until
// IdleWait has passed.
func (a *Activities) DeliverWebhooks(ctx context.Context, subscriptionID string) (Round, error) {
	set := a.Settings.withDefaults()
	var round Round
	sub, err := a.Store.Webhook(ctx, subscriptionID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return round, temporal.NewNonRetryableApplicationError("no webhook subscription "+subscriptionID, ErrUnknownSubscription, err)
	case err != nil:
		return round, err
	case sub.DisabledAt != nil:
		round.Disabled = true
		return round, nil
	}
	secret, err := a.Store.WebhookSecret(ctx, subscriptionID)
	if err != nil {
		return round, err
	}
	// The lease runs to this round's deadline, past which Temporal's own
	// timeout has cancelled it: a retry started meanwhile (a heartbeat
	// missed) waits rather than post alongside it.
	info := activity.GetInfo(ctx)
	token := fmt.Sprintf("%s/%s/%d", info.WorkflowExecution.RunID, info.ActivityID, info.Attempt)
	ok, err := a.Store.LeaseWebhook(ctx, subscriptionID, token, time.Until(info.Deadline)+time.Second)
	if err != nil {
		return round, err
	}
	if !ok {
		return round, temporal.NewApplicationError("another delivery round is posting to "+subscriptionID, ErrDelivererBusy)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := a.Store.ReleaseWebhook(ctx, subscriptionID, token); err != nil {
			a.log().Warn("webhook lease not released; it runs out at the round's deadline", "subscription", subscriptionID, "error", err)
		}
	}()
	d := &deliverer{a: a, set: set, sub: sub, secret: secret, until: time.Now().Add(set.IdleWait), round: &round}
	for {
		progress, failing, err := d.pass(ctx)
		if err != nil {
			return round, err
		}
		if len(failing) > 0 {
			return round, temporal.NewApplicationError(fmt.Sprintf("%s: delivery failing for %s", subscriptionID, strings.Join(failing, "; ")), ErrDeliveryFailed)
		}
		if time.Now().After(d.until) {
			return round, nil
		}
		if progress {
			continue
		}
		activity.RecordHeartbeat(ctx, round)
		select {
		case <-ctx.Done():
			return round, ctx.Err()
		case <-time.After(set.Poll):
		}
		// A removal ends the round at once rather than at its end.
		if sub, err := a.Store.Webhook(ctx, subscriptionID); err != nil {
			return round, err
		} else if sub.DisabledAt != nil {
			round.Disabled = true
			return round, nil
		}
	}
}

// deliverer is one round's work for one subscriber.
type deliverer struct {
	a      *Activities
	set    Settings
	sub    store.WebhookSubscription
	secret string
	until  time.Time
	round  *Round
}

// backlogPage bounds what one pass reads.
const backlogPage = 100

// pass goes once through the applications with rows pending. progress
// tells whether a cursor moved; failing names the applications whose next
// row could not be delivered.
func (d *deliverer) pass(ctx context.Context) (progress bool, failing []string, err error) {
	backlogs, err := d.a.Store.WebhookBacklogs(ctx, d.sub.ID, d.sub.CreatedAt, backlogPage)
	if err != nil {
		return false, nil, err
	}
	for _, b := range backlogs {
		rows, err := d.a.Store.JournalAfter(ctx, b.ApplicationID, b.DeliveredSeq, d.sub.CreatedAt, backlogPage)
		if err != nil {
			return progress, failing, err
		}
		for _, e := range rows {
			if time.Now().After(d.until) {
				break
			}
			ok, why, err := d.deliver(ctx, e)
			if err != nil {
				return progress, failing, err
			}
			activity.RecordHeartbeat(ctx, *d.round)
			if !ok {
				failing = append(failing, fmt.Sprintf("%s seq %d (%s)", e.ApplicationID, e.Seq, why))
				break
			}
			if err := d.a.Store.AdvanceWebhookCursor(ctx, d.sub.ID, e.ApplicationID, e.Seq); err != nil {
				return progress, failing, err
			}
			progress = true
		}
		if time.Now().After(d.until) || ctx.Err() != nil {
			break
		}
	}
	return progress, failing, ctx.Err()
}

// deliver posts one journal row, or skips it (an event not subscribed to)
// or gives it up (retried for RetryFor already). done tells whether the
// cursor may move past it; why says what failed.
func (d *deliverer) deliver(ctx context.Context, e store.Entry) (done bool, why string, err error) {
	if !Wants(d.sub.Events, e.EventType) {
		d.round.Skipped++
		return true, "", nil
	}
	n, first, err := d.a.Store.WebhookAttempts(ctx, d.sub.ID, e.ApplicationID, e.Seq)
	if err != nil {
		return false, "", err
	}
	now := time.Now()
	rec := store.WebhookDelivery{SubscriptionID: d.sub.ID, ApplicationID: e.ApplicationID, Seq: e.Seq, EventType: e.EventType,
		MessageID: MessageID(e.ApplicationID, e.Seq), Attempt: n + 1, AttemptedAt: now}
	if n > 0 && now.Sub(first) >= d.set.RetryFor {
		rec.Outcome = store.WebhookGivenUp
		rec.Error = fmt.Sprintf("given up after %d attempts since %s (EXPECTCT_WEBHOOK_RETRY_FOR=%s)", n, first.Format(time.RFC3339), d.set.RetryFor)
		if err := d.a.Store.RecordWebhookDelivery(ctx, rec); err != nil {
			return false, "", err
		}
		d.round.GivenUp++
		d.a.count(rec.Outcome)
		d.a.log().Warn("webhook delivery given up", "subscription", d.sub.ID, "application_id", e.ApplicationID, "seq", e.Seq, "attempts", n)
		return true, "", nil
	}
	status, failure := d.post(ctx, e, rec.MessageID, now)
	rec.DurationMS = int(time.Since(now).Milliseconds())
	rec.HTTPStatus = status
	rec.Outcome = store.WebhookDelivered
	if failure != "" {
		rec.Outcome, rec.Error = store.WebhookFailed, failure
	}
	// The receiver may have taken a message whose attempt is not recorded:
	// it will get it again with the same webhook-id (at least once).
	if err := d.a.Store.RecordWebhookDelivery(ctx, rec); err != nil {
		return false, "", err
	}
	d.a.count(rec.Outcome)
	if failure != "" {
		d.a.log().Info("webhook delivery failed", "subscription", d.sub.ID, "application_id", e.ApplicationID, "seq", e.Seq,
			"attempt", rec.Attempt, "status", status, "error", failure)
		return false, failure, nil
	}
	d.round.Delivered++
	return true, "", nil
}

// post sends one message; failure is empty when the receiver answered 2xx.
func (d *deliverer) post(ctx context.Context, e store.Entry, id string, now time.Time) (status int, failure string) {
	body, err := Body(e)
	if err != nil {
		return 0, err.Error()
	}
	sig, err := Sign(d.secret, id, now, body)
	if err != nil {
		return 0, err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, d.set.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.sub.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "expectct-webhooks")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(HeaderSignature, sig)
	resp, err := d.a.client().Do(req)
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// Without the URL, which auditors reading the deliveries need not
		// see (it may carry the receiver's own token).
		return 0, uerr.Err.Error()
	}
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, strings.TrimSpace(fmt.Sprintf("HTTP %s %s", resp.Status, strings.ToValidUTF8(string(answer), "")))
	}
	return resp.StatusCode, ""
}

// noRedirects is the default client: a redirection would send the signed
// event to an address nobody subscribed, so a 3xx counts as a failure.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (a *Activities) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return noRedirects
}

func (a *Activities) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}
