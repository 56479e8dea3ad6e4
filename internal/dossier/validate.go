package dossier

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/go-playground/locales/en"
	"github.com/go-playground/locales/fr"
	ut "github.com/go-playground/universal-translator"
	"github.com/go-playground/validator/v10"
	en_translations "github.com/go-playground/validator/v10/translations/en"
	fr_translations "github.com/go-playground/validator/v10/translations/fr"
)

// engine is the one validator of the package with its two translators. The
// validator caches each struct's parsed tags, so it is built once and shared
// (it is safe for concurrent use).
type engine struct {
	v      *validator.Validate
	fr, en ut.Translator
}

var std = newEngine()

func newEngine() *engine {
	// WithRequiredStructEnabled makes `required` on a nested struct mean
	// "present and not empty" instead of being silently skipped.
	v := validator.New(validator.WithRequiredStructEnabled())
	// Name fields by their JSON keys, so that Namespace() is the JSON path
	// the client sent (agents[1].name), not the Go one (Agents[1].Name).
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		if name, ok := jsonName(f); ok {
			return name
		}
		return f.Name
	})
	must(v.RegisterValidation(RuleSIREN, func(fl validator.FieldLevel) bool { return ValidSIREN(fl.Field().String()) }))
	must(v.RegisterValidation(RulePhone, func(fl validator.FieldLevel) bool { return ValidPhone(fl.Field().String()) }))

	uni := ut.New(fr.New(), fr.New(), en.New())
	frT, _ := uni.GetTranslator("fr")
	enT, _ := uni.GetTranslator("en")
	must(fr_translations.RegisterDefaultTranslations(v, frT))
	must(en_translations.RegisterDefaultTranslations(v, enT))
	for tag, m := range tagMessages {
		registerTagMessage(v, frT, tag, m.FR)
		registerTagMessage(v, enT, tag, m.EN)
	}
	return &engine{v: v, fr: frT, en: enT}
}

func registerTagMessage(v *validator.Validate, t ut.Translator, tag, text string) {
	must(v.RegisterTranslation(tag, t,
		func(t ut.Translator) error { return t.Add(tag, text, true) },
		func(t ut.Translator, fe validator.FieldError) string {
			s, err := t.T(tag, fe.Field())
			if err != nil {
				return fe.Error()
			}
			return s
		}))
}

// must panics at package initialisation on a registration error: that is a
// programming error no request could cause.
func must(err error) {
	if err != nil {
		panic("dossier: validator setup: " + err.Error())
	}
}

// ValidSIREN tells whether s is a SIREN: exactly 9 ASCII digits whose Luhn
// sum is a multiple of 10.
func ValidSIREN(s string) bool {
	if len(s) != 9 {
		return false
	}
	sum := 0
	for i := range 9 {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		n := int(c - '0')
		// Luhn doubles every second digit counting from the check digit,
		// which is the last one: with 9 digits, the odd positions.
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

var (
	// French numbers: 0 then 9 digits, or +33 then 9 digits without the 0,
	// digit pairs optionally separated by a space or a dot.
	phoneFR = regexp.MustCompile(`^(?:0|\+33[ .]?)[1-9](?:[ .]?[0-9]{2}){4}$`)
	// E.164: + then at most 15 digits, no leading zero in the country code.
	phoneE164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// ValidPhone tells whether s is a French phone number (01 23 45 67 89,
// 01.23.45.67.89, +33 1 23 45 67 89) or an international one in E.164 form
// (+221771234567): the contact person may sit abroad.
func ValidPhone(s string) bool {
	return phoneFR.MatchString(s) || phoneE164.MatchString(s)
}

// Validate checks a dossier against the programme policy, as of now (the
// submission time: its calendar day in now's location is the day of
// submission, so pass now in Europe/Paris to count French days).
//
// Every problem is reported, in a *ValidationError of kind KindInvalid
// (except within agents past the policy's maximum, refused as a whole); a
// check across fields is skipped when one of its inputs already failed on
// its own, so that a missing start date does not also yield a date-order
// error. The budget balance is reported on "budget" as a whole, since no
// single line is at fault when the sum is off.
//
// flags are the points the embassy and the instructor must see
// (FlagTravelAdviceOrange, FlagTravelAdviceRedEmbassyRequested). They are
// computed whenever the partner country is valid, even if err is not nil.
func Validate(d Dossier, p Policy, now time.Time) (flags []string, err error) {
	c := check{d: d, p: p, now: now, failed: map[string]bool{}}
	// Agents past the maximum are refused as a whole by agents_count; their
	// details would only add errors, and a body holding thousands of empty
	// agents would cost seconds of validation for nothing.
	tagged := d
	if limit := max(p.MaxAgents, 0); len(d.Agents) > limit {
		tagged.Agents = d.Agents[:limit]
	}
	if err := std.v.Struct(tagged); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			// Only an invalid argument (not a struct) gets here, which a
			// Dossier value cannot be.
			return nil, err
		}
		for _, fe := range verrs {
			c.basic(std.fieldError(fe))
		}
	}
	for _, fe := range textErrors(reflect.ValueOf(tagged), "", false) {
		c.basic(fe)
	}
	c.dates()
	c.agents()
	c.budget()
	flags = c.country()
	if len(c.errs) > 0 {
		return flags, newValidationError(KindInvalid, c.errs)
	}
	return flags, nil
}

// fieldError turns a validator error into a FieldError with both messages.
func (e *engine) fieldError(fe validator.FieldError) FieldError {
	path := jsonPath(fe.Namespace())
	return FieldError{
		Field:     path,
		Rule:      fe.Tag(),
		MessageFR: e.message(fe, e.fr, path, genericMessage.FR),
		MessageEN: e.message(fe, e.en, path, genericMessage.EN),
	}
}

func (e *engine) message(fe validator.FieldError, t ut.Translator, path, generic string) string {
	msg := fe.Translate(t)
	if msg == fe.Error() {
		// No translation for this tag: Translate fell back to the
		// validator's debugging text.
		return fmt.Sprintf(generic, path, fe.Tag())
	}
	// The library names the field by its last key ("name"); with several
	// agents that is ambiguous, so say which one (agents[1].name).
	if leaf := fe.Field(); strings.HasPrefix(msg, leaf) {
		msg = path + msg[len(leaf):]
	}
	return msg
}

// jsonPath drops the root type name from a validator namespace:
// Dossier.agents[0].name becomes agents[0].name.
func jsonPath(ns string) string {
	_, rest, ok := strings.Cut(ns, ".")
	if !ok || rest == "" {
		return "$"
	}
	return rest
}

// check accumulates the errors of one Validate call.
type check struct {
	d      Dossier
	p      Policy
	now    time.Time
	errs   []FieldError
	failed map[string]bool // paths that failed a tag check
}

// basic records an error of the validator's own checks (tags).
func (c *check) basic(fe FieldError) {
	c.errs = append(c.errs, fe)
	c.failed[fe.Field] = true
}

// fail records an error of a cross-field check. It does not mark the field
// as failed: the checks are independent of each other, so a request both
// above the share and above the cap is told both.
func (c *check) fail(field, rule, fr, en string) {
	c.errs = append(c.errs, FieldError{Field: field, Rule: rule, MessageFR: fr, MessageEN: en})
}

// ok tells whether none of the paths, nor any object or list holding them,
// failed the tag checks: a cross-field check runs only on sound inputs.
func (c *check) ok(paths ...string) bool {
	for _, p := range paths {
		for {
			if c.failed[p] {
				return false
			}
			i := strings.LastIndexAny(p, ".[")
			if i < 0 {
				break
			}
			p = p[:i]
		}
	}
	return true
}

// day numbers a calendar day, ignoring the time of day and zone, so that
// differences are whole days even across DST changes.
func day(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func (c *check) dates() {
	m := c.d.Mission
	const start, end = "mission.start_date", "mission.end_date"
	if c.ok(start) {
		today := day(c.now)
		if earliest := today + int64(c.p.MinNoticeDays); day(m.StartDate.Time) < earliest {
			first := time.Unix(earliest*86400, 0).UTC()
			c.fail(start, RuleMinNotice,
				"La date de début doit être au moins "+frDays(c.p.MinNoticeDays)+" après le dépôt (au plus tôt le "+frDate(first)+")",
				"The start date must be at least "+enDays(c.p.MinNoticeDays)+" after submission ("+enDate(first)+" at the earliest)")
		}
	}
	if !c.ok(start, end) {
		return
	}
	if day(m.EndDate.Time) < day(m.StartDate.Time) {
		c.fail(end, RuleDateOrder,
			"La date de fin ("+frDate(m.EndDate.Time)+") doit être le même jour ou après la date de début ("+frDate(m.StartDate.Time)+")",
			"The end date ("+enDate(m.EndDate.Time)+") must be on or after the start date ("+enDate(m.StartDate.Time)+")")
		return
	}
	if n := int(day(m.EndDate.Time) - day(m.StartDate.Time) + 1); n < c.p.MinMissionDays || n > c.p.MaxMissionDays {
		c.fail(end, RuleMissionLength,
			"La mission doit durer entre "+frDays(c.p.MinMissionDays)+" et "+frDays(c.p.MaxMissionDays)+", premier et dernier jours compris (ici "+frDays(n)+")",
			"The mission must last between "+enDays(c.p.MinMissionDays)+" and "+enDays(c.p.MaxMissionDays)+", first and last days included (here "+enDays(n)+")")
	}
}

func (c *check) agents() {
	if !c.ok("agents") {
		return
	}
	if n := len(c.d.Agents); n < c.p.MinAgents || n > c.p.MaxAgents {
		c.fail("agents", RuleAgentsCount,
			fmt.Sprintf("La mission doit compter entre %d et %d agents (ici %d)", c.p.MinAgents, c.p.MaxAgents, n),
			fmt.Sprintf("The mission must have between %d and %d agents (here %d)", c.p.MinAgents, c.p.MaxAgents, n))
	}
}

func (c *check) budget() {
	b := c.d.Budget
	const requested = "budget.requested"
	lines := []string{"budget.travel", "budget.accommodation", "budget.daily_allowances", "budget.other"}
	total := addMoney(b.Travel, b.Accommodation, b.DailyAllowances, b.Other)

	if c.ok(append(lines, requested, "budget.own_share")...) {
		if funded := addMoney(b.Requested, b.OwnShare); funded != total {
			c.fail("budget", RuleBudgetBalance,
				"Le montant demandé ("+frEuros(b.Requested)+") et la part de la collectivité ("+frEuros(b.OwnShare)+
					") doivent totaliser le coût de la mission ("+frEuros(total)+" : transport, hébergement, indemnités journalières et autres frais)",
				"The amount requested ("+enEuros(b.Requested)+") plus the collectivité's own share ("+enEuros(b.OwnShare)+
					") must equal the mission cost ("+enEuros(total)+": travel, accommodation, daily allowances and other costs)")
		}
	}
	if c.ok(append(lines, requested, "partner.country")...) {
		country := c.d.Partner.Country
		if limit := c.p.MaxShare(total, country); b.Requested > limit {
			pct := c.p.SharePercent(country)
			frWhy, enWhy := "", ""
			if c.p.IsLeastDeveloped(country) {
				frWhy, enWhy = ", taux des pays les moins avancés", ", the least-developed-country rate"
			}
			c.fail(requested, RuleMaxShare,
				fmt.Sprintf("Le montant demandé (%s) dépasse %d %% du coût de la mission (%s%s), soit %s au plus",
					frEuros(b.Requested), pct, frEuros(total), frWhy, frEuros(limit)),
				fmt.Sprintf("The amount requested (%s) exceeds %d%% of the mission cost (%s%s), that is %s at most",
					enEuros(b.Requested), pct, enEuros(total), enWhy, enEuros(limit)))
		}
	}
	if c.ok(requested) && b.Requested > c.p.CapPerMission {
		c.fail(requested, RuleMaxCap,
			"Le montant demandé ("+frEuros(b.Requested)+") dépasse le plafond de "+frEuros(c.p.CapPerMission)+" par mission",
			"The amount requested ("+enEuros(b.Requested)+") exceeds the cap of "+enEuros(c.p.CapPerMission)+" per mission")
	}
}

// country refuses red destinations the embassy did not ask for, and returns
// the flags of the destination.
func (c *check) country() (flags []string) {
	const field = "partner.country"
	if !c.ok(field) {
		return nil
	}
	country := c.d.Partner.Country
	if c.p.IsRed(country) {
		if !c.d.EmbassyRequested {
			c.fail(field, RuleTravelAdviceRed,
				"Le ministère déconseille formellement les déplacements vers ce pays ("+country+", zone rouge) : une mission n'y est possible qu'à la demande de l'ambassade",
				"The Ministry formally advises against travel to this country ("+country+", red zone): a mission there is only possible at the embassy's request")
		} else {
			flags = append(flags, FlagTravelAdviceRedEmbassyRequested)
		}
	}
	if c.p.IsOrange(country) {
		flags = append(flags, FlagTravelAdviceOrange)
	}
	return flags
}
