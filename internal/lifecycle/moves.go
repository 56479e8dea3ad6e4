package lifecycle

// Move is one transition the journal may record: an event that takes an
// application from the status of the previous journal row to its own.
type Move struct {
	From  Status // "" for the first row
	Event string
	To    Status
}

// moves are the transitions the workflow records (workflows/). The status
// is the one written with the event, so the embassy's consultation shows
// from its first row (embassy_contact_missing or embassy_consulted), and
// the reminders keep the status they remind about.
var moves = func() map[Move]bool {
	m := map[Move]bool{}
	for _, mv := range []Move{
		{"", EventSubmitted, StatusSubmitted},

		// The directory has no contact: DAECT is told, and the embassy is
		// consulted once one is set.
		{StatusSubmitted, EventEmbassyContactMissing, StatusEmbassyConsultation},
		{StatusSubmitted, EventEmbassyConsulted, StatusEmbassyConsultation},
		{StatusEmbassyConsultation, EventEmbassyConsulted, StatusEmbassyConsultation},
		{StatusEmbassyConsultation, EventEmbassyReminded, StatusEmbassyConsultation},
		{StatusEmbassyConsultation, EventOpinionGiven, StatusUnderReview},
		{StatusEmbassyConsultation, EventOpinionDeemedGiven, StatusUnderReview},

		{StatusUnderReview, EventComplementsRequested, StatusAwaitingComplements},
		{StatusAwaitingComplements, EventComplementsReceived, StatusUnderReview},
		{StatusAwaitingComplements, EventComplementsExpired, StatusClosedWithoutAction},
		{StatusUnderReview, EventRecommended, StatusAwaitingDecision},
		// The instruction clock runs during review and while the decision waits.
		{StatusUnderReview, EventDecisionReminded, StatusUnderReview},
		{StatusAwaitingDecision, EventDecisionReminded, StatusAwaitingDecision},
		{StatusAwaitingDecision, EventApproved, StatusApproved},
		{StatusAwaitingDecision, EventRejected, StatusRejected},

		// The second phase.
		{StatusApproved, EventRenounced, StatusRenounced},
		{StatusChangesDeclared, EventRenounced, StatusRenounced},
		{StatusApproved, EventChangesDeclared, StatusChangesDeclared},
		{StatusChangesDeclared, EventChangesAcknowledged, StatusApproved},
		{StatusChangesDeclared, EventChangesRefused, StatusApproved},
		// The mission ends while a declaration waits: it lapses.
		{StatusChangesDeclared, EventMissionEnded, StatusAwaitingReport},
		{StatusApproved, EventMissionEnded, StatusAwaitingReport},
		{StatusReportOverdue, EventReportGraceExpired, StatusReportOverdue},
		{StatusReportOverdue, EventGrantCancelled, StatusCancelled},
		{StatusReportReview, EventReportChangesRequested, StatusAwaitingReportChange},
		{StatusReportReview, EventReportAccepted, StatusAwaitingPaymentOrder},
		{StatusAwaitingPaymentOrder, EventPaymentOrdered, StatusPaymentOrdered},
		{StatusPaymentOrdered, EventPaymentConfirmed, StatusClosed},
	} {
		m[mv] = true
	}
	// The applicant may withdraw until the decision.
	for _, s := range BeforeDecision {
		m[Move{s, EventWithdrawn, StatusWithdrawn}] = true
	}
	// While the report is awaited: reminders keep the status, the due date
	// passes, the report is filed, the due date is moved (an overdue report
	// is awaited again).
	for _, s := range []Status{StatusAwaitingReport, StatusAwaitingReportChange} {
		m[Move{s, EventReportReminded, s}] = true
		m[Move{s, EventReportOverdue, StatusReportOverdue}] = true
		m[Move{s, EventReportDeadlineExtended, s}] = true
	}
	m[Move{StatusReportOverdue, EventReportDeadlineExtended, StatusAwaitingReport}] = true
	for _, s := range AwaitingReport {
		m[Move{s, EventReportSubmitted, StatusReportReview}] = true
	}
	return m
}()

// AllowedMove tells whether the journal may record event with status to
// right after a row with status from ("" when it is the first row).
func AllowedMove(from Status, event string, to Status) bool {
	return moves[Move{From: from, Event: event, To: to}]
}
