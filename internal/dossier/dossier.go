// Package dossier holds the EXPE-CT application dossier: what a collectivité
// submits, its JSON form, and its validation against the programme rules.
//
// Reading a dossier is two steps. [Decode] reads the JSON body strictly and
// [Validate] checks the result against a [Policy] (the programme rules in
// force, built by rules.Rules.Policy). Both report problems as a
// *[ValidationError]: a list of [FieldError], each naming the JSON path of the
// field (collectivite.siren, agents[1].name, "$" for the whole body), a rule
// name and a message in French and English. Its [ErrorKind] tells the API
// which HTTP status to answer, and errors.Is matches the sentinels:
//
//	ErrTooLarge  413  the body exceeds the size limit (rule too_large)
//	ErrMalformed 400  the body is not a dossier document: not JSON, not one
//	                  object, an unknown or repeated key, a value of the wrong
//	                  JSON type, a malformed amount or date (rules malformed,
//	                  unknown_field, duplicate_field, type, format)
//	ErrInvalid   422  a well-formed dossier that breaks a validation rule
//
// The line between 400 and 422 is whether the body could be read into a
// Dossier at all: field-level format errors are still 400 because the
// document does not match the schema, while a missing or out-of-range value
// is a 422. Every FieldError carries a path either way, so a form can show
// it next to the right input.
package dossier

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a calendar day (YYYY-MM-DD) without time zone.
type Date struct{ time.Time }

const dateLayout = "2006-01-02"

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: YYYY-MM-DD expected", s)
	}
	return Date{t}, nil
}

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(dateLayout)
}

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD"; null and "" leave the date unset.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	// Unquote as JSON rather than trimming quotes, so escaped forms such as
	// "\u0032030-01-01" read the same as in Decode's schema check.
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: a YYYY-MM-DD string expected")
	}
	if s == "" {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Dossier is everything a collectivité submits for one mission.
type Dossier struct {
	Collectivite Collectivite `json:"collectivite" validate:"required"`
	Contact      Contact      `json:"contact" validate:"required"`
	Partner      Partner      `json:"partner" validate:"required"`
	Mission      Mission      `json:"mission" validate:"required"`
	Agents       []Agent      `json:"agents" validate:"required,dive"`
	Budget       Budget       `json:"budget" validate:"required"`
	// EmbassyRequested is set when the French embassy itself asked for the
	// mission; it lifts the refusal of red travel-advice destinations.
	EmbassyRequested bool `json:"embassy_requested,omitempty"`
}

// Collectivité kinds accepted by the programme.
const (
	KindCommune          = "commune"
	KindIntercommunalite = "intercommunalite"
	KindDepartement      = "departement"
	KindRegion           = "region"
	KindGroupement       = "groupement"
)

// Collectivite is the French local authority that applies.
type Collectivite struct {
	Name   string `json:"name" validate:"required,max=200"`
	Kind   string `json:"kind" validate:"required,oneof=commune intercommunalite departement region groupement"`
	SIREN  string `json:"siren" validate:"required,siren"`
	Region string `json:"region" validate:"required,max=100"`
}

// Contact is the person DAECT writes to about the application.
type Contact struct {
	Name  string `json:"name" validate:"required,max=200"`
	Email string `json:"email" validate:"required,email,max=254"`
	Phone string `json:"phone" validate:"required,phone"`
}

// Partner is the foreign authority that hosts the mission.
type Partner struct {
	Authority   string `json:"authority" validate:"required,max=200"`
	City        string `json:"city" validate:"required,max=100"`
	Country     string `json:"country" validate:"required,iso3166_1_alpha2"`
	Partnership string `json:"partnership" validate:"required,oneof=existing future"`
}

// Mission is what the agents go to do, and when.
type Mission struct {
	Title      string `json:"title" validate:"required,max=200"`
	Theme      string `json:"theme" validate:"required,max=100"`
	Objectives string `json:"objectives" validate:"required,max=4000" text:"multiline"`
	StartDate  Date   `json:"start_date" validate:"required"`
	EndDate    Date   `json:"end_date" validate:"required"`
}

// Days is the mission length, first and last day included.
func (m Mission) Days() int {
	return int(m.EndDate.Sub(m.StartDate.Time).Hours()/24) + 1
}

// Agent is one person sent on the mission.
type Agent struct {
	Name      string `json:"name" validate:"required,max=200"`
	Position  string `json:"position" validate:"required,max=200"`
	Expertise string `json:"expertise" validate:"required,max=1000" text:"multiline"`
}

// Budget is the mission budget in euros.
type Budget struct {
	Travel          Money `json:"travel" validate:"gte=0"`
	Accommodation   Money `json:"accommodation" validate:"gte=0"`
	DailyAllowances Money `json:"daily_allowances" validate:"gte=0"`
	Other           Money `json:"other" validate:"gte=0"`
	Requested       Money `json:"requested" validate:"gt=0"`
	OwnShare        Money `json:"own_share" validate:"gte=0"`
}

// Total is the full mission cost.
func (b Budget) Total() Money { return b.Travel + b.Accommodation + b.DailyAllowances + b.Other }
