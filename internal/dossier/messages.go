package dossier

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Rule names carried by FieldError.Rule, besides the validator's own tags
// (required, max, oneof, email, gt, gte, iso3166_1_alpha2).
const (
	// Tags registered on the validator.
	RuleSIREN = "siren" // 9 digits with a Luhn check digit
	RulePhone = "phone" // French number, or E.164

	// Checks across fields and against the Policy, made by Validate.
	RuleDateOrder       = "date_order"        // mission.end_date before start_date
	RuleMinNotice       = "min_notice"        // mission.start_date too soon after submission
	RuleMissionLength   = "mission_length"    // mission.end_date: too short or too long
	RuleAgentsCount     = "agents_count"      // agents: too few or too many
	RuleBudgetBalance   = "budget_balance"    // budget: requested + own_share != total
	RuleMaxShare        = "max_share"         // budget.requested above the share of the total
	RuleMaxCap          = "max_cap"           // budget.requested above the per-mission cap
	RuleTravelAdviceRed = "travel_advice_red" // partner.country red, not asked by the embassy

	// Made on every text of an input by Validate and ValidateStruct.
	RuleNoControl = "nocontrol" // a control character (tab and line breaks allowed in multi-line texts)

	// Decoding, made by Decode.
	RuleMalformed      = "malformed"       // $: not JSON, not one object, trailing data
	RuleTooLarge       = "too_large"       // $: body over the size limit
	RuleUnknownField   = "unknown_field"   // a key the dossier does not have
	RuleDuplicateField = "duplicate_field" // a key given twice in one object
	RuleType           = "type"            // a value of the wrong JSON type
	RuleFormat         = "format"          // an amount or date that does not parse

	// RuleTooManyErrors ends a list cut at MaxFieldErrors.
	RuleTooManyErrors = "too_many_errors"
)

// Flags returned by Validate: not errors, but points for the embassy and the
// instructor to look at.
const (
	// FlagTravelAdviceOrange: the destination is "déconseillé sauf raison impérative".
	FlagTravelAdviceOrange = "travel_advice_orange"
	// FlagTravelAdviceRedEmbassyRequested: the destination is "formellement
	// déconseillé" and the dossier passes only because the embassy asked for it.
	FlagTravelAdviceRedEmbassyRequested = "travel_advice_red_embassy_requested"
)

// bilingual is a message with the same arguments in both languages.
type bilingual struct{ FR, EN string }

func (m bilingual) fr(a ...any) string { return fmt.Sprintf(m.FR, a...) }
func (m bilingual) en(a ...any) string { return fmt.Sprintf(m.EN, a...) }

var msgTooManyErrors = bilingual{
	FR: "Trop d'erreurs : seules les %d premières sont listées",
	EN: "Too many errors: only the first %d are listed",
}

// Messages of RuleNoControl: the path, the character (U+001B) and its
// position in characters from 1.
var (
	msgNoControl = bilingual{
		FR: "%s ne doit contenir aucun caractère de contrôle (ici %s, caractère n° %d)",
		EN: "%s must not contain control characters (here %s, character %d)",
	}
	msgNoControlMultiline = bilingual{
		FR: "%s ne doit contenir aucun caractère de contrôle autre que la tabulation et le saut de ligne (ici %s, caractère n° %d)",
		EN: "%s must not contain control characters other than tab and line break (here %s, character %d)",
	}
)

// Messages of the tags registered on the validator. They use the
// universal-translator syntax: {0} is the field name.
var tagMessages = map[string]bilingual{
	RuleSIREN: {
		FR: "Le SIREN doit comporter 9 chiffres sans espace, dont une clé de contrôle valide (algorithme de Luhn)",
		EN: "The SIREN must be 9 digits without spaces, ending with a valid check digit (Luhn algorithm)",
	},
	RulePhone: {
		FR: "Le téléphone doit être un numéro français (01 23 45 67 89 ou +33 1 23 45 67 89) ou international au format E.164 (+221771234567)",
		EN: "The phone must be a French number (01 23 45 67 89 or +33 1 23 45 67 89) or an international one in E.164 format (+221771234567)",
	},
	// Neither library translation covers this tag.
	"iso3166_1_alpha2": {
		FR: "{0} doit être un code pays ISO 3166-1 alpha-2 en majuscules, par exemple SN ou BR",
		EN: "{0} must be an upper-case ISO 3166-1 alpha-2 country code, such as SN or BR",
	},
}

// genericMessage stands in for a tag neither translation knows, so that a
// tag added to the model later still yields a message in both languages.
var genericMessage = bilingual{
	FR: "%s n'est pas valide (règle %s)",
	EN: "%s is not valid (rule %s)",
}

// frEuros writes 1234.5 euros the French way: "1 234,50 €"; whole amounts
// drop the cents ("5 000 €").
func frEuros(m Money) string {
	whole, cents := splitMoney(m)
	s := groupThousands(whole, " ")
	if cents != "" {
		s += "," + cents
	}
	return s + " €"
}

// enEuros writes the same amount the English way: "€1,234.50", "€5,000".
func enEuros(m Money) string {
	whole, cents := splitMoney(m)
	s := "€" + groupThousands(whole, ",")
	if cents != "" {
		s += "." + cents
	}
	return s
}

func splitMoney(m Money) (whole, cents string) {
	whole, cents, _ = strings.Cut(m.String(), ".")
	if cents == "00" {
		cents = ""
	}
	return whole, cents
}

func groupThousands(digits, sep string) string {
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return sign + b.String()
}

func frDate(t time.Time) string { return t.Format("02/01/2006") }
func enDate(t time.Time) string { return t.Format("2006-01-02") }

func frDays(n int) string {
	if n == 1 || n == -1 || n == 0 {
		return strconv.Itoa(n) + " jour"
	}
	return strconv.Itoa(n) + " jours"
}

func enDays(n int) string {
	if n == 1 || n == -1 {
		return strconv.Itoa(n) + " day"
	}
	return strconv.Itoa(n) + " days"
}

// quote shortens a client-supplied value before it is echoed in a message.
func quote(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	return string(r[:limit]) + "…"
}
