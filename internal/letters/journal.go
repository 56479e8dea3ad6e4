package letters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// ErrNotIssued reports a letter that does not exist: its decision is not
// in the journal (yet), or the code names no letter handed out.
var ErrNotIssued = errors.New("letters: no such letter")

// ErrAltered reports a letter whose journal row no longer matches its
// code or its own hash: the journal was changed after it was issued.
var ErrAltered = errors.New("letters: the journal row of the letter was altered")

// Source renders the letters of applications from the journal, the one
// place the API (downloads, verification) and the outbox relay (e-mail
// attachments) take them from.
type Source struct {
	Store *store.Store
	// PublicURL is the API's address as the public reaches it; the letters
	// print their verification address under it.
	PublicURL string
}

// Issued is a rendered letter and its record.
type Issued struct {
	Data   Data
	PDF    []byte
	Letter store.Letter
}

// Latest renders the application's letter of this kind: the one of the
// last journal row of its event. ErrNotIssued when there is none yet.
func (s *Source) Latest(ctx context.Context, applicationID string, kind Kind) (Issued, error) {
	entries, err := s.Store.Journal(ctx, applicationID)
	if err != nil {
		return Issued{}, err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].EventType == kind.Event() {
			return s.issue(ctx, entries, i, kind)
		}
	}
	return Issued{}, fmt.Errorf("%w: %s has no %s in its journal", ErrNotIssued, applicationID, kind.Event())
}

// At renders the letter of this kind for the journal row seq: the reference
// an outbox row keeps.
func (s *Source) At(ctx context.Context, applicationID string, seq int, kind Kind) (Issued, error) {
	entries, err := s.Store.Journal(ctx, applicationID)
	if err != nil {
		return Issued{}, err
	}
	if seq < 1 || seq > len(entries) || entries[seq-1].Seq != seq || entries[seq-1].EventType != kind.Event() {
		return Issued{}, fmt.Errorf("%w: %s seq %d is no %s", ErrNotIssued, applicationID, seq, kind.Event())
	}
	return s.issue(ctx, entries, seq-1, kind)
}

// Attachment is the letter an outbox row refers to, as a file.
func (s *Source) Attachment(ctx context.Context, applicationID string, seq int, kind string) (name string, pdf []byte, err error) {
	is, err := s.At(ctx, applicationID, seq, Kind(kind))
	if err != nil {
		return "", nil, err
	}
	return FileName(applicationID, Kind(kind)), is.PDF, nil
}

// Verify finds the letter of a code (in its printed form, NormalizeCode)
// and checks it against the journal: the row must still have the hash the
// code was derived from. It returns what the letter says, without the PDF.
func (s *Source) Verify(ctx context.Context, code string) (Data, error) {
	l, err := s.Store.LetterByCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return Data{}, fmt.Errorf("%w: code %s", ErrNotIssued, code)
	}
	if err != nil {
		return Data{}, err
	}
	entries, err := s.Store.Journal(ctx, l.ApplicationID)
	if err != nil {
		return Data{}, err
	}
	i := l.Seq - 1
	if i < 0 || i >= len(entries) {
		return Data{}, fmt.Errorf("%w: %s seq %d is gone", ErrAltered, l.ApplicationID, l.Seq)
	}
	row := entries[i]
	if row.ComputeHash() != row.Hash || row.Hash != l.JournalHash || Code(Kind(l.Kind), row.Hash) != l.Code {
		return Data{}, fmt.Errorf("%w: %s seq %d", ErrAltered, l.ApplicationID, l.Seq)
	}
	d, err := build(entries, i, Kind(l.Kind))
	if err != nil {
		return Data{}, err
	}
	d.SignedBy = l.SignedBy
	d.VerifyURL = VerifyURL(s.PublicURL, d.Code)
	return d, nil
}

// issue builds the letter of entries[i], records it on its first rendering
// and renders it.
func (s *Source) issue(ctx context.Context, entries []store.Entry, i int, kind Kind) (Issued, error) {
	d, err := build(entries, i, kind)
	if err != nil {
		return Issued{}, err
	}
	row := entries[i]
	rec, err := s.Store.IssuedLetter(ctx, row.ApplicationID, string(kind), row.Seq)
	if errors.Is(err, store.ErrNotFound) {
		signer, serr := s.signer(ctx, row.ActorID)
		if serr != nil {
			return Issued{}, serr
		}
		rec, err = s.Store.IssueLetter(ctx, store.Letter{Code: d.Code, ApplicationID: row.ApplicationID, Kind: string(kind),
			Seq: row.Seq, JournalHash: row.Hash, SignedBy: signer})
	}
	if err != nil {
		return Issued{}, err
	}
	if rec.Code != d.Code {
		return Issued{}, fmt.Errorf("%w: %s seq %d was issued with code %s", ErrAltered, row.ApplicationID, row.Seq, rec.Code)
	}
	d.SignedBy = rec.SignedBy
	d.VerifyURL = VerifyURL(s.PublicURL, d.Code)
	pdf, err := Render(d)
	if err != nil {
		return Issued{}, err
	}
	return Issued{Data: d, PDF: pdf, Letter: rec}, nil
}

// signer is the name the directory gives the decider, or their ID when it
// has none (a service account).
func (s *Source) signer(ctx context.Context, actorID string) (string, error) {
	p, err := s.Store.Person(ctx, actorID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return actorID, nil
	case err != nil:
		return "", err
	case strings.TrimSpace(p.Name) != "":
		return strings.TrimSpace(p.Name), nil
	}
	return actorID, nil
}

// details is what the letters read of a journal row's payload: the
// lifecycle's details, and the payment's confirmation.
type details struct {
	Amount       *dossier.Money   `json:"amount"`
	Deadline     *time.Time       `json:"deadline"`
	Motivation   string           `json:"motivation"`
	RulesVersion string           `json:"rules_version"`
	Dossier      *dossier.Dossier `json:"dossier"`
	Reference    string           `json:"reference"`
	PaidOn       string           `json:"paid_on"`
}

// build reads the letter of entries[i] from the journal alone: the row's
// details, and the dossier and amounts as the rows before it recorded
// them, so a later change of the dossier (changed dates after approval)
// never rewrites a letter already handed out.
func build(entries []store.Entry, i int, kind Kind) (Data, error) {
	row := entries[i]
	if row.EventType != kind.Event() {
		return Data{}, fmt.Errorf("%w: %s seq %d is %s, not %s", ErrNotIssued, row.ApplicationID, row.Seq, row.EventType, kind.Event())
	}
	rows := make([]details, i+1)
	for j := range rows {
		if err := json.Unmarshal(entries[j].Payload, &rows[j]); err != nil {
			return Data{}, fmt.Errorf("letters: %s seq %d: payload: %w", row.ApplicationID, entries[j].Seq, err)
		}
	}
	d := Data{Kind: kind, ApplicationID: row.ApplicationID, Date: row.OccurredAt, Code: Code(kind, row.Hash),
		ReportDeadlineDays: DefaultReportDeadlineDays}
	var dos *dossier.Dossier
	for j := i; j >= 0; j-- {
		if dos == nil && rows[j].Dossier != nil {
			dos = rows[j].Dossier
		}
		if d.RulesVersion == "" && rows[j].RulesVersion != "" {
			d.RulesVersion = rows[j].RulesVersion
		}
	}
	if dos == nil {
		return Data{}, fmt.Errorf("letters: %s: no dossier in the journal before seq %d", row.ApplicationID, row.Seq)
	}
	d.Collectivite, d.SIREN = dos.Collectivite.Name, dos.Collectivite.SIREN
	d.ContactName = dos.Contact.Name
	d.MissionTitle = dos.Mission.Title
	d.MissionStart, d.MissionEnd = dos.Mission.StartDate.Time, dos.Mission.EndDate.Time
	d.PartnerAuthority, d.PartnerCity, d.Country = dos.Partner.Authority, dos.Partner.City, dos.Partner.Country
	d.Requested = int64(dos.Budget.Requested)
	this := rows[i]
	switch kind {
	case Approval:
		if this.Amount == nil {
			return Data{}, fmt.Errorf("letters: %s seq %d: approval without an amount", row.ApplicationID, row.Seq)
		}
		d.Granted = int64(*this.Amount)
		if this.Deadline != nil {
			// Due at midnight after its last day, in Paris.
			last := this.Deadline.In(lifecycle.Paris).Add(-time.Nanosecond)
			d.ReportDueOn = time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, time.UTC)
		}
	case Refusal:
		d.Motivation = this.Motivation
	case PaymentStatement:
		if this.Amount == nil {
			return Data{}, fmt.Errorf("letters: %s seq %d: payment without an amount", row.ApplicationID, row.Seq)
		}
		d.Paid = int64(*this.Amount)
		d.PaymentReference = this.Reference
		if this.PaidOn != "" {
			on, err := time.Parse(time.DateOnly, this.PaidOn)
			if err != nil {
				return Data{}, fmt.Errorf("letters: %s seq %d: paid_on %q: %w", row.ApplicationID, row.Seq, this.PaidOn, err)
			}
			d.PaidOn = on
		}
		payable := (*dossier.Money)(nil)
		for j := i; j >= 0; j-- {
			// The report's acceptance recorded the amount payable.
			if payable == nil && entries[j].EventType == lifecycle.EventReportAccepted && rows[j].Amount != nil {
				payable = rows[j].Amount
			}
			if entries[j].EventType == lifecycle.EventApproved && rows[j].Amount != nil {
				d.Granted = int64(*rows[j].Amount)
				break
			}
		}
		// Without a reduction on the report's review, the amount payable
		// is the amount granted.
		d.Payable = d.Granted
		if payable != nil {
			d.Payable = int64(*payable)
		}
	}
	return d, nil
}
