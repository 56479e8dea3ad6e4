package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Attachment is a stored file of a mission report (migration 00012).
type Attachment struct {
	ID            string    `json:"id"`
	ApplicationID string    `json:"application_id"`
	SIREN         string    `json:"siren"`
	UploadedBy    string    `json:"uploaded_by"`
	Name          string    `json:"name"`
	MediaType     string    `json:"media_type"`
	Size          int64     `json:"size"`
	SHA256        string    `json:"sha256"`
	UploadedAt    time.Time `json:"uploaded_at"`
	// Content is empty when only the description was read.
	Content []byte `json:"-"`
}

const attachmentColumns = `id, application_id, siren, uploaded_by, name, media_type, size, sha256, uploaded_at`

func scanAttachment(r pgx.CollectableRow) (Attachment, error) {
	var a Attachment
	err := r.Scan(&a.ID, &a.ApplicationID, &a.SIREN, &a.UploadedBy, &a.Name, &a.MediaType, &a.Size, &a.SHA256, &a.UploadedAt)
	a.UploadedAt = a.UploadedAt.UTC()
	return a, err
}

// AddAttachment stores a file in one statement, so in one transaction: it
// is stored whole, with its hash, or not at all.
//
// At most maxUploads files are kept per application: past it the file is
// not stored and ErrTooManyUploads is returned. Uploads for one application
// are counted under a lock on it, so two at once cannot both pass the last
// place.
func (s *Store) AddAttachment(ctx context.Context, a Attachment, maxUploads int) (Attachment, error) {
	var out Attachment
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('attachments/' || $1))`, a.ApplicationID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM attachments WHERE application_id = $1`, a.ApplicationID).Scan(&n); err != nil {
			return err
		}
		if n >= maxUploads {
			return ErrTooManyUploads
		}
		rows, err := tx.Query(ctx, `INSERT INTO attachments (id, application_id, siren, uploaded_by, name, media_type, size, sha256, content)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+attachmentColumns,
			a.ID, a.ApplicationID, a.SIREN, a.UploadedBy, a.Name, a.MediaType, a.Size, a.SHA256, a.Content)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanAttachment)
		return err
	})
	if errors.Is(err, ErrTooManyUploads) {
		return Attachment{}, err
	}
	return out, unavailable(err)
}

// ErrTooManyUploads refuses a file past the application's upload limit.
var ErrTooManyUploads = errors.New("too many files uploaded for this application")

// Attachments describes the application's files of these IDs (without
// their content), in no particular order; unknown IDs are left out.
func (s *Store) Attachments(ctx context.Context, applicationID string, ids []string) ([]Attachment, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+attachmentColumns+` FROM attachments
		WHERE application_id = $1 AND id = ANY($2)`, applicationID, ids)
	if err != nil {
		return nil, unavailable(err)
	}
	out, err := pgx.CollectRows(rows, scanAttachment)
	return out, unavailable(err)
}

// AttachmentContent reads one file of the application, content included, or
// ErrNotFound.
func (s *Store) AttachmentContent(ctx context.Context, applicationID, id string) (Attachment, error) {
	var a Attachment
	err := s.Pool.QueryRow(ctx, `SELECT `+attachmentColumns+`, content FROM attachments
		WHERE application_id = $1 AND id = $2`, applicationID, id).
		Scan(&a.ID, &a.ApplicationID, &a.SIREN, &a.UploadedBy, &a.Name, &a.MediaType, &a.Size, &a.SHA256, &a.UploadedAt, &a.Content)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	a.UploadedAt = a.UploadedAt.UTC()
	return a, unavailable(err)
}
