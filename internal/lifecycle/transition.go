package lifecycle

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/daect/expectct/internal/dossier"
)

// Recipient names who an e-mail goes to; the recording activity resolves the
// address (the dossier's contact, the secretariat, the embassy directory).
type Recipient string

// Recipients of transition e-mails.
const (
	ToApplicant   Recipient = "applicant"
	ToSecretariat Recipient = "secretariat"
	ToEmbassy     Recipient = "embassy"
)

// Mail templates, one per kind of e-mail the lifecycle sends; internal/mail
// renders them.
const (
	MailAcknowledgement       = "acknowledgement"         // to the applicant, after submission
	MailSecretariatNotice     = "secretariat_notice"      // to the DAECT secretariat: new application
	MailEmbassyConsultation   = "embassy_consultation"    // to the embassy: opinion requested by a deadline
	MailEmbassyReminder       = "embassy_reminder"        // to the embassy: opinion still awaited
	MailEmbassyDeadlinePassed = "embassy_deadline_passed" // to DAECT: no opinion, avis réputé rendu
	MailEmbassyContactMissing = "embassy_contact_missing" // to DAECT: no embassy contact for the country
	MailComplementsRequest    = "complements_request"     // to the applicant: complements wanted by a deadline
	MailComplementsReceived   = "complements_received"    // to the DAECT secretariat
	MailDecisionReminder      = "decision_reminder"       // to DAECT: a decision waits
	MailDecisionApproved      = "decision_approved"       // decision letter: granted (embassy in Cc)
	MailDecisionRejected      = "decision_rejected"       // decision letter: refused, with the motivation
	MailWithdrawn             = "withdrawn"               // to the applicant: withdrawal acknowledged
	MailClosedWithoutAction   = "closed_without_action"   // to the applicant: classé sans suite
	// The second phase.
	MailRenounced              = "renounced"                // to DAECT, embassy in Cc: the mission is given up
	MailChangesDeclared        = "changes_declared"         // to DAECT: new dates or agents to acknowledge
	MailChangesAcknowledged    = "changes_acknowledged"     // to the applicant, embassy in Cc: the changes stand
	MailChangesRefused         = "changes_refused"          // to the applicant: the changes are refused, with the reason
	MailReportRequested        = "report_requested"         // to the applicant: the mission is over, report due by a date
	MailReportReminder         = "report_reminder"          // to the applicant: report still awaited
	MailReportOverdue          = "report_overdue"           // to DAECT: the report's due date passed
	MailReportGraceExpired     = "report_grace_expired"     // to DAECT: the grant may now be cancelled
	MailReportDeadlineExtended = "report_deadline_extended" // to the applicant: new due date
	MailGrantCancelled         = "grant_cancelled"          // to the applicant, embassy in Cc: grant cancelled, with the motivation
	MailReportReceived         = "report_received"          // to DAECT: a report to examine
	MailReportChangesRequest   = "report_changes_request"   // to the applicant: changes wanted by a date
	MailReportAccepted         = "report_accepted"          // to the applicant: report accepted, amount payable
	MailPaymentOrdered         = "payment_ordered"          // to the applicant: payment ordered
	MailPaymentConfirmed       = "payment_confirmed"        // to the applicant: paid, with its reference; file closed
	// MailFollowedStep goes to each DAECT person following the application
	// (not from the transition's specs: the followers are read when the
	// step is recorded).
	MailFollowedStep = "followed_step" // to a follower: a step was recorded
)

// MailSpec is one e-mail a transition sends.
type MailSpec struct {
	Template string    `json:"template"`
	To       Recipient `json:"to"`
	// CcEmbassy copies the embassy of the destination, when it has a contact.
	CcEmbassy bool `json:"cc_embassy,omitempty"`
}

// mailsOf is the one table of which e-mails each event sends. The recording
// activity queues them in the outbox with the journal row; the fault suite's
// invariants check the outbox against it. Events absent send none.
var mailsOf = map[string][]MailSpec{
	EventSubmitted: {
		{Template: MailAcknowledgement, To: ToApplicant},
		{Template: MailSecretariatNotice, To: ToSecretariat},
	},
	EventEmbassyContactMissing: {{Template: MailEmbassyContactMissing, To: ToSecretariat}},
	EventEmbassyConsulted:      {{Template: MailEmbassyConsultation, To: ToEmbassy}},
	EventEmbassyReminded:       {{Template: MailEmbassyReminder, To: ToEmbassy}},
	EventOpinionDeemedGiven:    {{Template: MailEmbassyDeadlinePassed, To: ToSecretariat}},
	EventComplementsRequested:  {{Template: MailComplementsRequest, To: ToApplicant}},
	EventComplementsReceived:   {{Template: MailComplementsReceived, To: ToSecretariat}},
	EventComplementsExpired:    {{Template: MailClosedWithoutAction, To: ToApplicant}},
	EventDecisionReminded:      {{Template: MailDecisionReminder, To: ToSecretariat}},
	EventApproved:              {{Template: MailDecisionApproved, To: ToApplicant, CcEmbassy: true}},
	EventRejected:              {{Template: MailDecisionRejected, To: ToApplicant, CcEmbassy: true}},
	EventWithdrawn:             {{Template: MailWithdrawn, To: ToApplicant}},

	EventRenounced:              {{Template: MailRenounced, To: ToSecretariat, CcEmbassy: true}},
	EventChangesDeclared:        {{Template: MailChangesDeclared, To: ToSecretariat}},
	EventChangesAcknowledged:    {{Template: MailChangesAcknowledged, To: ToApplicant, CcEmbassy: true}},
	EventChangesRefused:         {{Template: MailChangesRefused, To: ToApplicant}},
	EventMissionEnded:           {{Template: MailReportRequested, To: ToApplicant}},
	EventReportReminded:         {{Template: MailReportReminder, To: ToApplicant}},
	EventReportOverdue:          {{Template: MailReportOverdue, To: ToSecretariat}},
	EventReportGraceExpired:     {{Template: MailReportGraceExpired, To: ToSecretariat}},
	EventReportDeadlineExtended: {{Template: MailReportDeadlineExtended, To: ToApplicant}},
	EventGrantCancelled:         {{Template: MailGrantCancelled, To: ToApplicant, CcEmbassy: true}},
	EventReportSubmitted:        {{Template: MailReportReceived, To: ToSecretariat}},
	EventReportChangesRequested: {{Template: MailReportChangesRequest, To: ToApplicant}},
	EventReportAccepted:         {{Template: MailReportAccepted, To: ToApplicant}},
	EventPaymentOrdered:         {{Template: MailPaymentOrdered, To: ToApplicant}},
	EventPaymentConfirmed:       {{Template: MailPaymentConfirmed, To: ToApplicant}},
}

// MailsOf returns the e-mails an event sends.
func MailsOf(event string) []MailSpec { return slices.Clone(mailsOf[event]) }

// Details are what a transition decided, recorded in the journal payload and
// used to fill the e-mails.
type Details struct {
	Opinion        string           `json:"opinion,omitempty"`
	Recommendation string           `json:"recommendation,omitempty"`
	Decision       string           `json:"decision,omitempty"`
	Amount         *dossier.Money   `json:"amount,omitempty"`
	Comment        string           `json:"comment,omitempty"`
	Message        string           `json:"message,omitempty"`
	Motivation     string           `json:"motivation,omitempty"`
	Reason         string           `json:"reason,omitempty"`
	Deadline       *time.Time       `json:"deadline,omitempty"`
	RulesVersion   string           `json:"rules_version,omitempty"`
	Flags          []string         `json:"flags,omitempty"`
	Dossier        *dossier.Dossier `json:"dossier,omitempty"`
	// The second phase.
	Report    *Report         `json:"report,omitempty"`
	Changes   *MissionChanges `json:"changes,omitempty"`
	Reference string          `json:"reference,omitempty"`
	PaidOn    *dossier.Date   `json:"paid_on,omitempty"`
}

// Transition is one step of an application, as the workflow decided it, with
// its place in the order of events taken when the state changed.
// (ApplicationID, Seq) identifies it: a retried activity finds it recorded.
type Transition struct {
	ApplicationID string    `json:"application_id"`
	Seq           int       `json:"seq"`
	Event         string    `json:"event"`
	Status        Status    `json:"status"`
	Actor         Actor     `json:"actor"`
	At            time.Time `json:"at"`
	Details       Details   `json:"details"`
	// State is the application as the transition leaves it, without its
	// dossier; the read model keeps it so reads need not query the workflow.
	State *State `json:"state,omitempty"`
}

// Timer names, carried as each timer's summary (workflow.TimerOptions) so
// the history and the audit timeline say what a timer was for, never
// guessing from its duration.
const (
	TimerEmbassyReminder     = "embassy_reminder"
	TimerEmbassyDeadline     = "embassy_deadline"
	TimerComplementsDeadline = "complements_deadline"
	TimerDecisionReminder    = "decision_reminder"
	TimerMissionEnd          = "mission_end"
	TimerReportReminder      = "report_reminder"
	TimerReportLastDay       = "report_last_day"
	TimerReportDue           = "report_due"
	TimerReportGrace         = "report_grace"
)

// SignalEmbassyContactSet wakes the applications waiting for an embassy
// contact in the directory: the API sends it when an admin sets one.
const SignalEmbassyContactSet = "embassy_contact_set"

// Recordable tells whether PostgreSQL will take every text of the
// transition: no NUL character (refused in text and json columns) and valid
// UTF-8. Input validation refuses such text first; this keeps a bug from
// wedging an application on a row the database can never accept.
func Recordable(t Transition) error {
	return walkStrings(reflect.ValueOf(t), "transition")
}

func walkStrings(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
			return fmt.Errorf("%s: text the database would refuse (NUL or invalid UTF-8)", path)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return walkStrings(v.Elem(), path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				if err := walkStrings(v.Field(i), path+"."+v.Type().Field(i).Name); err != nil {
					return err
				}
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
