package api

import (
	"net/http"
	"strings"

	"github.com/daect/expectct/internal/dossier"
)

// The form of an application ID as applicationID makes it: "EXP-" then the
// unpadded standard base32 of 10 bytes, 16 characters from A-Z and 2-7.
const (
	applicationIDPrefix = "EXP-"
	applicationIDChars  = 16
)

// ruleApplicationID names the check of an application ID in a URL path.
const ruleApplicationID = "application_id"

// validApplicationID tells whether id has the form of an application ID.
// The API checks it before anything else, so that no token check, body read,
// database query or Temporal call ever runs on a path no application can
// have, and nothing a client chose travels into logs or errors through it.
func validApplicationID(id string) bool {
	rest, ok := strings.CutPrefix(id, applicationIDPrefix)
	if !ok || len(rest) != applicationIDChars {
		return false
	}
	for _, c := range rest {
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// errBadApplicationID answers a path whose {id} cannot be an application's:
// 404 like an unknown one (no such resource can exist), with the field
// error saying why.
func errBadApplicationID() *Problem {
	fe := dossier.FieldError{Field: "id", Rule: ruleApplicationID,
		MessageFR: "L'identifiant de la demande doit être EXP- suivi de 16 caractères parmi A à Z et 2 à 7",
		MessageEN: "The application ID must be EXP- followed by 16 characters from A to Z and 2 to 7"}
	p := problem(http.StatusNotFound, "not-found", "Introuvable / Not found", fe.MessageEN)
	p.Errors = []dossier.FieldError{fe}
	return p
}
