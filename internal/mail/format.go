package mail

import (
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // deadlines are shown in Paris time even on hosts without a zoneinfo database

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// paris is the time zone DAECT works in: a deadline is a date in Paris, whatever
// the server's zone.
var paris = mustLoadLocation("Europe/Paris")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // cannot happen: time/tzdata is embedded
	}
	return loc
}

// FormatEurosFR formats an amount in euro cents the French way: "4 500,00 €".
// Integer arithmetic only, so no amount is ever rounded.
func FormatEurosFR(cents int64) string {
	sign, whole, frac := splitCents(cents)
	return sign + groupThousands(whole, " ") + "," + frac + " €"
}

// FormatEurosEN formats an amount in euro cents the English way: "EUR 4,500.00".
func FormatEurosEN(cents int64) string {
	sign, whole, frac := splitCents(cents)
	return "EUR " + sign + groupThousands(whole, ",") + "." + frac
}

// splitCents returns the sign, the whole euros and the two-digit cents.
// It goes through uint64 so that math.MinInt64 has an absolute value too.
func splitCents(cents int64) (sign, whole, frac string) {
	abs := uint64(cents)
	if cents < 0 {
		sign = "-"
		abs = -abs
	}
	frac = strconv.FormatUint(abs%100, 10)
	if len(frac) == 1 {
		frac = "0" + frac
	}
	return sign, strconv.FormatUint(abs/100, 10), frac
}

func groupThousands(digits, sep string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

var (
	monthsFR = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
		"août", "septembre", "octobre", "novembre", "décembre"}
	monthsEN = [...]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
)

// formatDateFR writes "1er juillet 2026", "15 juillet 2026".
func formatDateFR(t time.Time) string {
	day := strconv.Itoa(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return day + " " + monthsFR[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// formatDateEN writes "15 July 2026".
func formatDateEN(t time.Time) string {
	return strconv.Itoa(t.Day()) + " " + monthsEN[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// dayFR and dayEN format a YYYY-MM-DD date; anything else is shown as given
// rather than failing the whole e-mail.
func dayFR(s string) string {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return formatDateFR(t)
	}
	return s
}

func dayEN(s string) string {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return formatDateEN(t)
	}
	return s
}

func deadlineFR(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatDateFR(lastDay(t))
}

func deadlineEN(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatDateEN(lastDay(t))
}

// lastDay is the day a deadline falls on, in Paris; a deadline at midnight
// (a report due "by the end of" a day) falls on the day before.
func lastDay(t time.Time) time.Time {
	p := t.In(paris)
	if p.Hour() == 0 && p.Minute() == 0 && p.Second() == 0 && p.Nanosecond() == 0 {
		return p.Add(-time.Nanosecond)
	}
	return p
}

// countryFR and countryEN turn an ISO 3166-1 code into "Sénégal (SN)" /
// "Senegal (SN)"; a value that is not a known code is shown unchanged.
func countryFR(code string) string { return countryName(display.French.Regions(), code) }
func countryEN(code string) string { return countryName(display.English.Regions(), code) }

func countryName(names display.Namer, code string) string {
	region, err := language.ParseRegion(code)
	if err != nil || !region.IsCountry() {
		return code
	}
	name := names.Name(region)
	if name == "" {
		return code
	}
	return name + " (" + region.String() + ")"
}

// Opinion values as the lifecycle records them.
var (
	opinionsFR = map[string]string{
		"favorable":   "favorable",
		"unfavorable": "défavorable",
		"reserved":    "réservé",
		"not_given":   "non rendu dans le délai (avis réputé rendu)",
	}
	opinionsEN = map[string]string{
		"favorable":   "favourable",
		"unfavorable": "unfavourable",
		"reserved":    "reserved",
		"not_given":   "not given in time (deemed given)",
	}
)

func opinionFR(v string) string { return lookup(opinionsFR, v) }
func opinionEN(v string) string { return lookup(opinionsEN, v) }

// FlagTravelAdviceOrange is the flag the submission raises for a destination under
// the Ministry's orange travel advice ("déconseillé sauf raison impérative").
const FlagTravelAdviceOrange = "travel_advice_orange"

var (
	flagsFR = map[string]string{
		FlagTravelAdviceOrange: "destination classée orange par les Conseils aux voyageurs (déconseillé sauf raison impérative)",
	}
	flagsEN = map[string]string{
		FlagTravelAdviceOrange: "destination under orange travel advice (travel advised against except for imperative reasons)",
	}
)

func flagFR(v string) string { return lookup(flagsFR, v) }
func flagEN(v string) string { return lookup(flagsEN, v) }

// lookup translates a known code; an unknown one is shown as is, so a new flag
// or opinion still reaches the reader before its wording is added here.
func lookup(m map[string]string, v string) string {
	if s, ok := m[v]; ok {
		return s
	}
	return v
}

// The wordings of the e-mails, for the web application's pages: one
// vocabulary for both. lang is "fr" or "en".

// Euros formats cents as the language writes amounts.
func Euros(cents int64, lang string) string { return pick(lang, FormatEurosFR, FormatEurosEN)(cents) }

// Date formats the day of t, in its own location, as the language writes it.
func Date(t time.Time, lang string) string { return pick(lang, formatDateFR, formatDateEN)(t) }

// Deadline formats a deadline's last day (a midnight deadline reads as the
// day before).
func Deadline(t time.Time, lang string) string { return pick(lang, deadlineFR, deadlineEN)(t) }

// Country names a country by its ISO code.
func Country(code, lang string) string { return pick(lang, countryFR, countryEN)(code) }

// Opinion names an embassy's opinion.
func Opinion(v, lang string) string { return pick(lang, opinionFR, opinionEN)(v) }

// Flag explains a flag of the application.
func Flag(v, lang string) string { return pick(lang, flagFR, flagEN)(v) }

func pick[F any](lang string, fr, en F) F {
	if lang == "en" {
		return en
	}
	return fr
}
