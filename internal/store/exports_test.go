package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// TestEachForExport records two applications as the worker does and reads
// them back for an export: oldest first, each with its journal in order,
// the amounts of the events asked for only, the filters.
func TestEachForExport(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	record := func(id, siren, country string, at time.Time, events ...[3]string) {
		t.Helper()
		for i, ev := range events {
			rm := store.ReadModel{Status: ev[1]}
			if i == 0 {
				rm = store.ReadModel{Status: ev[1], SIREN: siren, Collectivite: "Commune de Saint-Étienne", Country: country,
					MissionTitle: "M", Requested: 350000, RulesVersion: "2026.1", Dossier: []byte(`{}`)}
			}
			payload := `{}`
			if ev[2] != "" {
				payload = `{"amount":` + ev[2] + `,"comment":"Dossier complet"}`
			}
			e := store.Entry{ApplicationID: id, Seq: i + 1, EventType: ev[0], Status: ev[1], ActorID: "a", ActorRole: "system",
				Payload: []byte(payload), OccurredAt: at.Add(time.Duration(i) * time.Hour)}
			if _, err := st.RecordTransition(ctx, e, rm, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The newer one is recorded first: the export is in submission order.
	record("EXP-B", "217500016", "BR", t0.Add(48*time.Hour),
		[3]string{"submitted", "submitted", ""}, [3]string{"withdrawn", "withdrawn", ""})
	record("EXP-A", "214401093", "SN", t0,
		[3]string{"submitted", "submitted", ""}, [3]string{"recommended", "awaiting_decision", "3000.00"},
		[3]string{"report_accepted", "awaiting_payment_order", "2750.5"})

	all := func(f store.ExportFilter) []store.ExportRecord {
		t.Helper()
		var out []store.ExportRecord
		if err := st.EachForExport(ctx, f, func(r *store.ExportRecord) error {
			c := *r
			c.Events = slices.Clone(r.Events)
			out = append(out, c)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := all(store.ExportFilter{AmountEvents: []string{"report_accepted"}})
	if len(got) != 2 || got[0].ID != "EXP-A" || got[1].ID != "EXP-B" {
		t.Fatalf("records %+v", got)
	}
	a := got[0]
	if a.SIREN != "214401093" || a.Country != "SN" || a.Collectivite != "Commune de Saint-Étienne" || a.RequestedCents != 350000 ||
		a.RulesVersion != "2026.1" || !a.SubmittedAt.Equal(t0) || a.Status != "awaiting_payment_order" {
		t.Errorf("EXP-A: %+v", a)
	}
	want := []store.ExportEvent{
		{Event: "submitted", Status: "submitted", At: t0},
		{Event: "recommended", Status: "awaiting_decision", At: t0.Add(time.Hour)}, // its amount was not asked for
		{Event: "report_accepted", Status: "awaiting_payment_order", At: t0.Add(2 * time.Hour), Amount: "2750.5"},
	}
	if !slices.Equal(a.Events, want) {
		t.Errorf("EXP-A's journal\n got %+v\nwant %+v", a.Events, want)
	}
	if len(got[1].Events) != 2 || got[1].Events[1].Event != "withdrawn" {
		t.Errorf("EXP-B's journal: %+v", got[1].Events)
	}

	for _, c := range []struct {
		f    store.ExportFilter
		want []string
	}{
		{store.ExportFilter{Status: "withdrawn"}, []string{"EXP-B"}},
		{store.ExportFilter{Country: "SN"}, []string{"EXP-A"}},
		{store.ExportFilter{SIREN: "217500016"}, []string{"EXP-B"}},
		{store.ExportFilter{SubmittedFrom: t0.Add(time.Hour)}, []string{"EXP-B"}},
		{store.ExportFilter{SubmittedBefore: t0.Add(48 * time.Hour)}, []string{"EXP-A"}},
		{store.ExportFilter{Status: "withdrawn", Country: "SN"}, nil},
	} {
		var ids []string
		for _, r := range all(c.f) {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("%+v: %v, want %v", c.f, ids, c.want)
		}
	}

	stop := errors.New("client gone")
	n := 0
	err := st.EachForExport(ctx, store.ExportFilter{}, func(*store.ExportRecord) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("an error of fn: %v after %d records", err, n)
	}
}
