package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Checkpoint is one signed checkpoint as stored and exported (one JSON line
// each): Body is the exact JSON that was signed.
type Checkpoint struct {
	Seq       int64     `json:"seq"`
	CreatedAt time.Time `json:"created_at"`
	KeyID     string    `json:"key_id"`
	Body      string    `json:"body"`
	Signature string    `json:"signature"`
}

// CheckpointBody is what a checkpoint signs: the head of every chain.
type CheckpointBody struct {
	Seq int64     `json:"seq"`
	At  time.Time `json:"at"`
	// Prev is the SHA-256 of the previous checkpoint's body ("" for the
	// first): a checkpoint removed from the middle breaks the sequence.
	Prev string `json:"prev"`
	// Applications is the number of applications with a journal.
	Applications int         `json:"applications"`
	Heads        []ChainHead `json:"heads"`
	// Directory is the people directory journal's head (seq 0 when empty).
	Directory ChainHead `json:"directory"`
}

// ChainHead is the last row of one chain: its seq and hash.
type ChainHead struct {
	ID   string `json:"id,omitempty"`
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// BodyHash is the hash the next checkpoint names as Prev.
func BodyHash(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// Signer signs a checkpoint body; it returns its key's ID and the signature.
type Signer interface {
	Sign(body []byte) (keyID, signature string)
}

// AppendCheckpoint reads the head of every chain and appends a checkpoint
// signing them, chained to the previous one, in one transaction. When no
// chain moved since the last checkpoint it appends nothing and returns
// that one with appended=false: checkpoints grow with activity, not time.
func (s *Store) AppendCheckpoint(ctx context.Context, signer Signer) (c Checkpoint, appended bool, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('expectct.checkpoints'))`); err != nil {
			return err
		}
		var last Checkpoint
		err := tx.QueryRow(ctx, `SELECT seq, created_at, key_id, body, signature FROM checkpoints ORDER BY seq DESC LIMIT 1`).
			Scan(&last.Seq, &last.CreatedAt, &last.KeyID, &last.Body, &last.Signature)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		body := CheckpointBody{Seq: last.Seq + 1, Heads: []ChainHead{}}
		if last.Seq > 0 {
			body.Prev = BodyHash(last.Body)
		}
		// One statement: one snapshot of every application's head.
		rows, err := tx.Query(ctx, `SELECT DISTINCT ON (application_id) application_id, seq, hash
			FROM journal ORDER BY application_id, seq DESC`)
		if err != nil {
			return err
		}
		if body.Heads, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChainHead, error) {
			var h ChainHead
			err := r.Scan(&h.ID, &h.Seq, &h.Hash)
			return h, err
		}); err != nil {
			return err
		}
		body.Applications = len(body.Heads)
		err = tx.QueryRow(ctx, `SELECT seq, hash FROM directory_journal ORDER BY seq DESC LIMIT 1`).
			Scan(&body.Directory.Seq, &body.Directory.Hash)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if last.Seq > 0 {
			var prev CheckpointBody
			if err := json.Unmarshal([]byte(last.Body), &prev); err == nil && sameHeads(prev, body) {
				c = last
				return nil
			}
		}
		if err := tx.QueryRow(ctx, `SELECT date_trunc('milliseconds', now())`).Scan(&body.At); err != nil {
			return err
		}
		body.At = body.At.UTC()
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("checkpoint body: %w", err)
		}
		c = Checkpoint{Seq: body.Seq, CreatedAt: body.At, Body: string(raw)}
		c.KeyID, c.Signature = signer.Sign(raw)
		if _, err := tx.Exec(ctx, `INSERT INTO checkpoints (seq, created_at, key_id, body, signature) VALUES ($1, $2, $3, $4, $5)`,
			c.Seq, c.CreatedAt, c.KeyID, c.Body, c.Signature); err != nil {
			return err
		}
		appended = true
		return nil
	})
	if err != nil {
		return Checkpoint{}, false, unavailable(err)
	}
	return c, appended, nil
}

func sameHeads(a, b CheckpointBody) bool {
	if a.Applications != b.Applications || a.Directory != b.Directory || len(a.Heads) != len(b.Heads) {
		return false
	}
	for i := range a.Heads {
		if a.Heads[i] != b.Heads[i] {
			return false
		}
	}
	return true
}

// Checkpoints returns every checkpoint in order.
func (s *Store) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	rows, err := s.Pool.Query(ctx, `SELECT seq, created_at, key_id, body, signature FROM checkpoints ORDER BY seq`)
	if err != nil {
		return nil, unavailable(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Checkpoint, error) {
		var c Checkpoint
		err := r.Scan(&c.Seq, &c.CreatedAt, &c.KeyID, &c.Body, &c.Signature)
		c.CreatedAt = c.CreatedAt.UTC()
		return c, err
	})
	return list, unavailable(err)
}
