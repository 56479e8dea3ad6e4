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
	// NextDeadline is the earliest deadline of the application's state.
	NextDeadline *time.Time `json:"next_deadline,omitempty"`
}

const applicationColumns = `id, status, siren, collectivite, country, mission_title, requested_cents, recommended_cents,
	granted_cents, rules_version, flags, last_seq, submitted_at, updated_at, decided_at, next_deadline`

func scanApplication(r pgx.CollectableRow) (Application, error) {
	var a Application
	err := r.Scan(&a.ID, &a.Status, &a.SIREN, &a.Collectivite, &a.Country, &a.MissionTitle, &a.RequestedCents,
		&a.RecommendedCents, &a.GrantedCents, &a.RulesVersion, &a.Flags, &a.LastSeq, &a.SubmittedAt, &a.UpdatedAt, &a.DecidedAt, &a.NextDeadline)
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
	// FollowedBy keeps the applications this person follows.
	FollowedBy string
	// DeadlineBefore keeps the applications with a deadline due at or
	// before it (their earliest one); zero keeps all.
	DeadlineBefore time.Time
	Order          Order
	Limit          int
	Cursor         string
}

// Order is a listing's order. Every order ends on the ID, so a page's
// last row is a cursor that no other row shares.
type Order string

const (
	// OrderNewest: last submitted first (the default).
	OrderNewest Order = "newest"
	// OrderOldest: first submitted first, the longest-waiting.
	OrderOldest Order = "oldest"
	// OrderDeadline: the earliest deadline first, those without one last.
	OrderDeadline Order = "deadline"
)

// Orders lists the orders List knows.
var Orders = []Order{OrderNewest, OrderOldest, OrderDeadline}

// Page is one page of a listing; NextCursor is empty on the last page.
type Page struct {
	Items      []Application `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// List returns applications in the filter's order, with keyset pagination
// so a page costs the same however deep it is.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	if f.Order == "" {
		f.Order = OrderNewest
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
	if f.FollowedBy != "" {
		where = append(where, "EXISTS (SELECT 1 FROM follows WHERE follows.application_id = applications.id AND follows.person_id = "+arg(f.FollowedBy)+")")
	}
	if !f.DeadlineBefore.IsZero() {
		where = append(where, "next_deadline <= "+arg(f.DeadlineBefore))
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor, f.Order)
		if err != nil {
			return Page{}, err
		}
		where = append(where, c.after(arg))
	}
	q := `SELECT ` + applicationColumns + ` FROM applications`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + orderBy[f.Order] + " LIMIT " + arg(f.Limit+1)
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
		p.NextCursor = cursorAfter(f.Order, p.Items[f.Limit-1]).encode()
	}
	return p, nil
}

var orderBy = map[Order]string{
	OrderNewest:   "submitted_at DESC, id DESC",
	OrderOldest:   "submitted_at ASC, id ASC",
	OrderDeadline: "next_deadline ASC NULLS LAST, id ASC",
}

// ErrBadCursor is returned for a cursor this server did not issue, or
// issued for another order.
var ErrBadCursor = errors.New("invalid cursor")

// cursor is the last row of a page, in the page's order. At is the
// submission, or the deadline (nil when the row has none) in deadline order.
type cursor struct {
	order Order
	at    *time.Time
	id    string
}

func cursorAfter(o Order, a Application) cursor {
	if o == OrderDeadline {
		return cursor{order: o, at: a.NextDeadline, id: a.ID}
	}
	at := a.SubmittedAt
	return cursor{order: o, at: &at, id: a.ID}
}

func (c cursor) encode() string {
	at := ""
	if c.at != nil {
		at = c.at.UTC().Format(time.RFC3339Nano)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(string(c.order) + "|" + at + "|" + c.id))
}

func decodeCursor(s string, o Order) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, ErrBadCursor
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 3 || Order(parts[0]) != o || parts[2] == "" {
		return cursor{}, ErrBadCursor
	}
	c := cursor{order: o, id: parts[2]}
	if parts[1] != "" {
		at, err := time.Parse(time.RFC3339Nano, parts[1])
		if err != nil {
			return cursor{}, ErrBadCursor
		}
		c.at = &at
	}
	if c.at == nil && o != OrderDeadline {
		return cursor{}, ErrBadCursor
	}
	return c, nil
}

// after is the condition for the rows that follow the cursor.
func (c cursor) after(arg func(any) string) string {
	switch {
	case c.order == OrderNewest:
		return fmt.Sprintf("(submitted_at, id) < (%s, %s)", arg(*c.at), arg(c.id))
	case c.order == OrderOldest:
		return fmt.Sprintf("(submitted_at, id) > (%s, %s)", arg(*c.at), arg(c.id))
	case c.at == nil: // among the rows without a deadline, which come last
		return fmt.Sprintf("(next_deadline IS NULL AND id > %s)", arg(c.id))
	default:
		return fmt.Sprintf("((next_deadline, id) > (%s, %s) OR next_deadline IS NULL)", arg(*c.at), arg(c.id))
	}
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
