package dossier

import (
	"cmp"
	"errors"
	"slices"
	"testing"
	"time"
)

// testPolicy mirrors internal/rules/default.yaml (rules imports dossier, so
// the package's own tests cannot load it; internal/rules tests the real one).
func testPolicy() Policy {
	return Policy{
		MinAgents: 1, MaxAgents: 4,
		MinMissionDays: 1, MaxMissionDays: 15,
		MinNoticeDays:   21,
		MaxSharePercent: 70, LDCSharePercent: 90,
		CapPerMission: Euros(5000),
		LeastDeveloped: []string{"AF", "AO", "BD", "BF", "BI", "BJ", "CD", "CF", "DJ", "ER", "ET", "GM", "GN", "GW",
			"HT", "KH", "KI", "LA", "LR", "LS", "MG", "ML", "MM", "MR", "MW", "MZ", "NE", "NP", "RW", "SD", "SL", "SN",
			"SO", "SS", "ST", "TD", "TG", "TL", "TZ", "UG", "YE", "ZM"},
		TravelAdviceRed:    []string{"AF", "BF", "CF", "IR", "KP", "LY", "ML", "NE", "RU", "SD", "SO", "SS", "SY", "UA", "YE"},
		TravelAdviceOrange: []string{"HT", "IQ", "LB", "MR", "PK", "TD", "VE"},
	}
}

// testNow is the submission time of the tests.
var testNow = time.Date(2026, time.March, 2, 15, 4, 5, 0, time.UTC)

func date(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// validDossier is a dossier that passes testPolicy at testNow: Toulouse
// (SIREN 213105554) to Porto Alegre, Brazil (70 % share), 2 agents, 10 days.
func validDossier() Dossier {
	return Dossier{
		Collectivite: Collectivite{Name: "Commune de Toulouse", Kind: KindCommune, SIREN: "213105554", Region: "Occitanie"},
		Contact:      Contact{Name: "Anne Dupont", Email: "anne.dupont@mairie-toulouse.example", Phone: "05 61 22 29 22"},
		Partner:      Partner{Authority: "Prefeitura de Porto Alegre", City: "Porto Alegre", Country: "BR", Partnership: "existing"},
		Mission: Mission{
			Title: "Démocratie participative", Theme: "Gouvernance locale", Objectives: "Échanges sur le budget participatif.",
			StartDate: date("2030-05-06"), EndDate: date("2030-05-15"),
		},
		Agents: []Agent{
			{Name: "Paul Durand", Position: "Chef de projet", Expertise: "Budget participatif"},
			{Name: "Lina Haddad", Position: "Chargée de mission", Expertise: "Concertation"},
		},
		Budget: Budget{
			Travel: Euros(2400), Accommodation: Euros(1200), DailyAllowances: Euros(900), Other: Euros(300),
			Requested: Euros(3000), OwnShare: Euros(1800),
		},
	}
}

// asValidationError checks err is a *ValidationError of the given kind and
// that every entry is complete: a path, a rule, two different messages.
func asValidationError(t *testing.T, err error, kind ErrorKind) *ValidationError {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	if ve.Kind != kind {
		t.Errorf("kind = %q, want %q", ve.Kind, kind)
	}
	if len(ve.Fields) == 0 {
		t.Errorf("no FieldError in %v", err)
	}
	for _, f := range ve.Fields {
		if f.Field == "" || f.Rule == "" || f.MessageFR == "" || f.MessageEN == "" {
			t.Errorf("incomplete FieldError %+v", f)
		}
		if f.MessageFR == f.MessageEN {
			t.Errorf("same message in both languages: %+v", f)
		}
	}
	sorted := slices.IsSortedFunc(ve.Fields, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Rule, b.Rule))
	})
	// A list cut at MaxFieldErrors ends with its "$" marker, out of order.
	if !sorted && len(ve.Fields) <= MaxFieldErrors {
		t.Errorf("fields not sorted: %+v", ve.Fields)
	}
	return ve
}

// pairs reduces a list to "field rule" strings, for comparison.
func pairs(fs []FieldError) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Field + " " + f.Rule
	}
	return out
}
