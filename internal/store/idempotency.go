package store

import (
	"bytes"
	"context"
)

// BindIdempotencyKey binds the key of a step on an application to the
// request's fingerprint, unless it is already bound: it reports whether the
// key is bound to this fingerprint (now or by an earlier request), false
// when an earlier request with another fingerprint took the key.
func (s *Store) BindIdempotencyKey(ctx context.Context, applicationID, step, key string, fingerprint []byte) (bool, error) {
	// DO UPDATE rather than DO NOTHING: it locks the row a concurrent request
	// may have just written and RETURNING gives that row's fingerprint, so
	// one statement is race-safe (a separate SELECT could miss a row that
	// was not yet committed).
	var bound []byte
	err := s.Pool.QueryRow(ctx, `INSERT INTO idempotency_keys (application_id, step, key, fingerprint)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (application_id, step, key) DO UPDATE SET fingerprint = idempotency_keys.fingerprint
		RETURNING fingerprint`, applicationID, step, key, fingerprint).Scan(&bound)
	if err != nil {
		return false, unavailable(err)
	}
	return bytes.Equal(bound, fingerprint), nil
}
