// Package rules holds the EXPE-CT programme rules: limits, rates, caps,
// country lists and timers. They are configuration, versioned, and every
// application records the version it was judged under.
package rules

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"gopkg.in/yaml.v3"

	"github.com/daect/expectct/internal/dossier"
)

//go:embed default.yaml
var defaultYAML []byte

// Duration is a time.Duration written as "168h" or "30s" in the rules file.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 168h: %w", n.Line, n.Value, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the standard library duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Rules is one version of the programme rules.
type Rules struct {
	Version string `yaml:"version" json:"version" validate:"required"`

	MinAgents       int `yaml:"min_agents" json:"min_agents" validate:"gte=1"`
	MaxAgents       int `yaml:"max_agents" json:"max_agents" validate:"gtefield=MinAgents"`
	MinMissionDays  int `yaml:"min_mission_days" json:"min_mission_days" validate:"gte=1"`
	MaxMissionDays  int `yaml:"max_mission_days" json:"max_mission_days" validate:"gtefield=MinMissionDays"`
	MinNoticeDays   int `yaml:"min_notice_days" json:"min_notice_days" validate:"gte=0"`
	MaxSharePercent int `yaml:"max_share_percent" json:"max_share_percent" validate:"gte=1,lte=100"`
	// LDCSharePercent applies to least-developed countries.
	LDCSharePercent int           `yaml:"ldc_share_percent" json:"ldc_share_percent" validate:"gte=1,lte=100"`
	CapPerMission   dossier.Money `yaml:"-" json:"cap_per_mission_cents"`
	CapEuros        int64         `yaml:"cap_per_mission_euros" json:"-" validate:"gte=1"`

	LeastDevelopedCountries []string `yaml:"least_developed_countries" json:"least_developed_countries" validate:"dive,iso3166_1_alpha2"`
	// TravelAdviceRed: "formellement déconseillé", refused unless the embassy asked for the mission.
	TravelAdviceRed []string `yaml:"travel_advice_red" json:"travel_advice_red" validate:"dive,iso3166_1_alpha2"`
	// TravelAdviceOrange: "déconseillé sauf raison impérative", flagged for the embassy and the instructor.
	TravelAdviceOrange []string `yaml:"travel_advice_orange" json:"travel_advice_orange" validate:"dive,iso3166_1_alpha2"`

	Timers Timers `yaml:"timers" json:"timers"`
	// Attachments bound the files of the mission report.
	Attachments Attachments `yaml:"attachments" json:"attachments,omitzero"`
}

// Attachments are the size limits of the mission report's files. Zero takes
// the programme's default (rules written before attachments have none), so
// an application judged under older rules gets the same limits.
type Attachments struct {
	// MaxFileBytes bounds one file; the API reads an upload through it.
	MaxFileBytes int64 `yaml:"max_file_bytes" json:"max_file_bytes,omitempty" validate:"gte=0"`
	// MaxReportBytes bounds the files of one report together.
	MaxReportBytes int64 `yaml:"max_report_bytes" json:"max_report_bytes,omitempty" validate:"gte=0"`
	// MaxFiles bounds how many files one report references.
	MaxFiles int `yaml:"max_files" json:"max_files,omitempty" validate:"gte=0"`
	// MaxUploads bounds the files uploaded for one application, used in a
	// report or not: files are kept for good, so a mistaken upload stays,
	// and this leaves room for mistakes without letting uploads grow
	// without end.
	MaxUploads int `yaml:"max_uploads" json:"max_uploads,omitempty" validate:"gte=0"`
}

// Defaults of the attachment limits: a scanned report or a few photos fit,
// an unbounded upload does not.
const (
	DefaultMaxFileBytes   = 10 << 20
	DefaultMaxReportBytes = 25 << 20
	DefaultMaxFiles       = 10
	DefaultMaxUploads     = 50
)

// FileBytes is the most one file may weigh.
func (a Attachments) FileBytes() int64 { return cmpDefault(a.MaxFileBytes, DefaultMaxFileBytes) }

// ReportBytes is the most the files of one report may weigh together.
func (a Attachments) ReportBytes() int64 {
	return cmpDefault(a.MaxReportBytes, DefaultMaxReportBytes)
}

// Files is how many files one report may reference.
func (a Attachments) Files() int { return int(cmpDefault(int64(a.MaxFiles), DefaultMaxFiles)) }

// Uploads is how many files may be uploaded for one application.
func (a Attachments) Uploads() int { return int(cmpDefault(int64(a.MaxUploads), DefaultMaxUploads)) }

func cmpDefault(v, def int64) int64 {
	if v <= 0 {
		return def
	}
	return v
}

// Timers are the lifecycle's waiting periods.
type Timers struct {
	EmbassyReminder     Duration `yaml:"embassy_reminder" json:"embassy_reminder" validate:"gt=0"`
	EmbassyDeadline     Duration `yaml:"embassy_deadline" json:"embassy_deadline" validate:"gtfield=EmbassyReminder"`
	ComplementsDeadline Duration `yaml:"complements_deadline" json:"complements_deadline" validate:"gt=0"`
	DecisionReminder    Duration `yaml:"decision_reminder" json:"decision_reminder" validate:"gt=0"`
	// The mission report: due ReportDeadline after the mission's end, with
	// a reminder ReportReminder before; ReportGrace after the due date the
	// grant may be cancelled. Zero takes the programme's default (rules
	// written before the second phase have none).
	ReportDeadline Duration `yaml:"report_deadline" json:"report_deadline,omitempty" validate:"gte=0"`
	ReportReminder Duration `yaml:"report_reminder" json:"report_reminder,omitempty" validate:"gte=0"`
	ReportGrace    Duration `yaml:"report_grace" json:"report_grace,omitempty" validate:"gte=0"`
}

// Defaults of the report timers (domain.md: a report within 30 days of the
// mission's end; a grace period of 60 days).
const (
	DefaultReportDeadline = 30 * 24 * time.Hour
	DefaultReportReminder = 7 * 24 * time.Hour
	DefaultReportGrace    = 60 * 24 * time.Hour
)

func orDefault(d Duration, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d.D()
}

// ReportDue is how long after the mission's end the report is due.
func (t Timers) ReportDue() time.Duration { return orDefault(t.ReportDeadline, DefaultReportDeadline) }

// ReportReminderBefore is how long before the due date the applicant is reminded.
func (t Timers) ReportReminderBefore() time.Duration {
	return orDefault(t.ReportReminder, DefaultReportReminder)
}

// ReportGraceAfter is how long after the due date the grant may be cancelled.
func (t Timers) ReportGraceAfter() time.Duration { return orDefault(t.ReportGrace, DefaultReportGrace) }

// Default returns the rules shipped in the binary.
func Default() Rules {
	r, err := Parse(defaultYAML)
	if err != nil {
		panic("embedded default rules are invalid: " + err.Error())
	}
	return r
}

// Load reads a rules file; an empty path means the embedded defaults.
func Load(path string) (Rules, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Rules{}, fmt.Errorf("rules file: %w", err)
	}
	r, err := Parse(b)
	if err != nil {
		return Rules{}, fmt.Errorf("rules file %s: %w", path, err)
	}
	return r, nil
}

// Parse decodes and checks a rules document. Unknown keys are errors so a
// typo cannot silently fall back to a default.
func Parse(b []byte) (Rules, error) {
	var r Rules
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return Rules{}, fmt.Errorf("invalid rules: %w", err)
	}
	r.CapPerMission = dossier.Euros(r.CapEuros)
	for _, list := range []*[]string{&r.LeastDevelopedCountries, &r.TravelAdviceRed, &r.TravelAdviceOrange} {
		for i, c := range *list {
			(*list)[i] = strings.ToUpper(strings.TrimSpace(c))
		}
		slices.Sort(*list)
	}
	if err := validator.New(validator.WithRequiredStructEnabled()).Struct(r); err != nil {
		return Rules{}, fmt.Errorf("invalid rules: %w", err)
	}
	return r, nil
}

// IsLeastDeveloped tells whether the country gets the higher share.
func (r Rules) IsLeastDeveloped(country string) bool {
	return slices.Contains(r.LeastDevelopedCountries, strings.ToUpper(country))
}

// IsRed tells whether travel to the country is formally advised against.
func (r Rules) IsRed(country string) bool {
	return slices.Contains(r.TravelAdviceRed, strings.ToUpper(country))
}

// IsOrange tells whether travel to the country is advised against save for imperative reasons.
func (r Rules) IsOrange(country string) bool {
	return slices.Contains(r.TravelAdviceOrange, strings.ToUpper(country))
}

// SharePercent is the maximum DAECT share for a destination.
func (r Rules) SharePercent(country string) int {
	if r.IsLeastDeveloped(country) {
		return r.LDCSharePercent
	}
	return r.MaxSharePercent
}

// MaxRequest is the most DAECT may grant for a mission of this total cost and destination.
func (r Rules) MaxRequest(total dossier.Money, country string) dossier.Money {
	share := dossier.Money(int64(total) * int64(r.SharePercent(country)) / 100)
	return min(share, r.CapPerMission)
}

// Policy is what dossier.Validate needs from these rules. The lists are
// copied so that a caller cannot change the rules through the policy.
func (r Rules) Policy() dossier.Policy {
	return dossier.Policy{
		MinAgents:          r.MinAgents,
		MaxAgents:          r.MaxAgents,
		MinMissionDays:     r.MinMissionDays,
		MaxMissionDays:     r.MaxMissionDays,
		MinNoticeDays:      r.MinNoticeDays,
		MaxSharePercent:    r.MaxSharePercent,
		LDCSharePercent:    r.LDCSharePercent,
		CapPerMission:      r.CapPerMission,
		LeastDeveloped:     slices.Clone(r.LeastDevelopedCountries),
		TravelAdviceRed:    slices.Clone(r.TravelAdviceRed),
		TravelAdviceOrange: slices.Clone(r.TravelAdviceOrange),
	}
}
