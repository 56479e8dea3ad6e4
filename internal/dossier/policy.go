package dossier

import (
	"slices"
	"strings"
)

// Policy is what Validate needs from the programme rules. It lives here, not
// in package rules, because rules imports dossier (for Money); rules builds
// it with Rules.Policy. A Policy is expected to come from validated rules
// (MinAgents <= MaxAgents, percentages within 1..100, upper-case lists).
type Policy struct {
	MinAgents, MaxAgents           int
	MinMissionDays, MaxMissionDays int
	// MinNoticeDays is the least number of days between submission and the
	// mission's first day.
	MinNoticeDays int
	// MaxSharePercent caps the DAECT share of the mission cost;
	// LDCSharePercent replaces it for least-developed countries.
	MaxSharePercent, LDCSharePercent int
	CapPerMission                    Money
	// Country lists, ISO 3166-1 alpha-2, upper case.
	LeastDeveloped     []string
	TravelAdviceRed    []string
	TravelAdviceOrange []string
}

// IsLeastDeveloped tells whether the country gets the higher share.
func (p Policy) IsLeastDeveloped(country string) bool {
	return slices.Contains(p.LeastDeveloped, strings.ToUpper(country))
}

// IsRed tells whether travel to the country is formally advised against.
func (p Policy) IsRed(country string) bool {
	return slices.Contains(p.TravelAdviceRed, strings.ToUpper(country))
}

// IsOrange tells whether travel to the country is advised against save for imperative reasons.
func (p Policy) IsOrange(country string) bool {
	return slices.Contains(p.TravelAdviceOrange, strings.ToUpper(country))
}

// SharePercent is the largest DAECT share of the mission cost for a destination.
func (p Policy) SharePercent(country string) int {
	if p.IsLeastDeveloped(country) {
		return p.LDCSharePercent
	}
	return p.MaxSharePercent
}

// MaxShare is the share of a mission cost DAECT may fund for a destination,
// rounded down to the cent.
func (p Policy) MaxShare(total Money, country string) Money {
	return percentOf(total, p.SharePercent(country))
}

// MaxRequest is the most DAECT may grant for a mission of this total cost
// and destination: the share, within the per-mission cap.
func (p Policy) MaxRequest(total Money, country string) Money {
	return min(p.MaxShare(total, country), p.CapPerMission)
}

// percentOf is floor(m*pct/100) for m >= 0 and 0 <= pct <= 100, computed as
// q*pct + r*pct/100 (m = 100q + r) so that it cannot overflow int64.
func percentOf(m Money, pct int) Money {
	pct = max(0, min(pct, 100))
	q, r := int64(m)/100, int64(m)%100
	return Money(q*int64(pct) + r*int64(pct)/100)
}

// addMoney adds non-negative amounts, saturating instead of wrapping, so an
// absurd amount built in Go cannot make a budget look balanced.
func addMoney(ms ...Money) Money {
	const maxMoney = Money(1<<63 - 1)
	var sum Money
	for _, m := range ms {
		if m > maxMoney-sum {
			return maxMoney
		}
		sum += m
	}
	return sum
}
