package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Embassy is the contact consulted for a destination country.
type Embassy struct {
	Country   string    `json:"country"`
	Name      string    `json:"name"`
	Emails    []string  `json:"emails"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SetEmbassy creates or replaces the contact of a country.
func (s *Store) SetEmbassy(ctx context.Context, e Embassy) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO embassies (country, name, emails, updated_at) VALUES ($1, $2, $3, now())
		ON CONFLICT (country) DO UPDATE SET name = EXCLUDED.name, emails = EXCLUDED.emails, updated_at = now()`,
		e.Country, e.Name, e.Emails)
	return unavailable(err)
}

// Embassy returns the contact of a country, or ErrNotFound.
func (s *Store) Embassy(ctx context.Context, country string) (Embassy, error) {
	var e Embassy
	err := s.Pool.QueryRow(ctx, `SELECT country, name, emails, updated_at FROM embassies WHERE country = $1`, country).
		Scan(&e.Country, &e.Name, &e.Emails, &e.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, ErrNotFound
	}
	return e, unavailable(err)
}

// Embassies lists the directory by country code.
func (s *Store) Embassies(ctx context.Context) ([]Embassy, error) {
	rows, err := s.Pool.Query(ctx, `SELECT country, name, emails, updated_at FROM embassies ORDER BY country`)
	if err != nil {
		return nil, unavailable(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Embassy, error) {
		var e Embassy
		err := r.Scan(&e.Country, &e.Name, &e.Emails, &e.UpdatedAt)
		return e, err
	})
	return list, unavailable(err)
}

// AwaitingEmbassyContact lists the applications to the country whose
// workflow told DAECT it has no embassy contact and waits for one.
func (s *Store) AwaitingEmbassyContact(ctx context.Context, country string) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id FROM applications
		WHERE country = $1 AND status = 'embassy_consultation'
		  AND NOT COALESCE((state->>'embassy_contacted')::boolean, false)
		ORDER BY id`, country)
	if err != nil {
		return nil, unavailable(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, unavailable(err)
}
