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

// Person is one entry of the people directory: an identity of the OpenID
// provider and the roles it holds now.
type Person struct {
	ID        string    `json:"id"`
	Issuer    string    `json:"issuer"`
	Subject   string    `json:"subject"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	FirstSeen time.Time `json:"first_seen"`
	Grants    []Grant   `json:"grants"`
}

// Grant is one role a person holds, with its scope: the SIREN an applicant
// acts for, the countries an embassy covers.
type Grant struct {
	Role      string    `json:"role"`
	SIREN     string    `json:"siren,omitempty"`
	Countries []string  `json:"countries,omitempty"`
	GrantedBy string    `json:"granted_by"`
	GrantedAt time.Time `json:"granted_at"`
}

// DirectoryEntry is one line of the directory's journal: who granted or
// revoked which role to whom, and when.
type DirectoryEntry struct {
	Seq        int64     `json:"seq"`
	OccurredAt time.Time `json:"occurred_at"`
	ActorID    string    `json:"actor_id"`
	Action     string    `json:"action"`
	PersonID   string    `json:"person_id"`
	Role       string    `json:"role"`
	SIREN      string    `json:"siren,omitempty"`
	Countries  []string  `json:"countries,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

// Directory actions.
const (
	DirectoryGrant  = "grant"
	DirectoryRevoke = "revoke"
)

// ErrSubjectTaken means the person ID is already held by the same subject
// under another issuer: the directory knows one issuer's people at a time.
var ErrSubjectTaken = errors.New("subject already known under another issuer")

// SeePerson returns the directory entry of an identity, adding it on its
// first sign-in and keeping its name and e-mail as the provider last gave
// them. It is one read when nothing changed.
func (s *Store) SeePerson(ctx context.Context, p Person) (Person, error) {
	got, err := s.Person(ctx, p.Subject)
	switch {
	case err == nil && got.Issuer != p.Issuer:
		return Person{}, fmt.Errorf("%w: %s (%s)", ErrSubjectTaken, p.Subject, got.Issuer)
	case err == nil && got.Name == p.Name && got.Email == p.Email && got.Kind == p.Kind:
		return got, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return Person{}, err
	}
	if _, err := s.Pool.Exec(ctx, `INSERT INTO people (id, issuer, subject, kind, name, email) VALUES ($1, $2, $1, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, kind = EXCLUDED.kind
		WHERE people.issuer = EXCLUDED.issuer`, p.Subject, p.Issuer, p.Kind, p.Name, p.Email); err != nil {
		return Person{}, unavailable(err)
	}
	return s.Person(ctx, p.Subject)
}

// Person returns a person with their grants, or ErrNotFound.
func (s *Store) Person(ctx context.Context, id string) (Person, error) {
	people, err := s.people(ctx, `WHERE p.id = $1`, id)
	if err != nil {
		return Person{}, err
	}
	if len(people) == 0 {
		return Person{}, ErrNotFound
	}
	return people[0], nil
}

// People lists the directory by ID.
func (s *Store) People(ctx context.Context) ([]Person, error) {
	return s.people(ctx, "")
}

func (s *Store) people(ctx context.Context, where string, args ...any) ([]Person, error) {
	rows, err := s.Pool.Query(ctx, `SELECT p.id, p.issuer, p.subject, p.kind, p.name, p.email, p.first_seen,
			COALESCE(json_agg(json_build_object('role', g.role, 'siren', g.siren, 'countries', g.countries,
				'granted_by', g.granted_by, 'granted_at', g.granted_at) ORDER BY g.role) FILTER (WHERE g.role IS NOT NULL), '[]')
		FROM people p LEFT JOIN grants g ON g.person_id = p.id `+where+`
		GROUP BY p.id ORDER BY p.id`, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Person, error) {
		var p Person
		var grants []byte
		if err := r.Scan(&p.ID, &p.Issuer, &p.Subject, &p.Kind, &p.Name, &p.Email, &p.FirstSeen, &grants); err != nil {
			return p, err
		}
		return p, json.Unmarshal(grants, &p.Grants)
	})
	return list, unavailable(err)
}

// GrantRole gives a person a role (replacing the scope of a grant of the
// same role) and journals it, in one transaction. A person not seen yet is
// added under the issuer, so access can be prepared before a first sign-in.
func (s *Store) GrantRole(ctx context.Context, by string, p Person, g Grant, reason string) (DirectoryEntry, error) {
	return s.directoryChange(ctx, func(tx pgx.Tx, now time.Time) (DirectoryEntry, error) {
		if _, err := tx.Exec(ctx, `INSERT INTO people (id, issuer, subject, kind, name, email) VALUES ($1, $2, $1, $3, $4, $5)
			ON CONFLICT (id) DO NOTHING`, p.ID, p.Issuer, p.Kind, p.Name, p.Email); err != nil {
			return DirectoryEntry{}, err
		}
		var issuer string
		if err := tx.QueryRow(ctx, `SELECT issuer FROM people WHERE id = $1`, p.ID).Scan(&issuer); err != nil {
			return DirectoryEntry{}, err
		}
		if issuer != p.Issuer {
			return DirectoryEntry{}, fmt.Errorf("%w: %s (%s)", ErrSubjectTaken, p.ID, issuer)
		}
		countries := g.Countries
		if countries == nil {
			countries = []string{}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO grants (person_id, role, siren, countries, granted_by, granted_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (person_id, role) DO UPDATE SET siren = EXCLUDED.siren, countries = EXCLUDED.countries,
				granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at`,
			p.ID, g.Role, g.SIREN, countries, by, now); err != nil {
			return DirectoryEntry{}, err
		}
		return DirectoryEntry{ActorID: by, Action: DirectoryGrant, PersonID: p.ID, Role: g.Role, SIREN: g.SIREN,
			Countries: g.Countries, Reason: reason}, nil
	})
}

// RevokeRole removes a person's role and journals it; ErrNotFound when the
// person does not hold it.
func (s *Store) RevokeRole(ctx context.Context, by, personID, role, reason string) (DirectoryEntry, error) {
	return s.directoryChange(ctx, func(tx pgx.Tx, _ time.Time) (DirectoryEntry, error) {
		tag, err := tx.Exec(ctx, `DELETE FROM grants WHERE person_id = $1 AND role = $2`, personID, role)
		if err != nil {
			return DirectoryEntry{}, err
		}
		if tag.RowsAffected() == 0 {
			return DirectoryEntry{}, ErrNotFound
		}
		return DirectoryEntry{ActorID: by, Action: DirectoryRevoke, PersonID: personID, Role: role, Reason: reason}, nil
	})
}

// directoryChange runs a change of the directory and appends its journal
// line, chained to the previous one, in the same transaction. The advisory
// lock orders concurrent changes so the chain never forks.
func (s *Store) directoryChange(ctx context.Context, change func(pgx.Tx, time.Time) (DirectoryEntry, error)) (DirectoryEntry, error) {
	var e DirectoryEntry
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('expectct.directory_journal'))`); err != nil {
			return err
		}
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT date_trunc('milliseconds', now())`).Scan(&now); err != nil {
			return err
		}
		var err error
		if e, err = change(tx, now); err != nil {
			return err
		}
		e.OccurredAt = now.UTC()
		if len(e.Countries) == 0 {
			e.Countries = nil
		}
		if err := tx.QueryRow(ctx, `SELECT COALESCE(max(seq), 0) + 1, COALESCE((SELECT hash FROM directory_journal ORDER BY seq DESC LIMIT 1), '')
			FROM directory_journal`).Scan(&e.Seq, &e.PrevHash); err != nil {
			return err
		}
		e.Hash = e.ChainHash()
		countries := e.Countries
		if countries == nil {
			countries = []string{}
		}
		_, err = tx.Exec(ctx, `INSERT INTO directory_journal (seq, occurred_at, actor_id, action, person_id, role, siren, countries, reason, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			e.Seq, e.OccurredAt, e.ActorID, e.Action, e.PersonID, e.Role, e.SIREN, countries, e.Reason, e.PrevHash, e.Hash)
		return err
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrSubjectTaken) {
		return DirectoryEntry{}, err
	}
	return e, unavailable(err)
}

// ChainHash is the entry's hash: SHA-256 over the previous hash and the
// entry's content, so an altered or removed line breaks the chain.
func (e DirectoryEntry) ChainHash() string {
	content, _ := json.Marshal([]any{e.Seq, e.OccurredAt.UTC().Format(time.RFC3339Nano), e.ActorID, e.Action,
		e.PersonID, e.Role, e.SIREN, e.Countries, e.Reason})
	sum := sha256.Sum256(append([]byte(e.PrevHash+"\n"), content...))
	return hex.EncodeToString(sum[:])
}

// DirectoryJournal returns the directory's journal in order, optionally
// only the lines about one person.
func (s *Store) DirectoryJournal(ctx context.Context, personID string) ([]DirectoryEntry, error) {
	rows, err := s.Pool.Query(ctx, `SELECT seq, occurred_at, actor_id, action, person_id, role, siren, countries, reason, prev_hash, hash
		FROM directory_journal WHERE $1 = '' OR person_id = $1 ORDER BY seq`, personID)
	if err != nil {
		return nil, unavailable(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DirectoryEntry, error) {
		var e DirectoryEntry
		err := r.Scan(&e.Seq, &e.OccurredAt, &e.ActorID, &e.Action, &e.PersonID, &e.Role, &e.SIREN, &e.Countries, &e.Reason, &e.PrevHash, &e.Hash)
		if len(e.Countries) == 0 {
			e.Countries = nil
		}
		e.OccurredAt = e.OccurredAt.UTC()
		return e, err
	})
	return list, unavailable(err)
}
