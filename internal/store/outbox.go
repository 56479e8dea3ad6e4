package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// outboxColumns are read by every outbox query, in scanMail's order.
const outboxColumns = `id, dedup_key, application_id, seq, template, recipients, cc, subject, body_text, body_html,
	message_id, attempts, COALESCE(last_error, ''), sent_at, refused_at`

func scanMail(r pgx.CollectableRow) (OutboxMail, error) {
	var m OutboxMail
	err := r.Scan(&m.ID, &m.DedupKey, &m.ApplicationID, &m.Seq, &m.Template, &m.To, &m.Cc, &m.Subject, &m.Text, &m.HTML,
		&m.MessageID, &m.Attempts, &m.LastError, &m.SentAt, &m.RefusedAt)
	return m, err
}

// ClaimMail takes up to limit e-mails due for delivery and leases them for
// the given time: rows locked by another relay are skipped, and a leased row
// is not claimed again until its lease ends, so two relays never send the
// same row at once. A relay that dies mid-send leaves the lease to expire and
// the row is sent again: delivery is at least once.
func (s *Store) ClaimMail(ctx context.Context, lease time.Duration, limit int) ([]OutboxMail, error) {
	rows, err := s.Pool.Query(ctx, `UPDATE outbox SET lease_until = now() + make_interval(secs => $1), attempts = attempts + 1
		WHERE id IN (
			SELECT id FROM outbox
			WHERE sent_at IS NULL AND refused_at IS NULL AND next_attempt_at <= now()
			  AND (lease_until IS NULL OR lease_until < now())
			ORDER BY next_attempt_at, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED)
		RETURNING `+outboxColumns, lease.Seconds(), limit)
	if err != nil {
		return nil, unavailable(err)
	}
	mails, err := pgx.CollectRows(rows, scanMail)
	return mails, unavailable(err)
}

// MarkSent records a delivered e-mail.
func (s *Store) MarkSent(ctx context.Context, id int64) error {
	_, err := s.Pool.Exec(ctx, `UPDATE outbox SET sent_at = now(), lease_until = NULL, last_error = NULL WHERE id = $1`, id)
	return unavailable(err)
}

// MarkRetry records a temporary delivery failure; the row is due again after
// the delay.
func (s *Store) MarkRetry(ctx context.Context, id int64, cause error, after time.Duration) error {
	_, err := s.Pool.Exec(ctx, `UPDATE outbox SET lease_until = NULL, last_error = $2,
		next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1`, id, cause.Error(), after.Seconds())
	return unavailable(err)
}

// MarkRefused records a permanent refusal by the mail server: the row is
// never tried again and stays listed for operators (FailedMail).
func (s *Store) MarkRefused(ctx context.Context, id int64, cause error) error {
	_, err := s.Pool.Exec(ctx, `UPDATE outbox SET lease_until = NULL, last_error = $2, refused_at = now() WHERE id = $1`, id, cause.Error())
	return unavailable(err)
}

// FailedMail lists the e-mails the mail server refused for good, and those
// still being retried after at least minAttempts attempts, newest first.
func (s *Store) FailedMail(ctx context.Context, minAttempts, limit int) ([]OutboxMail, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE sent_at IS NULL AND (refused_at IS NOT NULL OR attempts >= $1)
		ORDER BY created_at DESC, id DESC LIMIT $2`, minAttempts, limit)
	if err != nil {
		return nil, unavailable(err)
	}
	mails, err := pgx.CollectRows(rows, scanMail)
	return mails, unavailable(err)
}

// MailOf lists the e-mails queued by one application, in queue order.
func (s *Store) MailOf(ctx context.Context, applicationID string) ([]OutboxMail, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE application_id = $1 ORDER BY id`, applicationID)
	if err != nil {
		return nil, unavailable(err)
	}
	mails, err := pgx.CollectRows(rows, scanMail)
	return mails, unavailable(err)
}

// OutboxCount counts queued e-mails; unsent only when pendingOnly.
func (s *Store) OutboxCount(ctx context.Context, pendingOnly bool) (int, error) {
	q := `SELECT count(*) FROM outbox`
	if pendingOnly {
		q += ` WHERE sent_at IS NULL`
	}
	var n int
	err := s.Pool.QueryRow(ctx, q).Scan(&n)
	return n, unavailable(err)
}
