package lifecycle

import "testing"

type row struct {
	event  string
	status Status
}

func walk(t *testing.T, rows []row) (allowed bool, at int) {
	t.Helper()
	var from Status
	for i, r := range rows {
		if !AllowedMove(from, r.event, r.status) {
			return false, i
		}
		from = r.status
	}
	return true, 0
}

func TestAllowedMovesFollowTheRecordedPaths(t *testing.T) {
	start := []row{{EventSubmitted, StatusSubmitted}, {EventEmbassyConsulted, StatusEmbassyConsultation}}
	review := []row{{EventOpinionGiven, StatusUnderReview}, {EventDecisionReminded, StatusUnderReview},
		{EventRecommended, StatusAwaitingDecision}, {EventDecisionReminded, StatusAwaitingDecision}}
	paths := map[string][]row{
		"approved": append(append(start, review...), row{EventApproved, StatusApproved}),
		"rejected": append(append(start, review...), row{EventRejected, StatusRejected}),
		"contact missing, then deadline": {{EventSubmitted, StatusSubmitted},
			{EventEmbassyContactMissing, StatusEmbassyConsultation}, {EventEmbassyConsulted, StatusEmbassyConsultation},
			{EventEmbassyReminded, StatusEmbassyConsultation}, {EventOpinionDeemedGiven, StatusUnderReview}},
		"complements answered": append(start, row{EventOpinionGiven, StatusUnderReview},
			row{EventComplementsRequested, StatusAwaitingComplements}, row{EventComplementsReceived, StatusUnderReview},
			row{EventComplementsRequested, StatusAwaitingComplements}, row{EventWithdrawn, StatusWithdrawn}),
		"complements expired": append(start, row{EventOpinionGiven, StatusUnderReview},
			row{EventComplementsRequested, StatusAwaitingComplements}, row{EventComplementsExpired, StatusClosedWithoutAction}),
		"withdrawn at once": {{EventSubmitted, StatusSubmitted}, {EventWithdrawn, StatusWithdrawn}},
	}
	for name, rows := range paths {
		if ok, at := walk(t, rows); !ok {
			t.Errorf("%s: row %d %+v refused", name, at, rows[at])
		}
	}
}

func TestAllowedMoveRefuses(t *testing.T) {
	for _, m := range []Move{
		{"", EventEmbassyConsulted, StatusEmbassyConsultation},                // not first
		{StatusSubmitted, EventSubmitted, StatusSubmitted},                    // submitted twice
		{StatusEmbassyConsultation, EventRecommended, StatusAwaitingDecision}, // review skipped
		{StatusAwaitingDecision, EventApproved, StatusRejected},               // event and status disagree
		{StatusUnderReview, EventEmbassyConsulted, StatusUnderReview},         // consulted after the opinion
		{StatusApproved, EventWithdrawn, StatusWithdrawn},                     // after the end
		{StatusWithdrawn, EventDecisionReminded, StatusWithdrawn},
		{StatusAwaitingComplements, EventApproved, StatusApproved},
	} {
		if AllowedMove(m.From, m.Event, m.To) {
			t.Errorf("AllowedMove(%q, %q, %q) = true", m.From, m.Event, m.To)
		}
	}
}
