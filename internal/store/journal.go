package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// GenesisHash is the previous hash of an application's first journal row.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one row of the event journal.
type Entry struct {
	ApplicationID string    `json:"application_id"`
	Seq           int       `json:"seq"`
	EventType     string    `json:"event_type"`
	Status        string    `json:"status"`
	ActorID       string    `json:"actor_id"`
	ActorRole     string    `json:"actor_role"`
	Payload       []byte    `json:"payload"`
	OccurredAt    time.Time `json:"occurred_at"`
	PrevHash      string    `json:"prev_hash"`
	Hash          string    `json:"hash"`
}

// ComputeHash is the row's hash: SHA-256 over the previous hash and every
// field, so changing any of them, or removing a row, breaks the chain.
func (e Entry) ComputeHash() string {
	h := sha256.New()
	for _, part := range []string{
		e.PrevHash, e.ApplicationID, strconv.Itoa(e.Seq), e.EventType, e.Status,
		e.ActorID, e.ActorRole, e.OccurredAt.UTC().Format(time.RFC3339Nano), string(e.Payload),
	} {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ReadModel is the application row as a transition leaves it. Nil pointers
// and empty fields leave the stored value unchanged.
type ReadModel struct {
	Status       string
	SIREN        string
	Collectivite string
	Country      string
	MissionTitle string
	Requested    int64
	Recommended  *int64
	Granted      *int64
	RulesVersion string
	Flags        []string
	Dossier      []byte // JSON; set on submission and complements
	State        []byte // JSON of the workflow's state, without the dossier and the steps
	Step         []byte // JSON of this transition's step, appended to the state's steps
	Decided      bool
}

// OutboxMail is one e-mail queued by a transition, and its delivery so far.
type OutboxMail struct {
	ID            int64      `json:"id"`
	DedupKey      string     `json:"dedup_key"`
	ApplicationID string     `json:"application_id"`
	Seq           int        `json:"seq"`
	Template      string     `json:"template"`
	To            []string   `json:"to"`
	Cc            []string   `json:"cc,omitempty"`
	Subject       string     `json:"subject"`
	Text          string     `json:"-"`
	HTML          string     `json:"-"`
	MessageID     string     `json:"message_id"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	RefusedAt     *time.Time `json:"refused_at,omitempty"`
	// LeaseUntil is set while a relay holds the row; it is the claim's token.
	LeaseUntil *time.Time `json:"-"`
	// Letter is the kind of letter the e-mail carries, rendered again from
	// the journal row (ApplicationID, Seq) when it is sent; "" for none.
	Letter string `json:"letter,omitempty"`
}

// ErrConflict reports a transition recorded differently before: the same
// (application, seq) with other content. It means a bug or tampering, never
// a retry, so it must not be retried.
var ErrConflict = errors.New("journal conflict")

// RecordTransition writes, in one transaction, the journal row, the read model
// and the outbox rows of one transition. A retry of the same transition finds
// it recorded and writes nothing; it returns recorded=false then.
func (s *Store) RecordTransition(ctx context.Context, e Entry, rm ReadModel, mails []OutboxMail) (recorded bool, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// Serialize the transitions of one application.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", e.ApplicationID); err != nil {
			return err
		}
		// A retry finds its row recorded: it must be the same row, content
		// and all, or the journal and the workflow disagree.
		var existingPrev, existingHash string
		err := tx.QueryRow(ctx, "SELECT prev_hash, hash FROM journal WHERE application_id = $1 AND seq = $2",
			e.ApplicationID, e.Seq).Scan(&existingPrev, &existingHash)
		switch {
		case err == nil:
			same := e
			same.PrevHash = existingPrev
			same.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
			if same.ComputeHash() != existingHash {
				return fmt.Errorf("%w: %s seq %d is recorded with other content than this %s", ErrConflict, e.ApplicationID, e.Seq, e.EventType)
			}
			return nil // already recorded by an earlier attempt
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		e.PrevHash = GenesisHash
		if e.Seq > 1 {
			if err := tx.QueryRow(ctx, "SELECT hash FROM journal WHERE application_id = $1 AND seq = $2",
				e.ApplicationID, e.Seq-1).Scan(&e.PrevHash); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return fmt.Errorf("%w: %s seq %d recorded before seq %d", ErrConflict, e.ApplicationID, e.Seq, e.Seq-1)
				}
				return err
			}
		}
		e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
		e.Hash = e.ComputeHash()
		if _, err := tx.Exec(ctx, `INSERT INTO journal (application_id, seq, event_type, status, actor_id, actor_role, payload, occurred_at, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			e.ApplicationID, e.Seq, e.EventType, e.Status, e.ActorID, e.ActorRole, string(e.Payload), e.OccurredAt, e.PrevHash, e.Hash); err != nil {
			return err
		}
		if err := upsertReadModel(ctx, tx, e, rm); err != nil {
			return err
		}
		for _, m := range mails {
			if _, err := tx.Exec(ctx, `INSERT INTO outbox (dedup_key, application_id, seq, template, recipients, cc, subject, body_text, body_html, message_id, letter)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULLIF($11, '')) ON CONFLICT (dedup_key) DO NOTHING`,
				m.DedupKey, e.ApplicationID, e.Seq, m.Template, m.To, nonNil(m.Cc), m.Subject, m.Text, m.HTML, m.MessageID, m.Letter); err != nil {
				return err
			}
		}
		recorded = true
		return nil
	})
	if err != nil {
		return false, unavailable(err)
	}
	return recorded, nil
}

func upsertReadModel(ctx context.Context, tx pgx.Tx, e Entry, rm ReadModel) error {
	if rm.Dossier != nil && e.Seq == 1 {
		_, err := tx.Exec(ctx, `INSERT INTO applications (id, status, siren, collectivite, country, mission_title, requested_cents,
				rules_version, flags, dossier, last_seq, submitted_at, updated_at, state)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12,
				CASE WHEN $14::jsonb IS NULL THEN $13::jsonb ELSE jsonb_set($13::jsonb, '{steps}', jsonb_build_array($14::jsonb)) END)`,
			e.ApplicationID, rm.Status, rm.SIREN, rm.Collectivite, rm.Country, rm.MissionTitle, rm.Requested,
			rm.RulesVersion, nonNil(rm.Flags), string(rm.Dossier), e.Seq, e.OccurredAt, jsonOrNil(rm.State), jsonOrNil(rm.Step))
		return err
	}
	var decidedAt *time.Time
	if rm.Decided {
		decidedAt = &e.OccurredAt
	}
	var dossierJSON *string
	if rm.Dossier != nil {
		s := string(rm.Dossier)
		dossierJSON = &s
	}
	tag, err := tx.Exec(ctx, `UPDATE applications SET
			status = $2, last_seq = $3, updated_at = $4,
			recommended_cents = COALESCE($5, recommended_cents),
			granted_cents = COALESCE($6, granted_cents),
			decided_at = COALESCE($7, decided_at),
			dossier = COALESCE($8::jsonb, dossier),
			mission_title = COALESCE(NULLIF($9, ''), mission_title),
			requested_cents = CASE WHEN $8::jsonb IS NULL THEN requested_cents ELSE $10 END,
			flags = CASE WHEN $8::jsonb IS NULL THEN flags ELSE $11 END,
			state = CASE WHEN $12::jsonb IS NULL THEN state WHEN $13::jsonb IS NULL THEN $12::jsonb
				ELSE jsonb_set($12::jsonb, '{steps}', COALESCE(state->'steps', '[]'::jsonb) || jsonb_build_array($13::jsonb)) END
		WHERE id = $1`,
		e.ApplicationID, rm.Status, e.Seq, e.OccurredAt, rm.Recommended, rm.Granted, decidedAt, dossierJSON,
		rm.MissionTitle, rm.Requested, nonNil(rm.Flags), jsonOrNil(rm.State), jsonOrNil(rm.Step))
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: application %s has no read model row", ErrConflict, e.ApplicationID)
	}
	return nil
}

func jsonOrNil(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Journal returns an application's journal rows in order.
func (s *Store) Journal(ctx context.Context, applicationID string) ([]Entry, error) {
	rows, err := s.Pool.Query(ctx, `SELECT application_id, seq, event_type, status, actor_id, actor_role, payload::text, occurred_at, prev_hash, hash
		FROM journal WHERE application_id = $1 ORDER BY seq`, applicationID)
	if err != nil {
		return nil, unavailable(err)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		var payload string
		err := r.Scan(&e.ApplicationID, &e.Seq, &e.EventType, &e.Status, &e.ActorID, &e.ActorRole, &payload, &e.OccurredAt, &e.PrevHash, &e.Hash)
		e.Payload = []byte(payload)
		e.OccurredAt = e.OccurredAt.UTC()
		return e, err
	})
	return entries, unavailable(err)
}

// ApplicationIDs lists every application with a journal, oldest first.
func (s *Store) ApplicationIDs(ctx context.Context) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT DISTINCT application_id FROM journal ORDER BY application_id`)
	if err != nil {
		return nil, unavailable(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, unavailable(err)
}

// ChainBreak is one place where an application's journal fails verification.
type ChainBreak struct {
	ApplicationID string `json:"application_id"`
	Seq           int    `json:"seq"`
	Problem       string `json:"problem"`
}

// VerifyChain recomputes the hash chain of the entries of one application.
func VerifyChain(entries []Entry) []ChainBreak {
	var breaks []ChainBreak
	prev := GenesisHash
	for i, e := range entries {
		if e.Seq != i+1 {
			breaks = append(breaks, ChainBreak{e.ApplicationID, e.Seq, fmt.Sprintf("sequence gap: expected %d", i+1)})
		}
		if e.PrevHash != prev {
			breaks = append(breaks, ChainBreak{e.ApplicationID, e.Seq, "previous hash does not match the previous row"})
		}
		if e.ComputeHash() != e.Hash {
			breaks = append(breaks, ChainBreak{e.ApplicationID, e.Seq, "row content does not match its hash (altered)"})
		}
		prev = e.Hash
	}
	return breaks
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
