package store_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// The figures count the read model and take the medians over the journal's
// first opinion and decision.
func TestFigures(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	if f, err := st.Figures(ctx); err != nil || len(f.ByStatus) != 0 || f.Opinions != 0 || f.MedianToDecision != 0 {
		t.Fatalf("no applications: %+v, %v", f, err)
	}
	day := 24 * time.Hour
	type step struct {
		event, status string
		after         time.Duration
		granted       int64
	}
	record := func(id, country string, submitted time.Time, requested int64, steps ...step) {
		t.Helper()
		rm := store.ReadModel{Status: "submitted", SIREN: "213105554", Collectivite: "Ville", Country: country, MissionTitle: "M",
			Requested: requested, RulesVersion: "x", Dossier: []byte(`{}`)}
		e := entry(1, "submitted")
		e.ApplicationID, e.OccurredAt = id, submitted
		if _, err := st.RecordTransition(ctx, e, rm, nil); err != nil {
			t.Fatal(err)
		}
		rm.Dossier = nil
		for i, s := range steps {
			e := entry(i+2, s.event)
			e.ApplicationID, e.Status, e.OccurredAt = id, s.status, submitted.Add(s.after)
			rm.Status, rm.Granted = s.status, nil
			if s.granted > 0 {
				rm.Granted = &s.granted
			}
			if _, err := st.RecordTransition(ctx, e, rm, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	jan2029 := time.Date(2029, 1, 10, 9, 0, 0, 0, time.UTC)
	// Submitted on New Year's Eve at 23:30 UTC: 2030 in Paris.
	eve := time.Date(2029, 12, 31, 23, 30, 0, 0, time.UTC)
	record("EXP-A", "SN", jan2029, 1000,
		step{"embassy_consulted", "embassy_consultation", time.Hour, 0},
		step{"opinion_given", "under_review", 10 * day, 0},
		step{"approved", "approved", 30 * day, 800})
	record("EXP-B", "SN", jan2029, 2000,
		step{"embassy_consulted", "embassy_consultation", time.Hour, 0},
		step{"opinion_deemed_given", "under_review", 20 * day, 0},
		step{"rejected", "rejected", 50 * day, 0})
	record("EXP-C", "BR", eve, 4000,
		step{"embassy_consulted", "embassy_consultation", time.Hour, 0},
		step{"opinion_given", "under_review", 30 * day, 0},
		step{"approved", "approved", 40 * day, 3000},
		step{"renounced", "renounced", 60 * day, 0})
	record("EXP-D", "BR", time.Date(2030, 6, 1, 9, 0, 0, 0, time.UTC), 500,
		step{"withdrawn", "withdrawn", day, 0})

	f, err := st.Figures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := map[string]int{"approved": 1, "rejected": 1, "renounced": 1, "withdrawn": 1}
	if !maps.Equal(f.ByStatus, wantStatus) {
		t.Errorf("by status %v, want %v", f.ByStatus, wantStatus)
	}
	if want := map[string]int{"SN": 2, "BR": 2}; !maps.Equal(f.ByCountry, want) {
		t.Errorf("by country %v, want %v", f.ByCountry, want)
	}
	wantYears := []store.YearFigures{{Year: 2029, Submitted: 2, RequestedCents: 3000, GrantedCents: 800},
		{Year: 2030, Submitted: 2, RequestedCents: 4500, GrantedCents: 3000}}
	if len(f.ByYear) != 2 || f.ByYear[0] != wantYears[0] || f.ByYear[1] != wantYears[1] {
		t.Errorf("by year %+v, want %+v", f.ByYear, wantYears)
	}
	if f.Opinions != 3 || f.MedianToOpinion != 20*day {
		t.Errorf("to the opinion: median %v over %d, want 480h over 3", f.MedianToOpinion, f.Opinions)
	}
	if f.Decisions != 3 || f.MedianToDecision != 40*day {
		t.Errorf("to the decision: median %v over %d, want 960h over 3", f.MedianToDecision, f.Decisions)
	}
	if age := time.Since(f.ComputedAt); f.ComputedAt.IsZero() || age < -time.Minute || age > time.Minute {
		t.Errorf("computed at %v, want the snapshot's time, now", f.ComputedAt)
	}
}
