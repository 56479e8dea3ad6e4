package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Letter is a letter handed out: which journal row it speaks for, its
// verification code and who signed it (migration 00010).
type Letter struct {
	Code          string    `json:"code"`
	ApplicationID string    `json:"application_id"`
	Kind          string    `json:"kind"`
	Seq           int       `json:"seq"`
	JournalHash   string    `json:"journal_hash"`
	SignedBy      string    `json:"signed_by"`
	FirstIssuedAt time.Time `json:"first_issued_at"`
}

const letterColumns = `code, application_id, kind, seq, journal_hash, signed_by, first_issued_at`

func scanLetter(r pgx.CollectableRow) (Letter, error) {
	var l Letter
	err := r.Scan(&l.Code, &l.ApplicationID, &l.Kind, &l.Seq, &l.JournalHash, &l.SignedBy, &l.FirstIssuedAt)
	l.FirstIssuedAt = l.FirstIssuedAt.UTC()
	return l, err
}

// IssueLetter records a letter the first time it is rendered and returns
// the letter as recorded: by this call, or by an earlier one (whose
// signer's name then stands, so the letter does not change).
func (s *Store) IssueLetter(ctx context.Context, l Letter) (Letter, error) {
	if _, err := s.Pool.Exec(ctx, `INSERT INTO letters (code, application_id, kind, seq, journal_hash, signed_by)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		l.Code, l.ApplicationID, l.Kind, l.Seq, l.JournalHash, l.SignedBy); err != nil {
		return Letter{}, unavailable(err)
	}
	return s.letter(ctx, `application_id = $1 AND kind = $2 AND seq = $3`, l.ApplicationID, l.Kind, l.Seq)
}

// IssuedLetter is the letter of this kind issued for the journal row, or
// ErrNotFound when it was never rendered.
func (s *Store) IssuedLetter(ctx context.Context, applicationID, kind string, seq int) (Letter, error) {
	return s.letter(ctx, `application_id = $1 AND kind = $2 AND seq = $3`, applicationID, kind, seq)
}

// LetterByCode finds a letter by its verification code, or ErrNotFound.
func (s *Store) LetterByCode(ctx context.Context, code string) (Letter, error) {
	return s.letter(ctx, `code = $1`, code)
}

func (s *Store) letter(ctx context.Context, where string, args ...any) (Letter, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+letterColumns+` FROM letters WHERE `+where, args...)
	if err != nil {
		return Letter{}, unavailable(err)
	}
	l, err := pgx.CollectExactlyOneRow(rows, scanLetter)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, ErrNotFound
	}
	return l, unavailable(err)
}
