package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/daect/expectct/internal/lifecycle"
)

// Follow makes the person follow the application; following it again
// changes nothing. ErrNotFound when there is no such application.
func (s *Store) Follow(ctx context.Context, applicationID, personID string) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO follows (application_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		applicationID, personID)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation
		return ErrNotFound
	}
	return unavailable(err)
}

// Unfollow stops the person following the application, if they did.
func (s *Store) Unfollow(ctx context.Context, applicationID, personID string) error {
	_, err := s.Pool.Exec(ctx, `DELETE FROM follows WHERE application_id = $1 AND person_id = $2`, applicationID, personID)
	return unavailable(err)
}

// IsFollowing tells whether the person follows the application.
func (s *Store) IsFollowing(ctx context.Context, applicationID, personID string) (bool, error) {
	var yes bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM follows WHERE application_id = $1 AND person_id = $2)`,
		applicationID, personID).Scan(&yes)
	return yes, unavailable(err)
}

// Follower is a person to tell of an application's steps.
type Follower struct {
	ID, Name, Email string
}

// Followers returns the people following the application who still hold
// a role that may follow, with an e-mail address: someone whose roles were
// revoked since hears nothing more of it.
func (s *Store) Followers(ctx context.Context, applicationID string) ([]Follower, error) {
	var roles []string
	for _, r := range lifecycle.RolesAllowed(lifecycle.ActionFollow) {
		roles = append(roles, string(r))
	}
	rows, err := s.Pool.Query(ctx, `SELECT p.id, p.name, p.email FROM follows f JOIN people p ON p.id = f.person_id
		WHERE f.application_id = $1 AND p.email <> ''
		  AND EXISTS (SELECT 1 FROM grants g WHERE g.person_id = p.id AND g.role = ANY($2))
		ORDER BY p.id`, applicationID, roles)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []Follower
	for rows.Next() {
		var f Follower
		if err := rows.Scan(&f.ID, &f.Name, &f.Email); err != nil {
			return nil, unavailable(err)
		}
		out = append(out, f)
	}
	return out, unavailable(rows.Err())
}
