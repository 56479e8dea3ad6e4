package api

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// Problem is an RFC 9457 problem document, with the field errors of an
// invalid input in both languages.
type Problem struct {
	Type     string               `json:"type"`
	Title    string               `json:"title"`
	Status   int                  `json:"status"`
	Detail   string               `json:"detail,omitempty"`
	Instance string               `json:"instance,omitempty"`
	Errors   []dossier.FieldError `json:"errors,omitempty"`
	// Incident names a 5xx in the log, which alone holds its cause.
	Incident string `json:"incident,omitempty"`

	// retryAfter, in seconds, becomes the Retry-After header of a 429.
	retryAfter int
	// cause is the error behind a 5xx: logged, never sent.
	cause error
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

const problemBase = "https://expectct.diplomatie.gouv.fr/problems/"

func problem(status int, slug, title, detail string) *Problem {
	return &Problem{Type: problemBase + slug, Title: title, Status: status, Detail: detail}
}

// Problems the API answers with.
var (
	errUnauthorized = func(detail string) *Problem {
		return problem(http.StatusUnauthorized, "unauthorized", "Authentification requise / Authentication required", detail)
	}
	errForbidden = func(detail string) *Problem {
		return problem(http.StatusForbidden, "forbidden", "Action non autorisée / Action not allowed", detail)
	}
	errNotFound = func(detail string) *Problem {
		return problem(http.StatusNotFound, "not-found", "Introuvable / Not found", detail)
	}
	errConflict = func(detail string) *Problem {
		return problem(http.StatusConflict, "conflict", "Étape impossible dans l'état actuel / Step not allowed in the current state", detail)
	}
)

// errUnavailable answers a failure of ours or of a dependency. Error texts
// name hosts, tables and queries, so the client gets only what is written
// for them (detail, bilingual; a generic one when empty) and a reference;
// the log gets the reference and the cause (Server.refused).
func errUnavailable(detail string, cause error) *Problem {
	ref := incidentID()
	if detail == "" {
		detail = "réessayez plus tard / try again later"
	}
	p := problem(http.StatusServiceUnavailable, "unavailable", "Service momentanément indisponible / Service temporarily unavailable",
		fmt.Sprintf("%s (incident %s)", detail, ref))
	p.Incident, p.cause = ref, cause
	return p
}

// incidentID is a random reference short enough to read over the phone.
func incidentID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "INC-" + base32.StdEncoding.EncodeToString(b)
}

// fromValidation maps a decoding or validation error of an input.
func fromValidation(err *dossier.ValidationError) *Problem {
	var p *Problem
	switch err.Kind {
	case dossier.KindTooLarge:
		p = problem(http.StatusRequestEntityTooLarge, "too-large", "Requête trop volumineuse / Request body too large", "")
	case dossier.KindMalformed:
		p = problem(http.StatusBadRequest, "malformed", "Requête mal formée / Malformed request", "")
	default:
		p = problem(http.StatusUnprocessableEntity, "invalid", "Données invalides / Invalid data", "")
	}
	p.Errors = err.Fields
	if len(err.Fields) > 0 {
		p.Detail = err.Fields[0].MessageEN
	}
	return p
}

// fromError maps any error of a handler to a problem. Anything unknown is an
// infrastructure failure (503), never blamed on the user's input.
func fromError(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var ve *dossier.ValidationError
	if errors.As(err, &ve) {
		return fromValidation(ve)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case lifecycle.ErrForbidden:
			return errForbidden(appErr.Message())
		case lifecycle.ErrInvalidState:
			return errConflict(appErr.Message())
		case lifecycle.ErrInvalidInput:
			var fields []dossier.FieldError
			if appErr.HasDetails() {
				_ = appErr.Details(&fields)
			}
			return fromValidation(&dossier.ValidationError{Kind: dossier.KindInvalid, Fields: fields})
		}
	}
	var notFound *serviceerror.NotFound
	switch {
	case isCompleted(err):
		return errConflict("the application is closed: no further step is possible")
	case errors.Is(err, store.ErrNotFound), errors.As(err, &notFound):
		return errNotFound("no such application")
	case errors.Is(err, store.ErrBadCursor):
		return fromValidation(&dossier.ValidationError{Kind: dossier.KindMalformed, Fields: []dossier.FieldError{{
			Field: "cursor", Rule: "cursor",
			MessageFR: "Curseur inconnu: reprenez la liste depuis le début",
			MessageEN: "Unknown cursor: start the listing again from the first page"}}})
	}
	return errUnavailable("", err)
}

func isCompleted(err error) bool {
	var fp *serviceerror.FailedPrecondition
	if errors.As(err, &fp) {
		return true
	}
	var nf *serviceerror.NotFound
	return errors.As(err, &nf) && nf.Message == "workflow execution already completed"
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
