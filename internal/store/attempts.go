package store

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Attempt is a refused or unauthorized action. The Temporal history never
// shows these, since validators reject them before they are accepted.
type Attempt struct {
	ID            int64     `json:"id"`
	At            time.Time `json:"at"`
	ActorID       string    `json:"actor_id"`
	ActorRole     string    `json:"actor_role"`
	Action        string    `json:"action"`
	ApplicationID string    `json:"application_id,omitempty"`
	Reason        string    `json:"reason"`
	HTTPStatus    int       `json:"http_status"`
}

// RecordAttempt logs a refused action.
func (s *Store) RecordAttempt(ctx context.Context, a Attempt) error {
	var app *string
	if a.ApplicationID != "" {
		app = &a.ApplicationID
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO attempts (actor_id, actor_role, action, application_id, reason, http_status)
		VALUES ($1, $2, $3, $4, $5, $6)`, a.ActorID, a.ActorRole, a.Action, app, a.Reason, a.HTTPStatus)
	return unavailable(err)
}

// Attempts lists all the refused actions on one application, oldest first.
func (s *Store) Attempts(ctx context.Context, applicationID string) ([]Attempt, error) {
	list, _, err := s.AttemptsPage(ctx, applicationID, AttemptsQuery{})
	return list, err
}

// AttemptsQuery picks a page of an application's refused attempts: the
// Limit newest (0: all) among those older than the attempt of ID Before
// (0: from the newest). Anyone may knock on an application's door, so its attempts are
// read a page at a time.
type AttemptsQuery struct {
	Before int64
	Limit  int
}

// AttemptsPage lists a page of the refused actions on one application,
// oldest first, and the Before of the next, older page (0: none).
func (s *Store) AttemptsPage(ctx context.Context, applicationID string, q AttemptsQuery) ([]Attempt, int64, error) {
	// One more row than asked tells whether an older page exists; LIMIT
	// NULL is no limit.
	var limit *int
	if q.Limit > 0 {
		n := q.Limit + 1
		limit = &n
	}
	// Newest first along the (application_id, at) index, so a page costs
	// its own rows however many the application has.
	rows, err := s.Pool.Query(ctx, `SELECT id, at, actor_id, actor_role, action, COALESCE(application_id, ''), reason, http_status
		FROM attempts WHERE application_id = $1
		AND ($2 = 0 OR (at, id) < (SELECT at, id FROM attempts WHERE id = $2))
		ORDER BY at DESC, id DESC LIMIT $3`, applicationID, q.Before, limit)
	if err != nil {
		return nil, 0, unavailable(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attempt, error) {
		var a Attempt
		err := r.Scan(&a.ID, &a.At, &a.ActorID, &a.ActorRole, &a.Action, &a.ApplicationID, &a.Reason, &a.HTTPStatus)
		a.At = a.At.UTC()
		return a, err
	})
	if err != nil {
		return nil, 0, unavailable(err)
	}
	var next int64
	if q.Limit > 0 && len(list) > q.Limit {
		list = list[:q.Limit]
		next = list[q.Limit-1].ID
	}
	slices.Reverse(list)
	return list, next, nil
}
