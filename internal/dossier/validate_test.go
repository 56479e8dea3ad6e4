package dossier

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateValid(t *testing.T) {
	flags, err := Validate(validDossier(), testPolicy(), testNow)
	if err != nil {
		t.Fatalf("valid dossier refused: %v", err)
	}
	if len(flags) != 0 {
		t.Errorf("flags = %v, want none", flags)
	}
}

func TestValidateRules(t *testing.T) {
	type want struct{ field, rule, fr, en string } // fr, en: exact when not empty
	agent := Agent{Name: "A", Position: "P", Expertise: "E"}
	tests := []struct {
		name   string
		change func(d *Dossier)
		want   []want
	}{
		{"required", func(d *Dossier) { d.Collectivite.Name = "" }, []want{{"collectivite.name", "required",
			"collectivite.name est un champ obligatoire", "collectivite.name is a required field"}}},
		{"required in a list names the element", func(d *Dossier) { d.Agents[1].Name = "" }, []want{{"agents[1].name", "required",
			"agents[1].name est un champ obligatoire", "agents[1].name is a required field"}}},
		{"required object", func(d *Dossier) { d.Budget = Budget{} }, []want{{"budget", "required",
			"budget est un champ obligatoire", "budget is a required field"}}},
		{"max", func(d *Dossier) { d.Mission.Title = strings.Repeat("é", 201) }, []want{{"mission.title", "max", "", ""}}},
		{"oneof", func(d *Dossier) { d.Collectivite.Kind = "ville" }, []want{{"collectivite.kind", "oneof", "", ""}}},
		{"oneof partnership", func(d *Dossier) { d.Partner.Partnership = "maybe" }, []want{{"partner.partnership", "oneof", "", ""}}},
		{"email", func(d *Dossier) { d.Contact.Email = "anne.dupont" }, []want{{"contact.email", "email",
			"contact.email doit être une adresse email valide", "contact.email must be a valid email address"}}},
		{"siren bad check digit", func(d *Dossier) { d.Collectivite.SIREN = "213105555" }, []want{{"collectivite.siren", "siren",
			"Le SIREN doit comporter 9 chiffres sans espace, dont une clé de contrôle valide (algorithme de Luhn)",
			"The SIREN must be 9 digits without spaces, ending with a valid check digit (Luhn algorithm)"}}},
		{"siren too short", func(d *Dossier) { d.Collectivite.SIREN = "21310555" }, []want{{"collectivite.siren", "siren", "", ""}}},
		{"siren with spaces", func(d *Dossier) { d.Collectivite.SIREN = "213 105 554" }, []want{{"collectivite.siren", "siren", "", ""}}},
		{"phone", func(d *Dossier) { d.Contact.Phone = "12 34" }, []want{{"contact.phone", "phone",
			"Le téléphone doit être un numéro français (01 23 45 67 89 ou +33 1 23 45 67 89) ou international au format E.164 (+221771234567)",
			"The phone must be a French number (01 23 45 67 89 or +33 1 23 45 67 89) or an international one in E.164 format (+221771234567)"}}},
		{"country lower case", func(d *Dossier) { d.Partner.Country = "br" }, []want{{"partner.country", "iso3166_1_alpha2",
			"partner.country doit être un code pays ISO 3166-1 alpha-2 en majuscules, par exemple SN ou BR",
			"partner.country must be an upper-case ISO 3166-1 alpha-2 country code, such as SN or BR"}}},
		{"country unknown", func(d *Dossier) { d.Partner.Country = "XX" }, []want{{"partner.country", "iso3166_1_alpha2", "", ""}}},
		{"start date missing: no date checks", func(d *Dossier) { d.Mission.StartDate = Date{} }, []want{{"mission.start_date", "required", "", ""}}},
		{"date_order", func(d *Dossier) { d.Mission.EndDate = date("2030-05-05") }, []want{{"mission.end_date", "date_order",
			"La date de fin (05/05/2030) doit être le même jour ou après la date de début (06/05/2030)",
			"The end date (2030-05-05) must be on or after the start date (2030-05-06)"}}},
		{"min_notice", func(d *Dossier) {
			d.Mission.StartDate, d.Mission.EndDate = date("2026-03-22"), date("2026-03-25")
		}, []want{{"mission.start_date", "min_notice",
			"La date de début doit être au moins 21 jours après le dépôt (au plus tôt le 23/03/2026)",
			"The start date must be at least 21 days after submission (2026-03-23 at the earliest)"}}},
		{"min_notice in the past", func(d *Dossier) {
			d.Mission.StartDate, d.Mission.EndDate = date("2020-01-01"), date("2020-01-02")
		}, []want{{"mission.start_date", "min_notice", "", ""}}},
		{"mission_length", func(d *Dossier) { d.Mission.EndDate = date("2030-05-21") }, []want{{"mission.end_date", "mission_length",
			"La mission doit durer entre 1 jour et 15 jours, premier et dernier jours compris (ici 16 jours)",
			"The mission must last between 1 day and 15 days, first and last days included (here 16 days)"}}},
		{"agents_count too many", func(d *Dossier) { d.Agents = slices.Repeat([]Agent{agent}, 5) }, []want{{"agents", "agents_count",
			"La mission doit compter entre 1 et 4 agents (ici 5)", "The mission must have between 1 and 4 agents (here 5)"}}},
		{"agents past the maximum are not detailed", func(d *Dossier) {
			d.Agents = append(slices.Repeat([]Agent{agent}, 4), Agent{}, Agent{})
			d.Agents[3].Name = ""
		}, []want{{"agents", "agents_count", "", ""}, {"agents[3].name", "required", "", ""}}},
		{"agents_count empty list", func(d *Dossier) { d.Agents = []Agent{} }, []want{{"agents", "agents_count", "", ""}}},
		{"agents missing", func(d *Dossier) { d.Agents = nil }, []want{{"agents", "required", "", ""}}},
		{"gte: no balance or share check on a negative line", func(d *Dossier) { d.Budget.Travel = -1 }, []want{{"budget.travel", "gte", "", ""}}},
		{"gt", func(d *Dossier) { d.Budget.Requested, d.Budget.OwnShare = 0, Euros(4800) }, []want{{"budget.requested", "gt", "", ""}}},
		{"budget_balance", func(d *Dossier) { d.Budget.OwnShare = Euros(1000) }, []want{{"budget", "budget_balance",
			"Le montant demandé (3 000 €) et la part de la collectivité (1 000 €) doivent totaliser le coût de la mission (4 800 € : transport, hébergement, indemnités journalières et autres frais)",
			"The amount requested (€3,000) plus the collectivité's own share (€1,000) must equal the mission cost (€4,800: travel, accommodation, daily allowances and other costs)"}}},
		{"max_share", func(d *Dossier) { d.Budget.Requested, d.Budget.OwnShare = Euros(3400), Euros(1400) }, []want{{"budget.requested", "max_share",
			"Le montant demandé (3 400 €) dépasse 70 % du coût de la mission (4 800 €), soit 3 360 € au plus",
			"The amount requested (€3,400) exceeds 70% of the mission cost (€4,800), that is €3,360 at most"}}},
		{"max_share least-developed", func(d *Dossier) {
			d.Partner.Country = "SN"
			d.Budget.Other = Euros(300) + 1 // 4800.01 total: the limit rounds down to the cent
			d.Budget.Requested, d.Budget.OwnShare = Euros(4400), Euros(400)+1
		}, []want{{"budget.requested", "max_share",
			"Le montant demandé (4 400 €) dépasse 90 % du coût de la mission (4 800,01 €, taux des pays les moins avancés), soit 4 320 € au plus",
			"The amount requested (€4,400) exceeds 90% of the mission cost (€4,800.01, the least-developed-country rate), that is €4,320 at most"}}},
		{"max_cap", func(d *Dossier) {
			d.Budget.Travel = Euros(7600) // total 10,000: 70 % is 7,000
			d.Budget.Requested, d.Budget.OwnShare = Euros(5500), Euros(4500)
		}, []want{{"budget.requested", "max_cap",
			"Le montant demandé (5 500 €) dépasse le plafond de 5 000 € par mission",
			"The amount requested (€5,500) exceeds the cap of €5,000 per mission"}}},
		{"max_share and max_cap", func(d *Dossier) {
			d.Budget.Travel = Euros(7600)
			d.Budget.Requested, d.Budget.OwnShare = Euros(8000), Euros(2000)
		}, []want{{"budget.requested", "max_cap", "", ""}, {"budget.requested", "max_share", "", ""}}},
		{"travel_advice_red", func(d *Dossier) { d.Partner.Country = "SY" }, []want{{"partner.country", "travel_advice_red",
			"Le ministère déconseille formellement les déplacements vers ce pays (SY, zone rouge) : une mission n'y est possible qu'à la demande de l'ambassade",
			"The Ministry formally advises against travel to this country (SY, red zone): a mission there is only possible at the embassy's request"}}},
		{"several errors, all reported", func(d *Dossier) {
			d.Collectivite.SIREN = "1"
			d.Contact.Email = ""
			d.Mission.EndDate = date("2030-06-30")
			d.Budget.OwnShare = 0
		}, []want{
			{"budget", "budget_balance", "", ""},
			{"collectivite.siren", "siren", "", ""},
			{"contact.email", "required", "", ""},
			{"mission.end_date", "mission_length", "", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDossier()
			tt.change(&d)
			_, err := Validate(d, testPolicy(), testNow)
			if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrMalformed) {
				t.Fatalf("errors.Is(ErrInvalid) false for %v", err)
			}
			ve := asValidationError(t, err, KindInvalid)
			var wantPairs []string
			for _, w := range tt.want {
				wantPairs = append(wantPairs, w.field+" "+w.rule)
			}
			if got := pairs(ve.Fields); !slices.Equal(got, wantPairs) {
				t.Fatalf("errors = %q, want %q", got, wantPairs)
			}
			for i, w := range tt.want {
				if got := ve.Fields[i]; w.fr != "" && (got.MessageFR != w.fr || got.MessageEN != w.en) {
					t.Errorf("messages of %s %s:\n got  %q\n      %q\n want %q\n      %q", w.field, w.rule, got.MessageFR, got.MessageEN, w.fr, w.en)
				}
			}
		})
	}
}

func TestValidateEmptyDossier(t *testing.T) {
	_, err := Validate(Dossier{}, testPolicy(), testNow)
	ve := asValidationError(t, err, KindInvalid)
	want := []string{"agents required", "budget required", "collectivite required", "contact required", "mission required", "partner required"}
	if got := pairs(ve.Fields); !slices.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

func TestValidateBoundaries(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *Dossier)
	}{
		{"start exactly 21 days after submission", func(d *Dossier) {
			d.Mission.StartDate, d.Mission.EndDate = date("2026-03-23"), date("2026-03-23")
		}},
		{"one-day mission", func(d *Dossier) { d.Mission.EndDate = d.Mission.StartDate }},
		{"15-day mission", func(d *Dossier) { d.Mission.EndDate = date("2030-05-20") }},
		{"4 agents", func(d *Dossier) { d.Agents = slices.Repeat(d.Agents[:1], 4) }},
		{"requested exactly 70 %", func(d *Dossier) { d.Budget.Requested, d.Budget.OwnShare = Euros(3360), Euros(1440) }},
		{"requested exactly the cap", func(d *Dossier) {
			d.Budget.Travel = Euros(7600)
			d.Budget.Requested, d.Budget.OwnShare = Euros(5000), Euros(5000)
		}},
		{"red destination asked for by the embassy", func(d *Dossier) { d.Partner.Country, d.EmbassyRequested = "SY", true }},
		{"French mobile with +33", func(d *Dossier) { d.Contact.Phone = "+33 6 12 34 56 78" }},
		{"French number with dots", func(d *Dossier) { d.Contact.Phone = "05.61.22.29.22" }},
		{"E.164 foreign number", func(d *Dossier) { d.Contact.Phone = "+221771234567" }},
		{"other real SIREN (Paris)", func(d *Dossier) { d.Collectivite.SIREN = "217500016" }},
		{"kind region", func(d *Dossier) { d.Collectivite.Kind = KindRegion }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDossier()
			tt.change(&d)
			if _, err := Validate(d, testPolicy(), testNow); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

// The day of submission is the calendar day of now in now's location.
func TestValidateSubmissionDayInLocation(t *testing.T) {
	d := validDossier()
	d.Mission.StartDate, d.Mission.EndDate = date("2026-03-24"), date("2026-03-24")
	// 2 March 23:30 UTC is already 3 March in Paris: 21 days later is the 24th.
	paris := time.FixedZone("CET", 3600)
	late := time.Date(2026, time.March, 2, 23, 30, 0, 0, time.UTC)
	if _, err := Validate(d, testPolicy(), late.In(paris)); err != nil {
		t.Errorf("refused on the 3rd in Paris: %v", err)
	}
	d.Mission.StartDate, d.Mission.EndDate = date("2026-03-23"), date("2026-03-23")
	_, err := Validate(d, testPolicy(), late.In(paris))
	if ve := asValidationError(t, err, KindInvalid); !slices.Equal(pairs(ve.Fields), []string{"mission.start_date min_notice"}) {
		t.Errorf("errors = %q", pairs(ve.Fields))
	}
}

func TestValidateFlags(t *testing.T) {
	tests := []struct {
		country  string
		embassy  bool
		want     []string
		refusing bool
	}{
		{"BR", false, nil, false},
		{"HT", false, []string{FlagTravelAdviceOrange}, false},
		{"SY", true, []string{FlagTravelAdviceRedEmbassyRequested}, false},
		{"SY", false, nil, true},
	}
	for _, tt := range tests {
		d := validDossier()
		d.Partner.Country, d.EmbassyRequested = tt.country, tt.embassy
		flags, err := Validate(d, testPolicy(), testNow)
		if !slices.Equal(flags, tt.want) {
			t.Errorf("%s: flags = %v, want %v", tt.country, flags, tt.want)
		}
		if (err != nil) != tt.refusing {
			t.Errorf("%s: err = %v", tt.country, err)
		}
	}
}

func TestValidationError(t *testing.T) {
	ve := newValidationError(KindInvalid, []FieldError{
		{Field: "mission.end_date", Rule: "mission_length", MessageEN: "b"},
		{Field: "agents", Rule: "agents_count", MessageEN: "a"},
		{Field: "mission.end_date", Rule: "date_order", MessageEN: "c"},
	})
	want := "dossier invalid: agents (agents_count): a; mission.end_date (date_order): c; mission.end_date (mission_length): b"
	if ve.Error() != want {
		t.Errorf("Error() = %q, want %q", ve.Error(), want)
	}
	if !errors.Is(ve, ErrInvalid) || errors.Is(ve, ErrTooLarge) || errors.Is(ve, ErrMalformed) {
		t.Error("errors.Is does not follow the kind")
	}
	if !errors.Is(&ValidationError{}, ErrInvalid) {
		t.Error("a zero Kind is not KindInvalid")
	}

	many := make([]FieldError, MaxFieldErrors+5)
	for i := range many {
		many[i] = FieldError{Field: "x", Rule: "r", MessageFR: "fr", MessageEN: "en"}
	}
	ve = newValidationError(KindMalformed, many)
	if len(ve.Fields) != MaxFieldErrors+1 || ve.Fields[MaxFieldErrors].Rule != RuleTooManyErrors {
		t.Errorf("list not capped: %d entries, last %+v", len(ve.Fields), ve.Fields[len(ve.Fields)-1])
	}
}

func TestValidSIREN(t *testing.T) {
	for _, s := range []string{"213105554", "217500016", "216901231", "211300553", "214401093", "213300635"} {
		if !ValidSIREN(s) {
			t.Errorf("%s refused", s)
		}
	}
	for _, s := range []string{"", "213105555", "21310555", "2131055540", "21310555a", "２13105554", "-13105554"} {
		if ValidSIREN(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestValidPhone(t *testing.T) {
	for _, s := range []string{"0561222922", "05 61 22 29 22", "05.61.22.29.22", "+33561222922", "+33 5 61 22 29 22", "+33 6 12 34 56 78", "+221771234567"} {
		if !ValidPhone(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "12 34", "00 61 22 29 22", "05 61 22 29", "+33 0 61 22 29 22", "+0123456789", "05-61-22-29-22", "tel 0561222922"} {
		if ValidPhone(s) {
			t.Errorf("%q accepted", s)
		}
	}
}
