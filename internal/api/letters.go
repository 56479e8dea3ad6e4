package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/letters"
	"github.com/daect/expectct/internal/lifecycle"
)

// letterVerifyPath is the public route that confirms a letter's code.
const letterVerifyPath = "/v1/letters/verify/{code}"

// letterCodeHeader tells the verification code of a downloaded letter.
const letterCodeHeader = "Expectct-Letter-Code"

// file is a handler's answer that is not JSON: a letter, a report's file.
type file struct {
	name, contentType string
	// disposition replaces the default Content-Disposition.
	disposition string
	data        []byte
	header      http.Header
}

func (f file) write(w http.ResponseWriter, status int) {
	for k, v := range f.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", f.contentType)
	disposition := f.disposition
	if disposition == "" {
		disposition = fmt.Sprintf("attachment; filename=%q", f.name)
	}
	w.Header().Set("Content-Disposition", disposition)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	w.WriteHeader(status)
	_, _ = w.Write(f.data)
}

// letter serves an application's letter, rendered from the journal, to
// whoever may read the application.
func (s *Server) letter(r *request) (int, any, error) {
	kind := letters.Kind(r.PathValue("kind"))
	if !kind.Valid() {
		return 0, nil, errUnknownLetterKind(string(kind))
	}
	if err := s.inScope(r); err != nil {
		return 0, nil, err
	}
	if s.Letters == nil {
		return 0, nil, errUnavailable("", errors.New("the API has no letters source"))
	}
	is, err := s.Letters.Latest(r.Context(), r.appID, kind)
	if errors.Is(err, letters.ErrNotIssued) {
		return 0, nil, errNotFound(fmt.Sprintf("l'application %s n'a pas (encore) de lettre %s / application %s has no %s letter (yet)",
			r.appID, kind, r.appID, kind))
	}
	if err != nil {
		return 0, nil, err
	}
	s.Log.Info("letter downloaded", "application_id", r.appID, "kind", kind, "actor", r.actor.ID, "role", r.actor.Role, "code", is.Data.Code)
	return http.StatusOK, file{name: letters.FileName(r.appID, kind), contentType: "application/pdf", data: is.PDF,
		header: http.Header{letterCodeHeader: {is.Data.Code}}}, nil
}

func errUnknownLetterKind(kind string) *Problem {
	fe := dossier.FieldError{Field: "kind", Rule: "oneof",
		MessageFR: fmt.Sprintf("Lettre inconnue %q : approval, refusal ou payment_statement", kind),
		MessageEN: fmt.Sprintf("Unknown letter %q: approval, refusal or payment_statement", kind)}
	p := errNotFound(fe.MessageEN)
	p.Errors = []dossier.FieldError{fe}
	return p
}

// LetterVerification is what the public verify endpoint confirms of a
// letter: who it was for, what it decided, how much, when and who signed.
type LetterVerification struct {
	ApplicationID string        `json:"application_id"`
	Kind          letters.Kind  `json:"kind"`
	Collectivite  string        `json:"collectivite"`
	Amount        dossier.Money `json:"amount"`
	Date          string        `json:"date"`
	SignedBy      string        `json:"signed_by"`
}

// verifyLetter answers anyone holding a letter's code. It names no one but
// the collectivité and the signer, which the letter itself shows; a code
// that names no letter, or one whose journal row was altered since, is 404.
func (s *Server) verifyLetter(w http.ResponseWriter, r *http.Request) {
	v, err := s.VerifyLetter(r.Context(), r.PathValue("code"))
	if err != nil {
		s.publicFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// VerifyLetter confirms a letter's code, for the public endpoint and the
// web application's verification form; a refusal is a *Problem.
func (s *Server) VerifyLetter(ctx context.Context, raw string) (LetterVerification, error) {
	code, ok := letters.NormalizeCode(raw)
	if !ok {
		fe := dossier.FieldError{Field: "code", Rule: "letter_code",
			MessageFR: "Le code de vérification est formé de 16 caractères parmi A à Z et 2 à 7, par groupes de quatre (XXXX-XXXX-XXXX-XXXX)",
			MessageEN: "The verification code is 16 characters from A to Z and 2 to 7, in groups of four (XXXX-XXXX-XXXX-XXXX)"}
		p := errNotFound(fe.MessageEN)
		p.Errors = []dossier.FieldError{fe}
		return LetterVerification{}, p
	}
	if s.Letters == nil {
		return LetterVerification{}, errors.New("the API has no letters source")
	}
	d, err := s.Letters.Verify(ctx, code)
	switch {
	case errors.Is(err, letters.ErrNotIssued):
		return LetterVerification{}, errNotFound("aucune lettre ne porte ce code / no letter bears this code")
	case errors.Is(err, letters.ErrAltered):
		s.Log.Error("letter code names an altered journal row", "code", code, "error", err)
		return LetterVerification{}, errNotFound("aucune lettre ne porte ce code / no letter bears this code")
	case err != nil:
		return LetterVerification{}, err
	}
	v := LetterVerification{ApplicationID: d.ApplicationID, Kind: d.Kind, Collectivite: d.Collectivite,
		Date: d.Date.In(lifecycle.Paris).Format("2006-01-02"), SignedBy: d.SignedBy}
	switch d.Kind {
	case letters.Approval:
		v.Amount = dossier.Money(d.Granted)
	case letters.Refusal:
		v.Amount = dossier.Money(d.Requested)
	case letters.PaymentStatement:
		v.Amount = dossier.Money(d.Paid)
	}
	return v, nil
}

// publicFailure answers a failure on a public route as any 5xx: a
// bilingual message and an incident the log explains.
func (s *Server) publicFailure(w http.ResponseWriter, err error) {
	writeProblem(w, s.Refusal(err))
}

// Refusal is the problem the API answers for err; the cause of a 5xx goes
// to the log alone.
func (s *Server) Refusal(err error) *Problem {
	p := fromError(err)
	if p.Status >= 500 {
		s.Log.Error("request failed", "incident", p.Incident, "error", p.cause)
	}
	return p
}
