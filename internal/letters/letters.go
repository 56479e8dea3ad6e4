// Package letters renders the letters the programme hands out, in French
// and as PDF: the approval of a grant, the refusal with the means and time
// limits of appeal, and the payment statement at closing. A letter is a
// function of the journal: rendered again from the same rows it is the same
// file, byte for byte, and it carries a verification code derived from its
// journal row's hash, which the public verify endpoint confirms.
package letters

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/daect/expectct/internal/lifecycle"
)

// Kind is which letter.
type Kind string

// The letters, one per decision that the programme notifies in writing.
const (
	Approval         Kind = "approval"          // décision d'attribution
	Refusal          Kind = "refusal"           // décision de refus, with the voies et délais de recours
	PaymentStatement Kind = "payment_statement" // relevé de paiement, at closing
)

// Kinds lists every letter, in lifecycle order.
var Kinds = []Kind{Approval, Refusal, PaymentStatement}

// Valid tells whether k is one of the letters.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Event is the journal event a letter of this kind speaks for.
func (k Kind) Event() string {
	switch k {
	case Approval:
		return lifecycle.EventApproved
	case Refusal:
		return lifecycle.EventRejected
	case PaymentStatement:
		return lifecycle.EventPaymentConfirmed
	}
	return ""
}

// mailLetters says which e-mail carries which letter.
var mailLetters = map[string]Kind{
	lifecycle.MailDecisionApproved: Approval,
	lifecycle.MailDecisionRejected: Refusal,
	lifecycle.MailPaymentConfirmed: PaymentStatement,
}

// OfMail is the letter attached to an e-mail of this template, or "".
func OfMail(template string) Kind { return mailLetters[template] }

// DefaultReportDeadlineDays is the time a collectivité has after the
// mission's end to file its report, when the rules it was judged under say
// nothing of it (domain.md: 30 days).
const DefaultReportDeadlineDays = 30

// Data is everything a letter shows. Every field comes from the journal
// (the decision's row and the dossier as the journal last recorded it
// before), so the same rows give the same letter.
type Data struct {
	Kind          Kind
	ApplicationID string
	// Date is the event's time: the letter's date and the PDF's creation
	// and modification dates.
	Date time.Time
	// Code is the verification code (Code), VerifyURL the address that
	// confirms it.
	Code      string
	VerifyURL string
	// SignedBy is the name of the person who took the decision.
	SignedBy string

	Collectivite     string
	SIREN            string
	ContactName      string
	MissionTitle     string
	MissionStart     time.Time
	MissionEnd       time.Time
	PartnerAuthority string
	PartnerCity      string
	Country          string // ISO 3166-1 alpha-2
	RulesVersion     string

	Requested int64 // euro cents
	Granted   int64
	// ReportDeadlineDays is the time allowed after the mission's end for
	// the report (approval), when the approval does not say when it is due.
	ReportDeadlineDays int
	// ReportDueOn is the last day to file the report, as the approval
	// recorded it (under the rules the application was judged under).
	ReportDueOn time.Time

	Motivation string // refusal

	Payable          int64 // payment statement
	Paid             int64
	PaymentReference string
	PaidOn           time.Time
}

// ReportDue is the date the mission report is due: the mission's end plus
// the report deadline.
func (d Data) ReportDue() time.Time {
	if !d.ReportDueOn.IsZero() {
		return d.ReportDueOn
	}
	days := d.ReportDeadlineDays
	if days <= 0 {
		days = DefaultReportDeadlineDays
	}
	return d.MissionEnd.AddDate(0, 0, days)
}

// codeEncoding is base32 without padding: capitals and digits 2 to 7, none
// of which reads as another (no 0/O, no 1/I).
var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Code is the verification code of the letter of this kind issued for the
// journal row of this hash: the first 16 base32 characters of a SHA-256
// over both, in groups of four. It is the same every time the letter is
// rendered, and cannot be guessed without reading the journal.
func Code(kind Kind, journalHash string) string {
	sum := sha256.Sum256([]byte("expectct-letter|" + string(kind) + "|" + journalHash))
	raw := codeEncoding.EncodeToString(sum[:])[:16]
	return raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
}

// NormalizeCode reads a code as a person may type it (lower case, spaces,
// with or without the dashes) and returns it in its printed form; ok is
// false when it cannot be a code.
func NormalizeCode(s string) (code string, ok bool) {
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
	if len(s) != 16 {
		return "", false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') {
			return "", false
		}
	}
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16], true
}

// VerifyURL is the public address that confirms a code, under the API's
// public base URL.
func VerifyURL(publicURL, code string) string {
	return strings.TrimRight(publicURL, "/") + "/v1/letters/verify/" + code
}

// FileName is the name the letter is offered under.
func FileName(applicationID string, kind Kind) string {
	return fmt.Sprintf("%s-%s.pdf", applicationID, strings.ReplaceAll(string(kind), "_", "-"))
}
