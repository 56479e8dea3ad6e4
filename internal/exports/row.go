package exports

import (
	"fmt"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// amountEvents are the events whose amount the read model does not keep.
var amountEvents = []string{lifecycle.EventReportAccepted, lifecycle.EventPaymentConfirmed}

// Phase is a stretch of an application's life whose length an export gives.
type Phase int

// The phases, in the order of the lifecycle.
const (
	PhaseConsultation Phase = iota // submission to the embassy's opinion (given or deemed given)
	PhaseInstruction               // opinion to recommendation, less the time awaiting complements
	PhaseComplements               // awaiting the applicant's complements
	PhaseDecision                  // recommendation to decision
	PhaseReportWait                // approval to the first mission report filed
	PhaseReportReview              // first report filed to report accepted
	PhasePayment                   // report accepted to payment confirmed
	phaseCount
)

// enters says which phase an event starts. An event of the phase the
// application is in (a report filed again after changes were asked)
// changes nothing; events absent (reminders, the consultation e-mail,
// events this code does not know) neither.
var enters = map[string]Phase{
	lifecycle.EventSubmitted:            PhaseConsultation,
	lifecycle.EventOpinionGiven:         PhaseInstruction,
	lifecycle.EventOpinionDeemedGiven:   PhaseInstruction,
	lifecycle.EventComplementsRequested: PhaseComplements,
	lifecycle.EventComplementsReceived:  PhaseInstruction,
	lifecycle.EventRecommended:          PhaseDecision,
	lifecycle.EventApproved:             PhaseReportWait,
	lifecycle.EventReportSubmitted:      PhaseReportReview,
	lifecycle.EventReportAccepted:       PhasePayment,
}

// Step is a dated step of an application an export shows.
type Step int

// The steps, in the order of the lifecycle.
const (
	StepSubmitted Step = iota
	StepEmbassyConsulted
	StepOpinion
	StepRecommendation
	StepDecision
	StepReportFiled
	StepReportAccepted
	StepPaymentOrdered
	StepPaid
	stepCount
)

// stepOf says which step an event dates; the first such event is the date.
var stepOf = map[string]Step{
	lifecycle.EventSubmitted:          StepSubmitted,
	lifecycle.EventEmbassyConsulted:   StepEmbassyConsulted,
	lifecycle.EventOpinionGiven:       StepOpinion,
	lifecycle.EventOpinionDeemedGiven: StepOpinion,
	lifecycle.EventRecommended:        StepRecommendation,
	lifecycle.EventApproved:           StepDecision,
	lifecycle.EventRejected:           StepDecision,
	lifecycle.EventReportSubmitted:    StepReportFiled,
	lifecycle.EventReportAccepted:     StepReportAccepted,
	lifecycle.EventPaymentOrdered:     StepPaymentOrdered,
	lifecycle.EventPaymentConfirmed:   StepPaid,
}

// Row is one application as an export shows it. Nil means not reached.
type Row struct {
	ApplicationID string
	Collectivite  string
	SIREN         string
	Country       string
	Status        string
	RulesVersion  string

	Requested   dossier.Money
	Recommended *dossier.Money
	Granted     *dossier.Money
	Payable     *dossier.Money
	Paid        *dossier.Money

	// Dates of the steps, indexed by Step.
	Dates [stepCount]*time.Time
	// Durations of the phases, indexed by Phase: the time spent in a phase
	// the application has left (summed when it came back to it, as to
	// instruction after complements), or until it ended while in it (a
	// withdrawal); nil for a phase never entered or the one it is in now.
	Durations [phaseCount]*time.Duration
}

// RowOf reads an application's row from its read model and journal.
func RowOf(rec *store.ExportRecord) (Row, error) {
	r := Row{
		ApplicationID: rec.ID, Collectivite: rec.Collectivite, SIREN: rec.SIREN, Country: rec.Country,
		Status: rec.Status, RulesVersion: rec.RulesVersion, Requested: dossier.Money(rec.RequestedCents),
		Recommended: money(rec.RecommendedCents), Granted: money(rec.GrantedCents),
	}
	var spent [phaseCount]time.Duration
	var entered [phaseCount]bool
	current, since := Phase(-1), time.Time{}
	leave := func(at time.Time) {
		if current >= 0 {
			spent[current] += at.Sub(since)
		}
	}
	for _, e := range rec.Events {
		if st, ok := stepOf[e.Event]; ok && r.Dates[st] == nil {
			at := e.At
			r.Dates[st] = &at
		}
		if e.Amount != "" {
			m, err := dossier.ParseMoney(e.Amount)
			if err != nil {
				return r, fmt.Errorf("%s: %s amount: %w", rec.ID, e.Event, err)
			}
			switch e.Event {
			case lifecycle.EventReportAccepted:
				r.Payable = &m
			case lifecycle.EventPaymentConfirmed:
				r.Paid = &m
			}
		}
		// Nothing after an end counts (approval is not one: a grant goes on
		// to its report and payment).
		if lifecycle.Status(e.Status).Terminal() {
			leave(e.At)
			current = -1
			break
		}
		if p, ok := enters[e.Event]; ok && p != current {
			leave(e.At)
			current, since, entered[p] = p, e.At, true
		}
	}
	if r.Dates[StepSubmitted] == nil && !rec.SubmittedAt.IsZero() {
		at := rec.SubmittedAt
		r.Dates[StepSubmitted] = &at
	}
	for p := range phaseCount {
		if entered[p] && p != current {
			d := spent[p]
			r.Durations[p] = &d
		}
	}
	return r, nil
}

func money(cents *int64) *dossier.Money {
	if cents == nil {
		return nil
	}
	m := dossier.Money(*cents)
	return &m
}
