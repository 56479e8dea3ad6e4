package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daect/expectct/internal/lifecycle"
)

// Application is a row of the read model.
type Application struct {
	ID               string     `json:"application_id"`
	Status           string     `json:"status"`
	SIREN            string     `json:"siren"`
	Collectivite     string     `json:"collectivite"`
	Country          string     `json:"country"`
	MissionTitle     string     `json:"mission_title"`
	RequestedCents   int64      `json:"requested_cents"`
	RecommendedCents *int64     `json:"recommended_cents,omitempty"`
	GrantedCents     *int64     `json:"granted_cents,omitempty"`
	RulesVersion     string     `json:"rules_version"`
	Flags            []string   `json:"flags"`
	LastSeq          int        `json:"last_seq"`
	SubmittedAt      time.Time  `json:"submitted_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	DecidedAt        *time.Time `json:"decided_at,omitempty"`
}

const applicationColumns = `id, status, siren, collectivite, country, mission_title, requested_cents, recommended_cents,
	granted_cents, rules_version, flags, last_seq, submitted_at, updated_at, decided_at`

func scanApplication(r pgx.CollectableRow) (Application, error) {
	var a Application
	err := r.Scan(&a.ID, &a.Status, &a.SIREN, &a.Collectivite, &a.Country, &a.MissionTitle, &a.RequestedCents,
		&a.RecommendedCents, &a.GrantedCents, &a.RulesVersion, &a.Flags, &a.LastSeq, &a.SubmittedAt, &a.UpdatedAt, &a.DecidedAt)
	a.SubmittedAt, a.UpdatedAt = a.SubmittedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

// Application returns one read-model row, or ErrNotFound.
func (s *Store) Application(ctx context.Context, id string) (Application, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+applicationColumns+` FROM applications WHERE id = $1`, id)
	if err != nil {
		return Application{}, unavailable(err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, scanApplication)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, unavailable(err)
}

// Filter selects applications to list. Countries, when set, restricts the
// result to those destinations (an embassy's scope).
type Filter struct {
	Status    string
	Country   string
	SIREN     string
	Countries []string
	Limit     int
	Cursor    string
}

// Page is one page of a listing; NextCursor is empty on the last page.
type Page struct {
	Items      []Application `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// List returns applications, newest first, with keyset pagination so a page
// costs the same however deep it is.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if f.Country != "" {
		where = append(where, "country = "+arg(f.Country))
	}
	if f.SIREN != "" {
		where = append(where, "siren = "+arg(f.SIREN))
	}
	if f.Countries != nil {
		where = append(where, "country = ANY("+arg(f.Countries)+")")
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		where = append(where, fmt.Sprintf("(submitted_at, id) < (%s, %s)", arg(at), arg(id)))
	}
	q := `SELECT ` + applicationColumns + ` FROM applications`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY submitted_at DESC, id DESC LIMIT " + arg(f.Limit+1)
	rows, err := s.Pool.Query(ctx, q, args...)
	if err != nil {
		return Page{}, unavailable(err)
	}
	items, err := pgx.CollectRows(rows, scanApplication)
	if err != nil {
		return Page{}, unavailable(err)
	}
	p := Page{Items: items}
	if len(items) > f.Limit {
		p.Items = items[:f.Limit]
		last := p.Items[f.Limit-1]
		p.NextCursor = encodeCursor(last.SubmittedAt, last.ID)
	}
	return p, nil
}

// ErrBadCursor is returned for a cursor this server did not issue.
var ErrBadCursor = errors.New("invalid cursor")

func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	ts, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, "", ErrBadCursor
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	return at, id, nil
}

// DossierJSON returns the current dossier of an application.
func (s *Store) DossierJSON(ctx context.Context, id string) ([]byte, error) {
	var raw string
	err := s.Pool.QueryRow(ctx, `SELECT dossier::text FROM applications WHERE id = $1`, id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return []byte(raw), unavailable(err)
}

// ApplicationState is the application as its last recorded transition left
// it, with its dossier; ErrNotFound when no transition is recorded yet.
func (s *Store) ApplicationState(ctx context.Context, id string) (lifecycle.State, error) {
	var st lifecycle.State
	var stateJSON, dossierJSON []byte
	err := s.Pool.QueryRow(ctx, `SELECT state, dossier FROM applications WHERE id = $1`, id).Scan(&stateJSON, &dossierJSON)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, ErrNotFound
	}
	if err != nil {
		return st, unavailable(err)
	}
	if stateJSON == nil {
		return st, ErrNotFound
	}
	if err := json.Unmarshal(stateJSON, &st); err != nil {
		return st, fmt.Errorf("stored state of %s: %w", id, err)
	}
	if err := json.Unmarshal(dossierJSON, &st.Dossier); err != nil {
		return st, fmt.Errorf("stored dossier of %s: %w", id, err)
	}
	return st, nil
}
