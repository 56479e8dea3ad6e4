// Package lifecycle is the shared vocabulary of an application's life: its
// states, the actors and their roles, the human steps and their payloads, and
// the state the workflow exposes. The workflow, the database, the API, the CLI
// and the search attributes all use these names.
package lifecycle

import (
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // Paris time must not depend on the host's zone files

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/rules"
)

// Status is where an application stands.
type Status string

// The states of an application (domain.md, "The lifecycle").
const (
	StatusSubmitted           Status = "submitted"             // déposé
	StatusEmbassyConsultation Status = "embassy_consultation"  // consultation du poste
	StatusUnderReview         Status = "under_review"          // en instruction
	StatusAwaitingComplements Status = "awaiting_complements"  // en attente de compléments
	StatusAwaitingDecision    Status = "awaiting_decision"     // en attente de décision
	StatusApproved            Status = "approved"              // accepté: the mission is to come
	StatusRejected            Status = "rejected"              // refusé
	StatusWithdrawn           Status = "withdrawn"             // retiré
	StatusClosedWithoutAction Status = "closed_without_action" // classé sans suite

	// The second phase, after approval.
	StatusChangesDeclared      Status = "changes_declared"        // changement de dates ou d'agents déclaré
	StatusAwaitingReport       Status = "awaiting_report"         // mission over, compte rendu attendu
	StatusReportOverdue        Status = "report_overdue"          // compte rendu en retard
	StatusReportReview         Status = "report_review"           // compte rendu en examen
	StatusAwaitingReportChange Status = "awaiting_report_changes" // compte rendu à compléter
	StatusAwaitingPaymentOrder Status = "awaiting_payment_order"  // paiement à ordonner
	StatusPaymentOrdered       Status = "payment_ordered"         // paiement ordonné
	StatusClosed               Status = "closed"                  // soldé
	StatusRenounced            Status = "renounced"               // mission abandonnée
	StatusCancelled            Status = "cancelled"               // subvention annulée
)

// AllStatuses lists every state, in lifecycle order.
var AllStatuses = []Status{StatusSubmitted, StatusEmbassyConsultation, StatusUnderReview,
	StatusAwaitingComplements, StatusAwaitingDecision, StatusApproved, StatusRejected,
	StatusWithdrawn, StatusClosedWithoutAction, StatusChangesDeclared, StatusAwaitingReport, StatusReportOverdue,
	StatusReportReview, StatusAwaitingReportChange, StatusAwaitingPaymentOrder, StatusPaymentOrdered,
	StatusClosed, StatusRenounced, StatusCancelled}

// Terminal tells whether nothing more can happen to the application.
func (s Status) Terminal() bool {
	switch s {
	case StatusRejected, StatusWithdrawn, StatusClosedWithoutAction, StatusClosed, StatusRenounced, StatusCancelled:
		return true
	}
	return false
}

// Decided tells whether the funding decision is behind the application:
// from there on it may no longer be withdrawn, only renounced.
func (s Status) Decided() bool {
	return !slices.Contains(BeforeDecision, s)
}

// BeforeDecision are the statuses of the first phase, from which the
// applicant may withdraw.
var BeforeDecision = []Status{StatusSubmitted, StatusEmbassyConsultation, StatusUnderReview,
	StatusAwaitingComplements, StatusAwaitingDecision}

// AwaitingReport are the statuses in which the applicant may file the
// mission report.
var AwaitingReport = []Status{StatusAwaitingReport, StatusReportOverdue, StatusAwaitingReportChange}

// Valid tells whether s is one of the states.
func (s Status) Valid() bool { return slices.Contains(AllStatuses, s) }

// Role is what an actor is allowed to do.
type Role string

// The roles of domain.md, plus admin for operations.
const (
	RoleApplicant  Role = "applicant"
	RoleEmbassy    Role = "embassy"
	RoleInstructor Role = "instructor"
	RoleDecider    Role = "decider"
	RoleAuditor    Role = "auditor"
	RoleAdmin      Role = "admin"
	// RoleFinance confirms payments: the accounting service, apart from the
	// decider who orders them (séparation de l'ordonnateur et du comptable).
	RoleFinance Role = "finance"
	// RoleSystem is the engine itself: timers and deadlines.
	RoleSystem Role = "system"
)

// AllRoles lists the roles a token may carry.
var AllRoles = []Role{RoleApplicant, RoleEmbassy, RoleInstructor, RoleDecider, RoleFinance, RoleAuditor, RoleAdmin}

// Actor is who performs a step, and for which scope.
type Actor struct {
	ID   string `json:"id" validate:"required,max=200"`
	Role Role   `json:"role" validate:"required"`
	// SIREN is the collectivité an applicant acts for.
	SIREN string `json:"siren,omitempty"`
	// Countries are the ISO codes an embassy covers.
	Countries []string `json:"countries,omitempty"`
}

// SamePerson tells whether two actor IDs name the same person: IDs are
// compared without regard to case or surrounding spaces, so "Instructeur"
// cannot pass the four-eyes rule against "instructeur".
func SamePerson(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// System is the engine acting on a timer.
var System = Actor{ID: "expectct", Role: RoleSystem}

// CoversCountry tells whether an embassy actor covers the country.
func (a Actor) CoversCountry(cc string) bool {
	return slices.ContainsFunc(a.Countries, func(c string) bool { return strings.EqualFold(c, cc) })
}

// Action names a thing an actor may try: the human steps plus reads.
type Action string

// Actions, used by the API, the update validators and the attempts log.
const (
	ActionSubmit             Action = "submit"
	ActionRead               Action = "read"
	ActionList               Action = "list"
	ActionHistory            Action = "history"
	ActionExport             Action = "export"
	ActionOpinion            Action = "opinion"
	ActionRequestComplements Action = "request_complements"
	ActionComplements        Action = "complements"
	ActionRecommend          Action = "recommend"
	ActionDecide             Action = "decide"
	ActionWithdraw           Action = "withdraw"
	ActionAuditVerify        Action = "audit_verify"
	ActionEmbassyDirectory   Action = "embassy_directory"
	ActionEmbassyList        Action = "embassy_list"
	ActionMailFailed         Action = "mail_failed"
	ActionWhoAmI             Action = "whoami"
	ActionPeopleList         Action = "people_list"
	ActionPeopleGrant        Action = "people_grant"
	ActionCodecDecode        Action = "codec_decode"
	// Webhook subscriptions: admins manage them; auditors read deliveries too.
	ActionWebhookManage     Action = "webhook_manage"
	ActionWebhookDeliveries Action = "webhook_deliveries"
	ActionFigures           Action = "figures"
	// ActionFollow: be e-mailed each step of an application, and find it
	// under "followed by me".
	ActionFollow Action = "follow"
	// The second phase.
	ActionRenounce       Action = "renounce"
	ActionDeclareChanges Action = "declare_changes"
	ActionReviewChanges  Action = "review_changes"
	ActionReport         Action = "report"
	ActionReviewReport   Action = "review_report"
	ActionExtendReport   Action = "extend_report_deadline"
	ActionCancelGrant    Action = "cancel_grant"
	ActionOrderPayment   Action = "order_payment"
	ActionConfirmPayment Action = "confirm_payment"
)

// AllActions lists every action, for the permission matrix.
var AllActions = []Action{ActionSubmit, ActionRead, ActionList, ActionHistory, ActionExport, ActionOpinion,
	ActionRequestComplements, ActionComplements, ActionRecommend, ActionDecide, ActionWithdraw,
	ActionAuditVerify, ActionEmbassyDirectory, ActionEmbassyList, ActionMailFailed,
	ActionWhoAmI, ActionPeopleList, ActionPeopleGrant, ActionCodecDecode, ActionWebhookManage, ActionWebhookDeliveries,
	ActionRenounce, ActionDeclareChanges, ActionReviewChanges, ActionReport, ActionReviewReport, ActionExtendReport, ActionCancelGrant,
	ActionOrderPayment, ActionConfirmPayment, ActionFigures, ActionFollow}

// rolesFor is the permission table of domain.md.
var rolesFor = map[Action][]Role{
	ActionSubmit:             {RoleApplicant},
	ActionRead:               {RoleApplicant, RoleEmbassy, RoleInstructor, RoleDecider, RoleFinance, RoleAuditor, RoleAdmin},
	ActionList:               {RoleApplicant, RoleEmbassy, RoleInstructor, RoleDecider, RoleFinance, RoleAuditor, RoleAdmin},
	ActionHistory:            {RoleInstructor, RoleDecider, RoleAuditor, RoleAdmin},
	ActionExport:             {RoleInstructor, RoleDecider, RoleAuditor, RoleAdmin},
	ActionOpinion:            {RoleEmbassy},
	ActionRequestComplements: {RoleInstructor},
	ActionComplements:        {RoleApplicant},
	ActionRecommend:          {RoleInstructor},
	ActionDecide:             {RoleDecider},
	ActionWithdraw:           {RoleApplicant},
	ActionAuditVerify:        {RoleAuditor, RoleAdmin},
	ActionEmbassyDirectory:   {RoleAdmin},
	ActionEmbassyList:        {RoleInstructor, RoleDecider, RoleAuditor, RoleAdmin},
	ActionMailFailed:         {RoleAuditor, RoleAdmin},
	// Anyone signed in may ask who they are, even with no role yet.
	ActionWhoAmI:      {RoleApplicant, RoleEmbassy, RoleInstructor, RoleDecider, RoleFinance, RoleAuditor, RoleAdmin},
	ActionPeopleList:  {RoleAuditor, RoleAdmin},
	ActionPeopleGrant: {RoleAdmin},
	// Opening sealed Temporal histories (the Web UI's codec server) shows
	// personal data: the roles that read the whole record.
	ActionCodecDecode:       {RoleAuditor, RoleAdmin},
	ActionWebhookManage:     {RoleAdmin},
	ActionWebhookDeliveries: {RoleAuditor, RoleAdmin},
	// The programme's figures name no one: DAECT's staff and the auditors.
	ActionFigures: {RoleInstructor, RoleDecider, RoleFinance, RoleAuditor, RoleAdmin},
	// DAECT's staff follow the applications they work on.
	ActionFollow: {RoleInstructor, RoleDecider, RoleFinance},

	ActionRenounce:       {RoleApplicant},
	ActionDeclareChanges: {RoleApplicant},
	ActionReviewChanges:  {RoleInstructor},
	ActionReport:         {RoleApplicant},
	ActionReviewReport:   {RoleInstructor},
	ActionExtendReport:   {RoleInstructor},
	ActionCancelGrant:    {RoleInstructor},
	ActionOrderPayment:   {RoleDecider},
	ActionConfirmPayment: {RoleFinance},
}

// RolesAllowed lists the roles that may perform the action.
func RolesAllowed(a Action) []Role { return slices.Clone(rolesFor[a]) }

// Allows tells whether the role may perform the action at all (scope aside).
func Allows(r Role, a Action) bool { return slices.Contains(rolesFor[a], r) }

// InScope tells whether the actor may act on an application of this SIREN
// and destination: applicants on their own collectivité, embassies on their
// countries, DAECT staff and auditors on all.
func (a Actor) InScope(siren, country string) bool {
	switch a.Role {
	case RoleApplicant:
		return a.SIREN != "" && a.SIREN == siren
	case RoleEmbassy:
		return a.CoversCountry(country)
	case RoleInstructor, RoleDecider, RoleFinance, RoleAuditor, RoleAdmin, RoleSystem:
		return true
	}
	return false
}

// Opinion values an embassy may give.
const (
	OpinionFavorable   = "favorable"
	OpinionUnfavorable = "unfavorable"
	OpinionReserved    = "reserved"
	// OpinionNotGiven is recorded when the embassy deadline passes (avis réputé rendu).
	OpinionNotGiven = "not_given"
)

// Update names: the human steps, as Temporal Updates.
const (
	UpdateOpinion            = "opinion"
	UpdateRequestComplements = "request_complements"
	UpdateComplements        = "complements"
	UpdateRecommend          = "recommend"
	UpdateDecide             = "decide"
	UpdateWithdraw           = "withdraw"
	UpdateRenounce           = "renounce"
	UpdateDeclareChanges     = "declare_changes"
	UpdateReviewChanges      = "review_changes"
	UpdateReport             = "report"
	UpdateReviewReport       = "review_report"
	UpdateExtendReport       = "extend_report_deadline"
	UpdateCancelGrant        = "cancel_grant"
	UpdateOrderPayment       = "order_payment"
	UpdateConfirmPayment     = "confirm_payment"
	// QueryStatus returns the State.
	QueryStatus = "status"
)

// ActionOfUpdate maps each update to its action.
var ActionOfUpdate = map[string]Action{
	UpdateOpinion:            ActionOpinion,
	UpdateRequestComplements: ActionRequestComplements,
	UpdateComplements:        ActionComplements,
	UpdateRecommend:          ActionRecommend,
	UpdateDecide:             ActionDecide,
	UpdateWithdraw:           ActionWithdraw,
	UpdateRenounce:           ActionRenounce,
	UpdateDeclareChanges:     ActionDeclareChanges,
	UpdateReviewChanges:      ActionReviewChanges,
	UpdateReport:             ActionReport,
	UpdateReviewReport:       ActionReviewReport,
	UpdateExtendReport:       ActionExtendReport,
	UpdateCancelGrant:        ActionCancelGrant,
	UpdateOrderPayment:       ActionOrderPayment,
	UpdateConfirmPayment:     ActionConfirmPayment,
}

// OpinionInput is the embassy's avis.
type OpinionInput struct {
	Actor   Actor  `json:"actor"`
	Opinion string `json:"opinion" validate:"required,oneof=favorable unfavorable reserved"`
	Comment string `json:"comment" validate:"required,max=4000" text:"multiline"`
}

// RequestComplementsInput sends the dossier back to the applicant.
type RequestComplementsInput struct {
	Actor   Actor  `json:"actor"`
	Message string `json:"message" validate:"required,max=4000" text:"multiline"`
}

// ComplementsInput is the applicant's amended dossier.
type ComplementsInput struct {
	Actor   Actor           `json:"actor"`
	Dossier dossier.Dossier `json:"dossier"`
	Comment string          `json:"comment,omitempty" validate:"max=4000" text:"multiline"`
}

// Recommendation values.
const (
	RecommendApprove = "approve"
	RecommendReject  = "reject"
)

// RecommendInput is the instructor's recommendation.
type RecommendInput struct {
	Actor          Actor         `json:"actor"`
	Recommendation string        `json:"recommendation" validate:"required,oneof=approve reject"`
	Amount         dossier.Money `json:"amount,omitempty" validate:"required_if=Recommendation approve,gte=0"`
	Comment        string        `json:"comment" validate:"required,max=4000" text:"multiline"`
}

// Decision values.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
)

// DecideInput is the funding decision.
type DecideInput struct {
	Actor    Actor         `json:"actor"`
	Decision string        `json:"decision" validate:"required,oneof=approve reject"`
	Amount   dossier.Money `json:"amount,omitempty" validate:"required_if=Decision approve,gte=0"`
	// Motivation is mandatory for a refusal.
	Motivation string `json:"motivation,omitempty" validate:"required_if=Decision reject,max=4000" text:"multiline"`
}

// WithdrawInput is the applicant's withdrawal.
type WithdrawInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason" validate:"required,max=4000" text:"multiline"`
}

// StartInput starts an application workflow. The dossier was validated by the
// caller; the rules it was judged under travel with it so that a later rules
// change never alters an application in flight.
type StartInput struct {
	ApplicationID string          `json:"application_id"`
	Submitter     Actor           `json:"submitter"`
	Dossier       dossier.Dossier `json:"dossier"`
	Rules         rules.Rules     `json:"rules"`
	// Flags are warnings raised at submission (orange travel advice).
	Flags []string `json:"flags,omitempty"`
	// Resume, set when a run continues as new, carries the application as
	// the previous run left it, dossier included (Dossier is then empty);
	// the submission is not recorded again.
	Resume *Resume `json:"resume,omitempty"`
}

// Resume is what a new run of an application's workflow takes over from
// the previous one: its state, the last sequence number (all recorded) and
// what is left of the instruction clock.
type Resume struct {
	State         State         `json:"state"`
	Seq           int           `json:"seq"`
	DecisionClock time.Duration `json:"decision_clock"`
}

// Step is one thing that happened, as the status query reports it.
type Step struct {
	Seq    int       `json:"seq"`
	Event  string    `json:"event"`
	Status Status    `json:"status"`
	Actor  Actor     `json:"actor"`
	At     time.Time `json:"at"`
}

// Opinion is the embassy's recorded avis.
type Opinion struct {
	Value   string    `json:"value"`
	Comment string    `json:"comment,omitempty"`
	Actor   Actor     `json:"actor"`
	At      time.Time `json:"at"`
}

// Recommendation is the instructor's recorded recommendation.
type Recommendation struct {
	Value   string        `json:"value"`
	Amount  dossier.Money `json:"amount"`
	Comment string        `json:"comment"`
	Actor   Actor         `json:"actor"`
	At      time.Time     `json:"at"`
}

// Decision is the recorded funding decision.
type Decision struct {
	Value      string        `json:"value"`
	Amount     dossier.Money `json:"amount"`
	Motivation string        `json:"motivation,omitempty"`
	Actor      Actor         `json:"actor"`
	At         time.Time     `json:"at"`
}

// Deadline is a timer the workflow is waiting on.
type Deadline struct {
	Name string    `json:"name"`
	Due  time.Time `json:"due"`
}

// StepResult is what a human step's update returns once its transition is
// recorded: the transition's number and the status it left. It is small and
// holds no personal data, since Temporal keeps it in the history; the API
// answers with the read model.
type StepResult struct {
	Seq    int    `json:"seq"`
	Status Status `json:"status"`
}

// State is what the status query returns: the whole application as the workflow holds it.
type State struct {
	ApplicationID string   `json:"application_id"`
	Status        Status   `json:"status"`
	RulesVersion  string   `json:"rules_version"`
	Flags         []string `json:"flags,omitempty"`
	// Dossier is left out of the JSON when empty: the snapshots a
	// transition carries to the read model (in Temporal's history) hold no
	// dossier, which the read model keeps apart.
	Dossier        dossier.Dossier `json:"dossier,omitzero"`
	SubmittedAt    time.Time       `json:"submitted_at"`
	Submitter      Actor           `json:"submitter"`
	Opinion        *Opinion        `json:"opinion,omitempty"`
	Recommendation *Recommendation `json:"recommendation,omitempty"`
	Decision       *Decision       `json:"decision,omitempty"`
	// ComplementsRequest is the pending or last request for complements.
	ComplementsRequest string     `json:"complements_request,omitempty"`
	ComplementsDue     *time.Time `json:"complements_due,omitempty"`
	WithdrawalReason   string     `json:"withdrawal_reason,omitempty"`
	EmbassyContacted   bool       `json:"embassy_contacted"`
	// FollowUp is the second phase: renunciation, report, payment.
	FollowUp  *FollowUp  `json:"follow_up,omitempty"`
	Deadlines []Deadline `json:"deadlines,omitempty"`
	Steps     []Step     `json:"steps"`
}

// Country is the destination country.
func (s State) Country() string { return s.Dossier.Partner.Country }

// SIREN is the applying collectivité.
func (s State) SIREN() string { return s.Dossier.Collectivite.SIREN }

// Journal event types: one per transition, recorded in the journal and the history.
const (
	EventSubmitted             = "submitted"
	EventEmbassyConsulted      = "embassy_consulted"
	EventEmbassyContactMissing = "embassy_contact_missing"
	EventEmbassyReminded       = "embassy_reminded"
	EventOpinionGiven          = "opinion_given"
	EventOpinionDeemedGiven    = "opinion_deemed_given"
	EventComplementsRequested  = "complements_requested"
	EventComplementsReceived   = "complements_received"
	EventComplementsExpired    = "complements_expired"
	EventRecommended           = "recommended"
	EventDecisionReminded      = "decision_reminded"
	EventApproved              = "approved"
	EventRejected              = "rejected"
	EventWithdrawn             = "withdrawn"

	// The second phase.
	EventRenounced              = "renounced"
	EventChangesDeclared        = "changes_declared"
	EventChangesAcknowledged    = "changes_acknowledged"
	EventChangesRefused         = "changes_refused"
	EventMissionEnded           = "mission_ended"
	EventReportReminded         = "report_reminded"
	EventReportOverdue          = "report_overdue"
	EventReportGraceExpired     = "report_grace_expired"
	EventReportDeadlineExtended = "report_deadline_extended"
	EventGrantCancelled         = "grant_cancelled"
	EventReportSubmitted        = "report_submitted"
	EventReportChangesRequested = "report_changes_requested"
	EventReportAccepted         = "report_accepted"
	EventPaymentOrdered         = "payment_ordered"
	EventPaymentConfirmed       = "payment_confirmed"
)

// AllEvents lists every journal event type.
var AllEvents = []string{EventSubmitted, EventEmbassyConsulted, EventEmbassyContactMissing, EventEmbassyReminded,
	EventOpinionGiven, EventOpinionDeemedGiven, EventComplementsRequested, EventComplementsReceived,
	EventComplementsExpired, EventRecommended, EventDecisionReminded, EventApproved, EventRejected, EventWithdrawn,
	EventRenounced, EventChangesDeclared, EventChangesAcknowledged, EventChangesRefused, EventMissionEnded, EventReportReminded, EventReportOverdue, EventReportGraceExpired,
	EventReportDeadlineExtended, EventGrantCancelled, EventReportSubmitted, EventReportChangesRequested,
	EventReportAccepted, EventPaymentOrdered, EventPaymentConfirmed}

// Error types carried by the ApplicationErrors an update validator returns;
// the API maps them to HTTP statuses.
const (
	ErrForbidden    = "Forbidden"    // wrong role or scope: 403
	ErrInvalidState = "InvalidState" // step not allowed now: 409
	ErrInvalidInput = "InvalidInput" // payload invalid: 422, details carry field errors
)

// Paris is the programme's time zone: notice periods count French calendar days.
var Paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()
