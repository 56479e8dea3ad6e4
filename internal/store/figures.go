package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daect/expectct/internal/lifecycle"
)

// Figures are the programme's figures for DAECT, read from the read model
// and the journal.
type Figures struct {
	// ComputedAt is the time of the snapshot they were read from.
	ComputedAt time.Time      `json:"computed_at"`
	ByStatus   map[string]int `json:"by_status"`
	ByCountry  map[string]int `json:"by_country"`
	// ByYear is per year of submission (in Paris), oldest first.
	ByYear []YearFigures `json:"by_year"`
	// MedianToOpinion is from submission to the embassy's opinion, given or
	// deemed given, over the Opinions applications that reached it.
	MedianToOpinion time.Duration `json:"median_to_opinion"`
	Opinions        int           `json:"opinions"`
	// MedianToDecision is from submission to approval or rejection, over
	// the Decisions applications decided.
	MedianToDecision time.Duration `json:"median_to_decision"`
	Decisions        int           `json:"decisions"`
}

// YearFigures are the applications submitted in one year.
type YearFigures struct {
	Year           int   `json:"year"`
	Submitted      int   `json:"submitted"`
	RequestedCents int64 `json:"requested_cents"`
	// GrantedCents sums the amounts approved, whatever followed (a grant
	// renounced or cancelled was granted still).
	GrantedCents int64 `json:"granted_cents"`
}

// Figures computes the programme's figures with a few aggregate queries,
// in one snapshot so that they agree with one another.
func (s *Store) Figures(ctx context.Context) (Figures, error) {
	f := Figures{ByStatus: map[string]int{}, ByCountry: map[string]int{}, ByYear: []YearFigures{}}
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// One scan of the read model for the three groupings. GROUPING()
		// names each row's: 1 per status, 2 per country, 3 per year (the
		// bits of the columns left out of it).
		rows, err := tx.Query(ctx, `SELECT GROUPING(status, country), COALESCE(status, country, ''), COALESCE(year, 0),
				count(*), COALESCE(sum(requested_cents), 0)::bigint, COALESCE(sum(granted_cents), 0)::bigint
			FROM (SELECT status, country, requested_cents, granted_cents,
					extract(year FROM submitted_at AT TIME ZONE 'Europe/Paris')::int AS year
				FROM applications) a
			GROUP BY GROUPING SETS ((status), (country), (year))
			ORDER BY 1, 3`)
		if err != nil {
			return err
		}
		var grouping int
		var key string
		var y YearFigures
		if _, err := pgx.ForEachRow(rows, []any{&grouping, &key, &y.Year, &y.Submitted, &y.RequestedCents, &y.GrantedCents}, func() error {
			switch grouping {
			case 1:
				f.ByStatus[key] = y.Submitted
			case 2:
				f.ByCountry[key] = y.Submitted
			case 3:
				f.ByYear = append(f.ByYear, y)
			}
			return nil
		}); err != nil {
			return err
		}

		// The first opinion and the first decision of each application;
		// percentile_cont leaves out the applications without one.
		var toOpinion, toDecision *float64
		err = tx.QueryRow(ctx, `WITH firsts AS (
				SELECT application_id,
					min(occurred_at) FILTER (WHERE event_type = ANY($1)) AS opinion_at,
					min(occurred_at) FILTER (WHERE event_type = ANY($2)) AS decided_at
				FROM journal WHERE event_type = ANY($1 || $2)
				GROUP BY application_id)
			SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.opinion_at - a.submitted_at)),
				count(f.opinion_at),
				percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.decided_at - a.submitted_at)),
				count(f.decided_at),
				now() -- the transaction's start, about its snapshot's time
			FROM firsts f JOIN applications a ON a.id = f.application_id`,
			[]string{lifecycle.EventOpinionGiven, lifecycle.EventOpinionDeemedGiven},
			[]string{lifecycle.EventApproved, lifecycle.EventRejected}).
			Scan(&toOpinion, &f.Opinions, &toDecision, &f.Decisions, &f.ComputedAt)
		if err != nil {
			return err
		}
		f.MedianToOpinion, f.MedianToDecision = seconds(toOpinion), seconds(toDecision)
		return nil
	})
	if err != nil {
		return Figures{}, unavailable(err)
	}
	return f, nil
}

func seconds(s *float64) time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(*s * float64(time.Second)).Round(time.Second)
}
