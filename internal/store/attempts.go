package store

import (
	"context"
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

// Attempts lists the refused actions on one application, oldest first.
func (s *Store) Attempts(ctx context.Context, applicationID string) ([]Attempt, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, at, actor_id, actor_role, action, COALESCE(application_id, ''), reason, http_status
		FROM attempts WHERE application_id = $1 ORDER BY at, id`, applicationID)
	if err != nil {
		return nil, unavailable(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attempt, error) {
		var a Attempt
		err := r.Scan(&a.ID, &a.At, &a.ActorID, &a.ActorRole, &a.Action, &a.ApplicationID, &a.Reason, &a.HTTPStatus)
		a.At = a.At.UTC()
		return a, err
	})
	return list, unavailable(err)
}
