package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// WebSession is a server-side session of the web application (migration
// 00013). IDHash is the SHA-256 of the cookie's token, never the token.
type WebSession struct {
	IDHash   []byte
	PersonID string
	// Principal is who the OpenID provider said the person is, as the
	// caller wrote it.
	Principal  json.RawMessage
	CSRF       string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

// webSessionTouch is how stale last_seen_at may get: reading a session
// writes at most once in that time.
const webSessionTouch = time.Minute

const webSessionColumns = `id_hash, person_id, principal, csrf, created_at, expires_at, last_seen_at`

func scanWebSession(r pgx.CollectableRow) (WebSession, error) {
	var ws WebSession
	var principal []byte
	err := r.Scan(&ws.IDHash, &ws.PersonID, &principal, &ws.CSRF, &ws.CreatedAt, &ws.ExpiresAt, &ws.LastSeenAt)
	ws.Principal = principal
	ws.CreatedAt, ws.ExpiresAt, ws.LastSeenAt = ws.CreatedAt.UTC(), ws.ExpiresAt.UTC(), ws.LastSeenAt.UTC()
	return ws, err
}

// CreateWebSession stores a new session. A zero CreatedAt is the
// database's now; a zero LastSeenAt is CreatedAt. ExpiresAt is required.
func (s *Store) CreateWebSession(ctx context.Context, ws WebSession) error {
	if len(ws.IDHash) != 32 {
		return errors.New("web session: the ID hash must be a SHA-256 (32 bytes)")
	}
	if ws.ExpiresAt.IsZero() {
		return errors.New("web session without an expiry")
	}
	principal := ws.Principal
	if len(principal) == 0 {
		principal = json.RawMessage(`{}`)
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO web_sessions (id_hash, person_id, principal, csrf, created_at, expires_at, last_seen_at)
		VALUES ($1, $2, $3, $4, COALESCE($5, now()), $6, COALESCE($7, $5, now()))`,
		ws.IDHash, ws.PersonID, string(principal), ws.CSRF, timeOrNil(ws.CreatedAt), ws.ExpiresAt, timeOrNil(ws.LastSeenAt))
	return unavailable(err)
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// WebSession reads the session of this hash unexpired at now, or returns
// ErrNotFound. It moves last_seen_at to now only when it is a minute old or
// more, so most requests only read.
func (s *Store) WebSession(ctx context.Context, idHash []byte, now time.Time) (WebSession, error) {
	// One round trip: the UPDATE matches only a stale row; otherwise the
	// row is read as it is.
	rows, err := s.Pool.Query(ctx, `WITH touched AS (
			UPDATE web_sessions SET last_seen_at = $2
			WHERE id_hash = $1 AND expires_at > $2 AND last_seen_at <= $2 - $3::interval
			RETURNING `+webSessionColumns+`)
		SELECT `+webSessionColumns+` FROM touched
		UNION ALL
		SELECT `+webSessionColumns+` FROM web_sessions
		WHERE id_hash = $1 AND expires_at > $2 AND NOT EXISTS (SELECT FROM touched)`,
		idHash, now, webSessionTouch)
	if err != nil {
		return WebSession{}, unavailable(err)
	}
	ws, err := pgx.CollectExactlyOneRow(rows, scanWebSession)
	if errors.Is(err, pgx.ErrNoRows) {
		return WebSession{}, ErrNotFound
	}
	return ws, unavailable(err)
}

// DeleteWebSession ends a session (logout); an unknown one is no error.
func (s *Store) DeleteWebSession(ctx context.Context, idHash []byte) error {
	_, err := s.Pool.Exec(ctx, `DELETE FROM web_sessions WHERE id_hash = $1`, idHash)
	return unavailable(err)
}

// DeleteExpiredWebSessions removes the sessions expired at now and tells
// how many.
func (s *Store) DeleteExpiredWebSessions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, unavailable(err)
	}
	return tag.RowsAffected(), nil
}
