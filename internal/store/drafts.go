package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Draft is an application being written in the web application, kept
// between visits (migration 00013). It starts no workflow until submitted.
type Draft struct {
	ID      string `json:"id"`
	OwnerID string `json:"owner_id"`
	SIREN   string `json:"siren"`
	// Data is the dossier as the form left it: JSON, maybe partial or invalid.
	Data          json.RawMessage `json:"data"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	SubmittedAt   *time.Time      `json:"submitted_at,omitempty"`
	ApplicationID string          `json:"application_id,omitempty"`
}

// MaxDrafts is how many unsubmitted drafts one person may keep.
const MaxDrafts = 50

// MaxDraftBytes caps a draft's data, as the table's CHECK does.
const MaxDraftBytes = 256 << 10

// ErrTooManyDrafts refuses a new draft past MaxDrafts.
var ErrTooManyDrafts = fmt.Errorf("too many drafts: at most %d unsubmitted drafts per person", MaxDrafts)

// ErrDraftTooLarge refuses draft data past MaxDraftBytes.
var ErrDraftTooLarge = fmt.Errorf("draft too large: at most %d KiB", MaxDraftBytes>>10)

// ErrDraftNotJSON refuses draft data that is not JSON at all.
var ErrDraftNotJSON = errors.New("draft data is not valid JSON")

const draftColumns = `id, owner_id, siren, data, created_at, updated_at, submitted_at, COALESCE(application_id, '')`

func scanDraft(r pgx.CollectableRow) (Draft, error) {
	var d Draft
	var data []byte
	err := r.Scan(&d.ID, &d.OwnerID, &d.SIREN, &data, &d.CreatedAt, &d.UpdatedAt, &d.SubmittedAt, &d.ApplicationID)
	d.Data = data
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	if d.SubmittedAt != nil {
		at := d.SubmittedAt.UTC()
		d.SubmittedAt = &at
	}
	return d, err
}

// newDraftID is "DRF-" and 16 base32 characters of 10 random bytes.
func newDraftID() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "DRF-" + base32.StdEncoding.EncodeToString(b), nil
}

// SaveDraft creates a draft when d.ID is empty (ID and times are the
// store's), or else replaces the data of the owner's unsubmitted draft
// d.ID, and returns it as stored. Another person's draft, or one already
// submitted, is ErrNotFound; SIREN is kept from the creation.
func (s *Store) SaveDraft(ctx context.Context, d Draft) (Draft, error) {
	if len(d.Data) == 0 {
		d.Data = json.RawMessage(`{}`)
	}
	if len(d.Data) > MaxDraftBytes {
		return Draft{}, ErrDraftTooLarge
	}
	if !json.Valid(d.Data) {
		return Draft{}, ErrDraftNotJSON
	}
	if d.OwnerID == "" {
		return Draft{}, errors.New("draft without an owner")
	}
	var out Draft
	var err error
	if d.ID != "" {
		var rows pgx.Rows
		rows, err = s.Pool.Query(ctx, `UPDATE drafts SET data = $3, updated_at = now()
			WHERE id = $1 AND owner_id = $2 AND submitted_at IS NULL RETURNING `+draftColumns,
			d.ID, d.OwnerID, string(d.Data))
		if err == nil {
			out, err = pgx.CollectExactlyOneRow(rows, scanDraft)
		}
	} else {
		err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
			// Count under a lock on the owner, so two saves at once cannot
			// both take the last place.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('drafts/' || $1))`, d.OwnerID); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM drafts WHERE owner_id = $1 AND submitted_at IS NULL`, d.OwnerID).Scan(&n); err != nil {
				return err
			}
			if n >= MaxDrafts {
				return ErrTooManyDrafts
			}
			id, err := newDraftID()
			if err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `INSERT INTO drafts (id, owner_id, siren, data) VALUES ($1, $2, $3, $4) RETURNING `+draftColumns,
				id, d.OwnerID, d.SIREN, string(d.Data))
			if err != nil {
				return err
			}
			out, err = pgx.CollectExactlyOneRow(rows, scanDraft)
			return err
		})
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Draft{}, ErrNotFound
	case errors.Is(err, ErrTooManyDrafts):
		return Draft{}, err
	// jsonb's text may be longer than the JSON sent (it adds spaces).
	case errors.As(err, &pgErr) && pgErr.ConstraintName == "drafts_data_size":
		return Draft{}, ErrDraftTooLarge
	}
	return out, unavailable(err)
}

// Draft reads one of the owner's drafts, submitted or not, or ErrNotFound.
func (s *Store) Draft(ctx context.Context, ownerID, id string) (Draft, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+draftColumns+` FROM drafts WHERE id = $1 AND owner_id = $2`, id, ownerID)
	if err != nil {
		return Draft{}, unavailable(err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDraft)
	if errors.Is(err, pgx.ErrNoRows) {
		return Draft{}, ErrNotFound
	}
	return d, unavailable(err)
}

// Drafts lists the owner's unsubmitted drafts, the last saved first.
func (s *Store) Drafts(ctx context.Context, ownerID string) ([]Draft, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+draftColumns+` FROM drafts
		WHERE owner_id = $1 AND submitted_at IS NULL ORDER BY updated_at DESC, id LIMIT 100`, ownerID)
	if err != nil {
		return nil, unavailable(err)
	}
	out, err := pgx.CollectRows(rows, scanDraft)
	return out, unavailable(err)
}

// MarkDraftSubmitted records that the owner's draft became the application
// applicationID; it leaves the list of drafts and can no longer be saved.
// Marking it again with the same application is a no-op (a retried
// submission); with another, or another person's draft, ErrNotFound.
func (s *Store) MarkDraftSubmitted(ctx context.Context, ownerID, id, applicationID string) error {
	if applicationID == "" {
		return errors.New("draft submitted without an application ID")
	}
	tag, err := s.Pool.Exec(ctx, `UPDATE drafts SET submitted_at = COALESCE(submitted_at, now()), application_id = $3
		WHERE id = $1 AND owner_id = $2 AND (submitted_at IS NULL OR application_id = $3)`, id, ownerID, applicationID)
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteDraft discards one of the owner's unsubmitted drafts, or returns
// ErrNotFound. A submitted draft stays: it tells which application it became.
func (s *Store) DeleteDraft(ctx context.Context, ownerID, id string) error {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM drafts WHERE id = $1 AND owner_id = $2 AND submitted_at IS NULL`, id, ownerID)
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
