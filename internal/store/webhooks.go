package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// WebhookSubscription is a system that receives the changes of state of
// every application, signed with its secret. The secret is read only by
// WebhookSecret: listings never carry it.
type WebhookSubscription struct {
	ID          string     `json:"id"`
	URL         string     `json:"url"`
	Events      []string   `json:"events"`
	Description string     `json:"description,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	CreatedBy   string     `json:"created_by"`
	DisabledAt  *time.Time `json:"disabled_at,omitempty"`
	DisabledBy  string     `json:"disabled_by,omitempty"`
}

// Webhook delivery outcomes.
const (
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
	WebhookGivenUp   = "given_up"
)

// WebhookDelivery is one attempt to deliver one journal row to one
// subscriber.
type WebhookDelivery struct {
	ID             int64     `json:"id"`
	SubscriptionID string    `json:"subscription_id"`
	ApplicationID  string    `json:"application_id"`
	Seq            int       `json:"seq"`
	EventType      string    `json:"event_type"`
	MessageID      string    `json:"message_id"`
	Attempt        int       `json:"attempt"`
	AttemptedAt    time.Time `json:"attempted_at"`
	Outcome        string    `json:"outcome"`
	HTTPStatus     int       `json:"http_status,omitempty"`
	Error          string    `json:"error,omitempty"`
	DurationMS     int       `json:"duration_ms"`
}

const webhookColumns = `id, url, events, description, created_at, created_by, disabled_at, COALESCE(disabled_by, '')`

func scanWebhook(r pgx.CollectableRow) (WebhookSubscription, error) {
	var w WebhookSubscription
	err := r.Scan(&w.ID, &w.URL, &w.Events, &w.Description, &w.CreatedAt, &w.CreatedBy, &w.DisabledAt, &w.DisabledBy)
	w.CreatedAt = w.CreatedAt.UTC()
	if w.DisabledAt != nil {
		at := w.DisabledAt.UTC()
		w.DisabledAt = &at
	}
	if w.Events == nil {
		w.Events = []string{}
	}
	return w, err
}

// CreateWebhook stores a new subscription with its secret; its creation
// time, the database's, is from when it receives events.
func (s *Store) CreateWebhook(ctx context.Context, w WebhookSubscription, secret string) (WebhookSubscription, error) {
	rows, err := s.Pool.Query(ctx, `INSERT INTO webhook_subscriptions (id, url, events, description, secret, created_at, created_by)
		VALUES ($1, $2, $3, $4, $5, now(), $6) RETURNING `+webhookColumns,
		w.ID, w.URL, nonNil(w.Events), w.Description, secret, w.CreatedBy)
	if err != nil {
		return WebhookSubscription{}, unavailable(err)
	}
	created, err := pgx.CollectExactlyOneRow(rows, scanWebhook)
	return created, unavailable(err)
}

// Webhooks lists the subscriptions, enabled or not, oldest first.
func (s *Store) Webhooks(ctx context.Context, enabledOnly bool) ([]WebhookSubscription, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhook_subscriptions
		WHERE NOT $1 OR disabled_at IS NULL ORDER BY created_at, id`, enabledOnly)
	if err != nil {
		return nil, unavailable(err)
	}
	list, err := pgx.CollectRows(rows, scanWebhook)
	return list, unavailable(err)
}

// Webhook returns one subscription, or ErrNotFound.
func (s *Store) Webhook(ctx context.Context, id string) (WebhookSubscription, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhook_subscriptions WHERE id = $1`, id)
	if err != nil {
		return WebhookSubscription{}, unavailable(err)
	}
	w, err := pgx.CollectExactlyOneRow(rows, scanWebhook)
	if errors.Is(err, pgx.ErrNoRows) {
		return WebhookSubscription{}, ErrNotFound
	}
	return w, unavailable(err)
}

// WebhookSecret returns a subscription's signing secret, for the deliverer.
func (s *Store) WebhookSecret(ctx context.Context, id string) (string, error) {
	var secret string
	err := s.Pool.QueryRow(ctx, `SELECT secret FROM webhook_subscriptions WHERE id = $1`, id).Scan(&secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return secret, unavailable(err)
}

// DisableWebhook stops a subscription and keeps it with its deliveries;
// ErrNotFound when there is no such subscription. Disabling one already
// disabled changes nothing and returns it as it was.
func (s *Store) DisableWebhook(ctx context.Context, id, by string) (WebhookSubscription, error) {
	if _, err := s.Pool.Exec(ctx, `UPDATE webhook_subscriptions SET disabled_at = now(), disabled_by = $2
		WHERE id = $1 AND disabled_at IS NULL`, id, by); err != nil {
		return WebhookSubscription{}, unavailable(err)
	}
	return s.Webhook(ctx, id)
}

// WebhookBacklog is one application with journal rows a subscriber has not
// been through yet: those after DeliveredSeq.
type WebhookBacklog struct {
	ApplicationID string
	DeliveredSeq  int
}

// WebhookBacklogs lists up to limit applications with journal rows after
// the subscriber's cursor, among the rows recorded from since on, the
// applications that moved least recently first. It reads the read model's
// last_seq, written in the transaction of each journal row: an application
// is listed as soon as its row is committed, whatever the order in which
// other applications' rows commit.
func (s *Store) WebhookBacklogs(ctx context.Context, subscriptionID string, since time.Time, limit int) ([]WebhookBacklog, error) {
	rows, err := s.Pool.Query(ctx, `SELECT a.id, COALESCE(c.delivered_seq, 0) FROM applications a
		LEFT JOIN webhook_cursors c ON c.subscription_id = $1 AND c.application_id = a.id
		WHERE a.last_seq > COALESCE(c.delivered_seq, 0) AND a.updated_at >= $2
		ORDER BY a.updated_at, a.id LIMIT $3`, subscriptionID, since, limit)
	if err != nil {
		return nil, unavailable(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WebhookBacklog, error) {
		var b WebhookBacklog
		return b, r.Scan(&b.ApplicationID, &b.DeliveredSeq)
	})
	return list, unavailable(err)
}

// JournalAfter returns up to limit journal rows of an application after
// seq, recorded from since on, in order.
func (s *Store) JournalAfter(ctx context.Context, applicationID string, seq int, since time.Time, limit int) ([]Entry, error) {
	rows, err := s.Pool.Query(ctx, `SELECT application_id, seq, event_type, status, actor_id, actor_role, occurred_at
		FROM journal WHERE application_id = $1 AND seq > $2 AND occurred_at >= $3 ORDER BY seq LIMIT $4`,
		applicationID, seq, since, limit)
	if err != nil {
		return nil, unavailable(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := r.Scan(&e.ApplicationID, &e.Seq, &e.EventType, &e.Status, &e.ActorID, &e.ActorRole, &e.OccurredAt)
		e.OccurredAt = e.OccurredAt.UTC()
		return e, err
	})
	return list, unavailable(err)
}

// AdvanceWebhookCursor records that a subscriber is through an
// application's journal up to seq. It never moves a cursor back.
func (s *Store) AdvanceWebhookCursor(ctx context.Context, subscriptionID, applicationID string, seq int) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO webhook_cursors (subscription_id, application_id, delivered_seq) VALUES ($1, $2, $3)
		ON CONFLICT (subscription_id, application_id) DO UPDATE SET delivered_seq = EXCLUDED.delivered_seq, updated_at = now()
		WHERE webhook_cursors.delivered_seq < EXCLUDED.delivered_seq`, subscriptionID, applicationID, seq)
	return unavailable(err)
}

// WebhookAttempts tells how many attempts a journal row's delivery to a
// subscriber had, and when the first was made (zero without any).
func (s *Store) WebhookAttempts(ctx context.Context, subscriptionID, applicationID string, seq int) (int, time.Time, error) {
	var n int
	var first *time.Time
	err := s.Pool.QueryRow(ctx, `SELECT count(*), min(attempted_at) FROM webhook_deliveries
		WHERE subscription_id = $1 AND application_id = $2 AND seq = $3`, subscriptionID, applicationID, seq).Scan(&n, &first)
	if err != nil || first == nil {
		return n, time.Time{}, unavailable(err)
	}
	return n, first.UTC(), nil
}

// RecordWebhookDelivery appends one attempt.
func (s *Store) RecordWebhookDelivery(ctx context.Context, d WebhookDelivery) error {
	var status *int
	if d.HTTPStatus != 0 {
		status = &d.HTTPStatus
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO webhook_deliveries (subscription_id, application_id, seq, event_type, message_id,
			attempt, attempted_at, outcome, http_status, error, duration_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.SubscriptionID, d.ApplicationID, d.Seq, d.EventType, d.MessageID, d.Attempt, d.AttemptedAt, d.Outcome, status,
		truncateText(d.Error, 1000), d.DurationMS)
	return unavailable(err)
}

// WebhookDeliveriesQuery picks a page of a subscriber's delivery attempts:
// the Limit newest among those older than the attempt of ID Before (0:
// from the newest), optionally of one application only.
type WebhookDeliveriesQuery struct {
	ApplicationID string
	Before        int64
	Limit         int
}

// WebhookDeliveries lists a page of a subscriber's delivery attempts,
// newest first, and the Before of the next, older page (0: none).
func (s *Store) WebhookDeliveries(ctx context.Context, subscriptionID string, q WebhookDeliveriesQuery) ([]WebhookDelivery, int64, error) {
	limit := max(q.Limit, 1)
	rows, err := s.Pool.Query(ctx, `SELECT id, subscription_id, application_id, seq, event_type, message_id, attempt, attempted_at,
			outcome, COALESCE(http_status, 0), error, duration_ms
		FROM webhook_deliveries
		WHERE subscription_id = $1 AND ($2 = '' OR application_id = $2) AND ($3 = 0 OR id < $3)
		ORDER BY id DESC LIMIT $4`, subscriptionID, q.ApplicationID, q.Before, limit+1)
	if err != nil {
		return nil, 0, unavailable(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WebhookDelivery, error) {
		var d WebhookDelivery
		err := r.Scan(&d.ID, &d.SubscriptionID, &d.ApplicationID, &d.Seq, &d.EventType, &d.MessageID, &d.Attempt,
			&d.AttemptedAt, &d.Outcome, &d.HTTPStatus, &d.Error, &d.DurationMS)
		d.AttemptedAt = d.AttemptedAt.UTC()
		return d, err
	})
	if err != nil {
		return nil, 0, unavailable(err)
	}
	var next int64
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	return list, next, nil
}

// LeaseWebhook lets one delivery round (token) post to a subscriber for
// the given time; ok is false while another round's lease runs. The same
// token renews its own lease.
func (s *Store) LeaseWebhook(ctx context.Context, subscriptionID, token string, d time.Duration) (ok bool, err error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE webhook_subscriptions SET lease_token = $2, lease_until = now() + make_interval(secs => $3)
		WHERE id = $1 AND (lease_until IS NULL OR lease_until < now() OR lease_token = $2)`, subscriptionID, token, d.Seconds())
	if err != nil {
		return false, unavailable(err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseWebhook ends a round's lease, if it still holds it.
func (s *Store) ReleaseWebhook(ctx context.Context, subscriptionID, token string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE webhook_subscriptions SET lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND lease_token = $2`, subscriptionID, token)
	return unavailable(err)
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // not in the middle of a UTF-8 sequence
		n--
	}
	return s[:n]
}
