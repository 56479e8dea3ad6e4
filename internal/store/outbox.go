package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// outboxColumns are read by every outbox query, in scanMail's order.
const outboxColumns = `id, dedup_key, application_id, seq, template, recipients, cc, subject, body_text, body_html,
	message_id, attempts, COALESCE(last_error, ''), sent_at, refused_at, lease_until, COALESCE(letter, '')`

func scanMail(r pgx.CollectableRow) (OutboxMail, error) {
	var m OutboxMail
	err := r.Scan(&m.ID, &m.DedupKey, &m.ApplicationID, &m.Seq, &m.Template, &m.To, &m.Cc, &m.Subject, &m.Text, &m.HTML,
		&m.MessageID, &m.Attempts, &m.LastError, &m.SentAt, &m.RefusedAt, &m.LeaseUntil, &m.Letter)
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

// The Mark functions record the outcome of a claimed row's delivery. Each
// takes the lease it was claimed with and changes the row only while that
// lease is the row's: a relay whose lease ran out leaves the row to the one
// that claimed it since. ok tells whether the row was still held.

// MarkSent records a delivered e-mail.
func (s *Store) MarkSent(ctx context.Context, m OutboxMail) (ok bool, err error) {
	return s.markClaimed(ctx, m, `sent_at = now(), lease_until = NULL, last_error = NULL`)
}

// MarkRetry records a temporary delivery failure; the row is due again after
// the delay.
func (s *Store) MarkRetry(ctx context.Context, m OutboxMail, cause error, after time.Duration) (ok bool, err error) {
	return s.markClaimed(ctx, m, `lease_until = NULL, last_error = $3, next_attempt_at = now() + make_interval(secs => $4)`,
		cause.Error(), after.Seconds())
}

// MarkRefused records a permanent refusal by the mail server: the row is
// never tried again and stays listed for operators (FailedMail).
func (s *Store) MarkRefused(ctx context.Context, m OutboxMail, cause error) (ok bool, err error) {
	return s.markClaimed(ctx, m, `lease_until = NULL, last_error = $3, refused_at = now()`, cause.Error())
}

// ReleaseMail gives back a claimed row that was not tried: it is due again
// at once, and the claim does not count as an attempt.
func (s *Store) ReleaseMail(ctx context.Context, m OutboxMail) (ok bool, err error) {
	return s.markClaimed(ctx, m, `lease_until = NULL, attempts = attempts - 1`)
}

func (s *Store) markClaimed(ctx context.Context, m OutboxMail, set string, args ...any) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE outbox SET `+set+` WHERE id = $1 AND lease_until = $2`,
		append([]any{m.ID, m.LeaseUntil}, args...)...)
	if err != nil {
		return false, unavailable(err)
	}
	return tag.RowsAffected() == 1, nil
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

// OutboxCount counts queued e-mails; only those still to send when
// pendingOnly (neither sent nor refused for good).
func (s *Store) OutboxCount(ctx context.Context, pendingOnly bool) (int, error) {
	q := `SELECT count(*) FROM outbox`
	if pendingOnly {
		q += ` WHERE sent_at IS NULL AND refused_at IS NULL`
	}
	var n int
	err := s.Pool.QueryRow(ctx, q).Scan(&n)
	return n, unavailable(err)
}
