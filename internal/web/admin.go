package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// The admin's two directories, people and embassies: read by the admin
// and the auditor, changed by the admin through the API's own routes
// (POST /v1/people/{person}/grants and /revocations, PUT
// /v1/embassies/{country}), so the rules (no admin changes their own
// roles, a scope for each role, the directory's journal) stay there.

// directoryPage is a directory, with the form to change it for an admin
// (filled again with what was typed when the API refused it).
type directoryPage struct {
	Rows    any
	CanEdit bool
	Values  formValues
	Form    directoryForm
}

// directoryForm is the form changing a directory: where it posts, its
// inputs, and the messages of its legend, hint and button.
type directoryForm struct {
	ID, Action, Legend, Hint, Button string
	Fields                           []field
}

var (
	grantForm = directoryForm{ID: "grant-form", Action: "/admin/personnes/attribution", Legend: "grant_role", Hint: "grant_hint",
		Button: "grant_role", Fields: grantFields}
	embassyForm = directoryForm{ID: "embassy-form", Action: "/admin/ambassades", Legend: "set_embassy", Hint: "set_embassy_hint",
		Button: "save_contact", Fields: embassyFields}
)

// grantFields are the form granting a role; the names are the API's
// fields, so its refusals land next to them.
var grantFields = []field{
	{Path: "person", FR: "Identifiant de la personne", EN: "Person's ID",
		HintFR: "Son identifiant chez le fournisseur d'identité (sub)", HintEN: "Their ID at the identity provider (sub)", Auto: "off"},
	{Path: "role", FR: "Rôle", EN: "Role", Kind: "select", Options: roleOptions()},
	{Path: "siren", FR: "SIREN de la collectivité", EN: "Collectivité's SIREN", Kind: "numeric",
		HintFR: "Pour le rôle demandeur seulement", HintEN: "For the applicant role only"},
	{Path: "countries", FR: "Pays couverts", EN: "Countries covered",
		HintFR: "Pour le rôle ambassade seulement : codes ISO à deux lettres séparés par des virgules (ex. SN, ML)",
		HintEN: "For the embassy role only: two-letter ISO codes separated by commas (e.g. SN, ML)"},
	{Path: "name", FR: "Nom", EN: "Name", HintFR: "Pour une personne qui ne s'est pas encore connectée",
		HintEN: "For a person who has not signed in yet", Auto: "off"},
	{Path: "email", FR: "Adresse électronique", EN: "E-mail address", Kind: "email", Auto: "off"},
	{Path: "reason", FR: "Motif (inscrit au journal de l'annuaire)", EN: "Reason (written in the directory's journal)", Kind: "textarea"},
}

// embassyFields are the form setting an embassy's contact.
var embassyFields = []field{
	{Path: "country", FR: "Pays (code ISO à deux lettres)", EN: "Country (two-letter ISO code)", Auto: "off"},
	{Path: "name", FR: "Nom du service", EN: "Service's name", Auto: "off"},
	{Path: "emails", FR: "Adresses électroniques", EN: "E-mail addresses",
		HintFR: "Séparées par des virgules", HintEN: "Separated by commas", Auto: "off"},
}

func roleOptions() [][3]string {
	var out [][3]string
	for _, r := range lifecycle.AllRoles {
		out = append(out, [3]string{string(r), tr("fr", "role_"+string(r)), tr("en", "role_"+string(r))})
	}
	return out
}

func (s *Server) people(v *visit) error {
	return s.directory(v, "/v1/people", "people", directoryPage{Form: grantForm, CanEdit: v.may(lifecycle.ActionPeopleGrant)}, http.StatusOK, nil)
}

func (s *Server) embassies(v *visit) error {
	dp := directoryPage{Form: embassyForm, CanEdit: v.may(lifecycle.ActionEmbassyDirectory)}
	// "Modifier" on a row fills the form with it.
	if cc := v.r.URL.Query().Get("pays"); cc != "" {
		dp.Values = formValues{"country": cc}
	}
	return s.directory(v, "/v1/embassies", "embassies", dp, http.StatusOK, nil)
}

// directory shows an API list (the template is named after the page's
// title message), with a refusal's problem and field errors if any.
func (s *Server) directory(v *visit, apiPath, name string, dp directoryPage, status int, p *api.Problem) error {
	res := v.call(api.CallRequest{Method: "GET", Path: apiPath})
	if res.Problem != nil {
		v.problemPage(res.Problem)
		return nil
	}
	dp.Rows = res.Body
	if p != nil {
		p = foldIndexes(p)
	}
	if dp.CanEdit && dp.Values != nil && dp.Values["country"] != "" && p == nil {
		dp.Values = embassyValues(res.Body, dp.Values["country"])
	}
	return v.render(status, name, v.t(name), dp, p)
}

// grant gives a person a role.
func (s *Server) grant(v *visit) error {
	values := postedValues(v.r)
	in := identity.GrantInput{Role: values["role"], SIREN: values["siren"], Countries: splitList(strings.ToUpper(values["countries"])),
		Name: values["name"], Email: values["email"], Reason: values["reason"]}
	return s.directoryChange(v, "POST", "/v1/people/"+personSegment(values["person"])+"/grants", in, "/admin/personnes",
		func(p *api.Problem) error {
			return s.directory(v, "/v1/people", "people", directoryPage{Form: grantForm, CanEdit: true, Values: values}, p.Status, p)
		})
}

// revoke takes a role back.
func (s *Server) revoke(v *visit) error {
	values := postedValues(v.r)
	in := identity.RevokeInput{Role: values["role"], Reason: values["reason"]}
	return s.directoryChange(v, "POST", "/v1/people/"+personSegment(values["person"])+"/revocations", in, "/admin/personnes",
		func(p *api.Problem) error {
			return s.directory(v, "/v1/people", "people", directoryPage{Form: grantForm, CanEdit: true}, p.Status, p)
		})
}

// setEmbassy records an embassy's contact.
func (s *Server) setEmbassy(v *visit) error {
	values := postedValues(v.r)
	cc := strings.ToUpper(values["country"])
	in := api.EmbassyInput{Name: values["name"], Emails: splitList(values["emails"])}
	return s.directoryChange(v, "PUT", "/v1/embassies/"+personSegment(cc), in, "/admin/ambassades",
		func(p *api.Problem) error {
			return s.directory(v, "/v1/embassies", "embassies", directoryPage{Form: embassyForm, CanEdit: true, Values: values}, p.Status, p)
		})
}

// directoryChange calls the API's route; a refusal shows the directory
// again with its messages, a success the directory updated.
func (s *Server) directoryChange(v *visit, method, path string, in any, back string, refused func(*api.Problem) error) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	res := v.call(api.CallRequest{Method: method, Path: path, Body: body})
	switch p := res.Problem; {
	case p != nil && p.Status == http.StatusForbidden:
		// The refusal alone: reading the directory again could be a
		// second refusal in the attempts table.
		v.problemPage(p)
		return nil
	case p != nil:
		return refused(p)
	}
	return v.redirect(back + "?ok=directory_saved")
}

// personSegment is a person's ID (or a country code) as one segment of an
// in-process API path. An empty one becomes a NUL character, which no ID
// may hold: the API then refuses it with its own message, next to the field.
func personSegment(id string) string {
	if id == "" {
		return "%00"
	}
	return url.PathEscape(id)
}

// postedValues are a form's fields, trimmed, without its token.
func postedValues(r *http.Request) formValues {
	values := formValues{}
	for k := range r.PostForm {
		if k != "csrf" {
			values[k] = strings.TrimSpace(r.PostForm.Get(k))
		}
	}
	return values
}

// splitList reads a list typed with commas, semicolons or spaces.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

var listIndex = regexp.MustCompile(`\[\d+\]$`)

// foldIndexes puts the errors of a list's items (countries[1], emails[0])
// on the list's one input.
func foldIndexes(p *api.Problem) *api.Problem {
	q := *p
	q.Errors = append(q.Errors[:0:0], p.Errors...)
	for i := range q.Errors {
		q.Errors[i].Field = listIndex.ReplaceAllString(q.Errors[i].Field, "")
	}
	return &q
}

// embassyValues fills the embassy form with the directory's entry for the
// country, if it has one.
func embassyValues(rows any, cc string) formValues {
	values := formValues{"country": cc}
	var list []store.Embassy
	if into(rows, &list) != nil {
		return values
	}
	for _, e := range list {
		if e.Country == cc {
			values["name"], values["emails"] = e.Name, strings.Join(e.Emails, ", ")
		}
	}
	return values
}
