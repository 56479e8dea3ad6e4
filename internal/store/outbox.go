package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// UnsentMail lists the e-mails of one transition not yet delivered.
func (s *Store) UnsentMail(ctx context.Context, applicationID string, seq int) ([]OutboxMail, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, dedup_key, template, recipients, cc, subject, body_text, body_html, message_id, sent_at
		FROM outbox WHERE application_id = $1 AND seq = $2 AND sent_at IS NULL ORDER BY id`, applicationID, seq)
	if err != nil {
		return nil, unavailable(err)
	}
	mails, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OutboxMail, error) {
		var m OutboxMail
		err := r.Scan(&m.ID, &m.DedupKey, &m.Template, &m.To, &m.Cc, &m.Subject, &m.Text, &m.HTML, &m.MessageID, &m.SentAt)
		return m, err
	})
	return mails, unavailable(err)
}

// MarkSent records a delivered e-mail.
func (s *Store) MarkSent(ctx context.Context, id int64) error {
	_, err := s.Pool.Exec(ctx, `UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1`, id)
	return unavailable(err)
}

// MarkFailed records a failed delivery attempt and its error. The caller
// stops retrying a permanent failure; the row stays unsent with its
// last_error for operators to see.
func (s *Store) MarkFailed(ctx context.Context, id int64, cause error) error {
	_, err := s.Pool.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, id, cause.Error())
	return unavailable(err)
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
