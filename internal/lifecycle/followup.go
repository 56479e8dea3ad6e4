package lifecycle

import (
	"fmt"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/rules"
)

// FollowUp is the second phase of an approved application: the mission, its
// report, the payment.
type FollowUp struct {
	// MissionEnd is when the mission is over: the day after its last day,
	// at midnight in Paris.
	MissionEnd time.Time `json:"mission_end"`
	// ReportDue is the report's due date; it moves when the instructor
	// extends it, and stops counting while the report is examined.
	ReportDue *time.Time `json:"report_due,omitempty"`
	// GraceExpired is set once the grace period after the due date has
	// passed without a report: the grant may then be cancelled.
	GraceExpired bool `json:"grace_expired,omitempty"`
	// Reminders counts the reminders sent (or skipped) for the current due
	// date: the one before it, then the one on its last day.
	Reminders int `json:"reminders,omitempty"`
	// ClockLeft is what remained of the report clock when the report was
	// filed: the clock stops while the report is examined.
	ClockLeft        time.Duration `json:"clock_left,omitempty"`
	RenunciationNote string        `json:"renunciation_reason,omitempty"`
	// DeclaredChanges are the dates and agents the applicant declared,
	// awaiting the instructor.
	DeclaredChanges *MissionChanges `json:"declared_changes,omitempty"`
	Report          *Report         `json:"report,omitempty"`
	ReportedBy      *Actor          `json:"reported_by,omitempty"`
	ReportChanges   string          `json:"report_changes,omitempty"`
	ReviewedBy      *Actor          `json:"reviewed_by,omitempty"`
	Payable         *dossier.Money  `json:"payable,omitempty"`
	Reduction       string          `json:"reduction_motivation,omitempty"`
	OrderedBy       *Actor          `json:"ordered_by,omitempty"`
	Paid            *Payment        `json:"payment,omitempty"`
	Cancellation    string          `json:"cancellation_motivation,omitempty"`
}

// Payment is the confirmed payment of the grant.
type Payment struct {
	Amount    dossier.Money `json:"amount"`
	Reference string        `json:"reference"`
	PaidOn    dossier.Date  `json:"paid_on"`
	Actor     Actor         `json:"actor"`
}

// Report is the mission report (compte rendu de mission).
type Report struct {
	// Activities is what was done during the mission.
	Activities string `json:"activities" validate:"required,max=8000" text:"multiline"`
	Results    string `json:"results" validate:"required,max=8000" text:"multiline"`
	// FollowUp is what is planned next with the partner.
	FollowUp string `json:"follow_up" validate:"required,max=8000" text:"multiline"`
	// Agents are those who actually travelled.
	Agents []string    `json:"agents" validate:"required,min=1,max=20,dive,required,max=200"`
	Costs  ActualCosts `json:"costs"`
	// Attachments are the files the applicant uploaded for the report, as
	// the API found them stored: their SHA-256 enters the journal with the
	// report. Limits (count, total size) come from the application's rules.
	Attachments []Attachment `json:"attachments,omitempty" validate:"dive"`
}

// Attachment is a file of the mission report: its type was detected from
// its content when it was uploaded, never taken from the client.
type Attachment struct {
	ID        string `json:"id" validate:"required,max=64"`
	Name      string `json:"name" validate:"required,max=255" text:"line"`
	MediaType string `json:"media_type" validate:"required,oneof=application/pdf image/jpeg image/png application/vnd.oasis.opendocument.text application/vnd.openxmlformats-officedocument.wordprocessingml.document"`
	Size      int64  `json:"size" validate:"gt=0"`
	SHA256    string `json:"sha256" validate:"required,len=64,hexadecimal"`
}

// AttachmentsBeyond names the first limit of the rules the report's files
// break (too many, one listed twice, one too heavy, too heavy together), or
// nil. The API and the workflow's validator both apply it.
func (r Report) AttachmentsBeyond(limits rules.Attachments) *dossier.FieldError {
	if n, most := len(r.Attachments), limits.Files(); n > most {
		return &dossier.FieldError{Field: "report.attachments", Rule: "max_files",
			MessageFR: fmt.Sprintf("Le compte rendu a %d pièces jointes ; %d au plus", n, most),
			MessageEN: fmt.Sprintf("The report has %d attachments; at most %d", n, most)}
	}
	seen := make(map[string]bool, len(r.Attachments))
	for i, f := range r.Attachments {
		field := fmt.Sprintf("report.attachments[%d]", i)
		if seen[f.ID] {
			return &dossier.FieldError{Field: field, Rule: "unique",
				MessageFR: fmt.Sprintf("La pièce jointe %s figure deux fois", f.ID),
				MessageEN: fmt.Sprintf("Attachment %s is listed twice", f.ID)}
		}
		seen[f.ID] = true
		if most := limits.FileBytes(); f.Size > most {
			return &dossier.FieldError{Field: field, Rule: "max_file_size",
				MessageFR: fmt.Sprintf("Le fichier %s pèse %d octets ; %d au plus", f.Name, f.Size, most),
				MessageEN: fmt.Sprintf("File %s is %d bytes; at most %d", f.Name, f.Size, most)}
		}
	}
	if total, most := r.AttachmentsSize(), limits.ReportBytes(); total > most {
		return &dossier.FieldError{Field: "report.attachments", Rule: "max_total_size",
			MessageFR: fmt.Sprintf("Les pièces jointes pèsent %d octets ensemble ; %d au plus", total, most),
			MessageEN: fmt.Sprintf("The attachments weigh %d bytes together; at most %d", total, most)}
	}
	return nil
}

// AttachmentsSize is the files' total size.
func (r Report) AttachmentsSize() int64 {
	var n int64
	for _, a := range r.Attachments {
		n += a.Size
	}
	return n
}

// ActualCosts are the mission's actual costs per budget line, in euros.
type ActualCosts struct {
	Travel          dossier.Money `json:"travel" validate:"gte=0"`
	Accommodation   dossier.Money `json:"accommodation" validate:"gte=0"`
	DailyAllowances dossier.Money `json:"daily_allowances" validate:"gte=0"`
	Other           dossier.Money `json:"other" validate:"gte=0"`
}

// Total is the sum of the actual costs.
func (c ActualCosts) Total() dossier.Money {
	return c.Travel + c.Accommodation + c.DailyAllowances + c.Other
}

// PayableCap is the most that may be paid: the amount granted, or the
// programme's share of the actual costs when they came in lower.
func PayableCap(granted, actualTotal dossier.Money, sharePercent int) dossier.Money {
	share := actualTotal * dossier.Money(sharePercent) / 100
	return min(granted, share)
}

// MissionChanges are new dates or agents for an approved mission.
type MissionChanges struct {
	StartDate dossier.Date    `json:"start_date" validate:"required"`
	EndDate   dossier.Date    `json:"end_date" validate:"required"`
	Agents    []dossier.Agent `json:"agents" validate:"required,min=1,dive"`
}

// Apply returns the dossier with the changes.
func (c MissionChanges) Apply(d dossier.Dossier) dossier.Dossier {
	d.Mission.StartDate, d.Mission.EndDate = c.StartDate, c.EndDate
	d.Agents = c.Agents
	return d
}

// DeclareChangesInput is the applicant declaring changed dates or agents
// before the mission starts.
type DeclareChangesInput struct {
	Actor   Actor          `json:"actor"`
	Changes MissionChanges `json:"changes"`
	Reason  string         `json:"reason" validate:"required,max=4000" text:"multiline"`
}

// Outcomes of the review of declared changes.
const (
	ChangesAcknowledge = "acknowledge"
	ChangesRefuse      = "refuse"
)

// ReviewChangesInput is the instructor acknowledging or refusing them.
type ReviewChangesInput struct {
	Actor   Actor  `json:"actor"`
	Outcome string `json:"outcome" validate:"required,oneof=acknowledge refuse"`
	Reason  string `json:"reason,omitempty" validate:"required_if=Outcome refuse,max=4000" text:"multiline"`
}

// RenounceInput is the applicant giving up the mission before it starts.
type RenounceInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason" validate:"required,max=4000" text:"multiline"`
}

// ReportInput is the applicant's mission report.
type ReportInput struct {
	Actor  Actor  `json:"actor"`
	Report Report `json:"report"`
}

// Report review outcomes.
const (
	ReviewAccept     = "accept"
	ReviewAskChanges = "ask_changes"
)

// ReviewReportInput is the instructor's review of the report. An accepted
// report's payable amount defaults to the most that may be paid; a lower one,
// or a cap below the grant, needs a motivation.
type ReviewReportInput struct {
	Actor      Actor         `json:"actor"`
	Outcome    string        `json:"outcome" validate:"required,oneof=accept ask_changes"`
	Payable    dossier.Money `json:"payable,omitempty" validate:"gte=0"`
	Motivation string        `json:"motivation,omitempty" validate:"max=4000" text:"multiline"`
	// Message says what to change, when changes are asked.
	Message string `json:"message,omitempty" validate:"required_if=Outcome ask_changes,max=4000" text:"multiline"`
}

// ExtendReportInput moves the report's due date.
type ExtendReportInput struct {
	Actor  Actor        `json:"actor"`
	Until  dossier.Date `json:"until" validate:"required"`
	Reason string       `json:"reason" validate:"required,max=4000" text:"multiline"`
}

// CancelGrantInput cancels the grant of a report that never came.
type CancelGrantInput struct {
	Actor      Actor  `json:"actor"`
	Motivation string `json:"motivation" validate:"required,max=4000" text:"multiline"`
}

// OrderPaymentInput is the decider ordering the payment of the payable amount.
type OrderPaymentInput struct {
	Actor   Actor  `json:"actor"`
	Comment string `json:"comment,omitempty" validate:"max=4000" text:"multiline"`
}

// ConfirmPaymentInput is the accounting service confirming the payment.
type ConfirmPaymentInput struct {
	Actor     Actor        `json:"actor"`
	Reference string       `json:"reference" validate:"required,max=100" text:"line"`
	PaidOn    dossier.Date `json:"paid_on" validate:"required"`
}
