package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ExportFilter selects the applications an export holds; zero values select
// all.
type ExportFilter struct {
	Status  string
	Country string
	SIREN   string
	// SubmittedFrom and SubmittedBefore bound the submission time, From
	// included, Before excluded.
	SubmittedFrom, SubmittedBefore time.Time
	// AmountEvents are the journal events whose details' amount the export
	// needs (the amounts the read model does not keep).
	AmountEvents []string
}

// ExportEvent is one journal row as an export reads it: the dossier and the
// comments of the payload stay in the database.
type ExportEvent struct {
	Event  string
	Status string
	At     time.Time
	// Amount is the details' amount as recorded ("3000.00"), for the
	// filter's AmountEvents only; empty otherwise.
	Amount string
}

// ExportRecord is one application of an export: its read-model row and its
// journal in order.
type ExportRecord struct {
	ID               string
	Status           string
	SIREN            string
	Collectivite     string
	Country          string
	RulesVersion     string
	RequestedCents   int64
	RecommendedCents *int64
	GrantedCents     *int64
	SubmittedAt      time.Time
	Events           []ExportEvent
}

// EachForExport calls fn for every application the filter selects, oldest
// submission first, with its journal. Rows are read from the cursor as fn
// consumes them, so an export of any size holds one application in memory;
// the record passed to fn is reused for the next one. An error of fn stops
// the iteration and is returned.
func (s *Store) EachForExport(ctx context.Context, f ExportFilter, fn func(*ExportRecord) error) error {
	var where []string
	args := []any{nonNil(f.AmountEvents)}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Status != "" {
		where = append(where, "a.status = "+arg(f.Status))
	}
	if f.Country != "" {
		where = append(where, "a.country = "+arg(f.Country))
	}
	if f.SIREN != "" {
		where = append(where, "a.siren = "+arg(f.SIREN))
	}
	if !f.SubmittedFrom.IsZero() {
		where = append(where, "a.submitted_at >= "+arg(f.SubmittedFrom))
	}
	if !f.SubmittedBefore.IsZero() {
		where = append(where, "a.submitted_at < "+arg(f.SubmittedBefore))
	}
	// One row per application, its journal folded into arrays by the
	// primary key's index; only the amounts asked for are taken out of the
	// payloads, which hold whole dossiers.
	q := `SELECT a.id, a.status, a.siren, a.collectivite, a.country, a.rules_version, a.requested_cents,
			a.recommended_cents, a.granted_cents, a.submitted_at, j.events, j.statuses, j.times, j.amounts
		FROM applications a
		LEFT JOIN LATERAL (
			SELECT array_agg(event_type ORDER BY seq) AS events,
				array_agg(status ORDER BY seq) AS statuses,
				array_agg(occurred_at ORDER BY seq) AS times,
				array_agg(CASE WHEN event_type = ANY($1) THEN payload->>'amount' END ORDER BY seq) AS amounts
			FROM journal WHERE application_id = a.id) j ON true`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY a.submitted_at, a.id"
	rows, err := s.Pool.Query(ctx, q, args...)
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	var rec ExportRecord
	var events, statuses []string
	var times []time.Time
	var amounts []*string
	for rows.Next() {
		events, statuses, times, amounts = events[:0], statuses[:0], times[:0], amounts[:0]
		if err := rows.Scan(&rec.ID, &rec.Status, &rec.SIREN, &rec.Collectivite, &rec.Country, &rec.RulesVersion,
			&rec.RequestedCents, &rec.RecommendedCents, &rec.GrantedCents, &rec.SubmittedAt,
			&events, &statuses, &times, &amounts); err != nil {
			return unavailable(err)
		}
		if len(statuses) != len(events) || len(times) != len(events) || len(amounts) != len(events) {
			return fmt.Errorf("export of %s: journal arrays of unequal lengths", rec.ID)
		}
		rec.SubmittedAt = rec.SubmittedAt.UTC()
		rec.Events = rec.Events[:0]
		for i, e := range events {
			ev := ExportEvent{Event: e, Status: statuses[i], At: times[i].UTC()}
			if amounts[i] != nil {
				ev.Amount = *amounts[i]
			}
			rec.Events = append(rec.Events, ev)
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
	return unavailable(rows.Err())
}
