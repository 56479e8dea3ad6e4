package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// field is one input of the application form; Path is its place in the
// dossier's JSON, which is also the name the API's errors give it.
type field struct {
	Path, FR, EN, Kind, HintFR, HintEN string
	Options                            [][3]string // value, FR, EN
	Auto                               string      // autocomplete
}

// section is one part of the guided form.
type section struct {
	ID, FR, EN string
	Fields     []field
	Agents     bool
}

// maxAgentRows is how many agent rows the form offers (the rules' maximum
// is checked by the API).
const maxAgentRows = 6

var sections = []section{
	{ID: "collectivite", FR: "Collectivité", EN: "Local authority", Fields: []field{
		{Path: "collectivite.name", FR: "Nom de la collectivité", EN: "Name of the local authority", Auto: "organization"},
		{Path: "collectivite.kind", FR: "Type de collectivité", EN: "Kind of local authority", Kind: "select", Options: [][3]string{
			{"commune", "Commune", "Municipality"}, {"intercommunalite", "Intercommunalité", "Inter-municipal body"},
			{"departement", "Département", "Département"}, {"region", "Région", "Region"}, {"groupement", "Groupement", "Grouping"}}},
		{Path: "collectivite.siren", FR: "SIREN", EN: "SIREN", HintFR: "9 chiffres", HintEN: "9 digits", Kind: "numeric"},
		{Path: "collectivite.region", FR: "Région", EN: "Region"},
	}},
	{ID: "contact", FR: "Contact", EN: "Contact", Fields: []field{
		{Path: "contact.name", FR: "Nom et prénom", EN: "Full name", Auto: "name"},
		{Path: "contact.email", FR: "Courriel", EN: "E-mail", Kind: "email", Auto: "email"},
		{Path: "contact.phone", FR: "Téléphone", EN: "Phone", Kind: "tel", Auto: "tel", HintFR: "Par exemple +33 1 23 45 67 89", HintEN: "For example +33 1 23 45 67 89"},
	}},
	{ID: "partner", FR: "Partenaire", EN: "Partner", Fields: []field{
		{Path: "partner.authority", FR: "Autorité locale partenaire", EN: "Partner local authority"},
		{Path: "partner.city", FR: "Ville", EN: "City"},
		{Path: "partner.country", FR: "Pays (code ISO à deux lettres)", EN: "Country (two-letter ISO code)", HintFR: "Par exemple SN pour le Sénégal", HintEN: "For example SN for Senegal"},
		{Path: "partner.partnership", FR: "Partenariat", EN: "Partnership", Kind: "select", Options: [][3]string{
			{"existing", "Existant", "Existing"}, {"future", "À venir", "Future"}}},
	}},
	{ID: "mission", FR: "Mission", EN: "Mission", Fields: []field{
		{Path: "mission.title", FR: "Intitulé de la mission", EN: "Title of the mission"},
		{Path: "mission.theme", FR: "Thème", EN: "Theme"},
		{Path: "mission.objectives", FR: "Objectifs", EN: "Objectives", Kind: "textarea"},
		{Path: "mission.start_date", FR: "Premier jour", EN: "First day", Kind: "date"},
		{Path: "mission.end_date", FR: "Dernier jour", EN: "Last day", Kind: "date"},
	}},
	{ID: "agents", FR: "Agents", EN: "Agents", Agents: true},
	{ID: "budget", FR: "Budget (euros)", EN: "Budget (euros)", Fields: []field{
		{Path: "budget.travel", FR: "Transport", EN: "Travel", Kind: "money"},
		{Path: "budget.accommodation", FR: "Hébergement", EN: "Accommodation", Kind: "money"},
		{Path: "budget.daily_allowances", FR: "Indemnités journalières", EN: "Daily allowances", Kind: "money"},
		{Path: "budget.other", FR: "Autres frais", EN: "Other costs", Kind: "money"},
		{Path: "budget.requested", FR: "Montant demandé au programme", EN: "Amount requested from the programme", Kind: "money"},
		{Path: "budget.own_share", FR: "Part de la collectivité", EN: "Own share of the local authority", Kind: "money"},
	}},
}

var agentFields = []field{
	{Path: "name", FR: "Nom et prénom", EN: "Full name"},
	{Path: "position", FR: "Fonction", EN: "Position"},
	{Path: "expertise", FR: "Expertise apportée", EN: "Expertise brought", Kind: "textarea"},
}

var moneyPaths = map[string]bool{"budget.travel": true, "budget.accommodation": true, "budget.daily_allowances": true,
	"budget.other": true, "budget.requested": true, "budget.own_share": true}

// allPaths are the form's fields, agents' rows included.
func allPaths() []string {
	var out []string
	for _, sec := range sections {
		for _, f := range sec.Fields {
			out = append(out, f.Path)
		}
		if sec.Agents {
			for i := range maxAgentRows {
				for _, f := range agentFields {
					out = append(out, fmt.Sprintf("agents[%d].%s", i, f.Path))
				}
			}
		}
	}
	return out
}

// readForm takes the form's fields under prefix ("" for a draft,
// "dossier." for complements), trimmed and bounded.
func readForm(v *visit, prefix string) formValues {
	out := formValues{}
	for _, p := range allPaths() {
		val := strings.TrimSpace(v.r.PostForm.Get(prefix + p))
		if len(val) > 8000 {
			val = val[:8000]
		}
		if val != "" {
			out[prefix+p] = val
		}
	}
	return out
}

var frenchMoney = regexp.MustCompile(`^-?[0-9][0-9 \x{00a0}\x{202f}.]*(,[0-9]{1,2})?$`)

// spaces are the ones French amounts are grouped with.
var spaces = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "")

// normalizeMoney accepts "1 234,50" as French people write it: the API
// reads "1234.50".
func normalizeMoney(s string) string {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "€"))
	if strings.Contains(s, ",") && frenchMoney.MatchString(s) {
		s = strings.ReplaceAll(spaces.Replace(s), ".", "")
		return strings.Replace(s, ",", ".", 1)
	}
	return spaces.Replace(s)
}

// dossierJSON builds the dossier the API reads from the form's fields under
// prefix. Empty fields are left out, so the API names each missing one.
func dossierJSON(f formValues, prefix string) map[string]any {
	root := map[string]any{}
	var agents []any
	for _, p := range allPaths() {
		val := f[prefix+p]
		if val == "" {
			continue
		}
		if moneyPaths[p] {
			val = normalizeMoney(val)
		}
		if rest, ok := strings.CutPrefix(p, "agents["); ok {
			idx, name, _ := strings.Cut(rest, "].")
			i, _ := strconv.Atoi(idx)
			for len(agents) <= i {
				agents = append(agents, map[string]any{})
			}
			agents[i].(map[string]any)[name] = val
			continue
		}
		group, name, _ := strings.Cut(p, ".")
		g, _ := root[group].(map[string]any)
		if g == nil {
			g = map[string]any{}
			root[group] = g
		}
		g[name] = val
	}
	// Rows left empty are not agents.
	var filled []any
	for _, a := range agents {
		if len(a.(map[string]any)) > 0 {
			filled = append(filled, a)
		}
	}
	if filled != nil {
		root["agents"] = filled
	}
	return root
}

// dossierFields are a dossier's values as the form shows them.
func dossierFields(d dossier.Dossier, prefix string) formValues {
	raw, _ := json.Marshal(d)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	out := formValues{}
	for key, group := range m {
		switch g := group.(type) {
		case map[string]any:
			for k, val := range g {
				out[prefix+key+"."+k] = fmt.Sprint(val)
			}
		case []any:
			for i, a := range g {
				if am, ok := a.(map[string]any); ok {
					for k, val := range am {
						out[fmt.Sprintf("%s%s[%d].%s", prefix, key, i, k)] = fmt.Sprint(val)
					}
				}
			}
		}
	}
	for p := range moneyPaths {
		if val, ok := out[prefix+p]; ok {
			if m, err := dossier.ParseMoney(val); err == nil {
				out[prefix+p] = m.String()
			}
		}
	}
	return out
}

// draftPage is the guided form.
type draftPage struct {
	Draft  store.Draft
	Values formValues
	Prefix string
	Totals totals
}

// totals are the budget's sums, computed again by the browser's script as
// the person types; the API checks them once more at submission.
type totals struct {
	Cost, MaxShare, Funded string
	SharePercent           int
}

func (s *Server) budgetTotals(f formValues, prefix string) totals {
	var cost, funded dossier.Money
	for _, p := range []string{"budget.travel", "budget.accommodation", "budget.daily_allowances", "budget.other"} {
		if m, err := dossier.ParseMoney(normalizeMoney(f[prefix+p])); err == nil {
			cost += m
		}
	}
	for _, p := range []string{"budget.requested", "budget.own_share"} {
		if m, err := dossier.ParseMoney(normalizeMoney(f[prefix+p])); err == nil {
			funded += m
		}
	}
	pol := s.Rules.Policy()
	country := strings.ToUpper(f[prefix+"partner.country"])
	return totals{Cost: cost.String(), Funded: funded.String(), MaxShare: pol.MaxShare(cost, country).String(), SharePercent: pol.SharePercent(country)}
}

func (s *Server) newDraft(v *visit) error {
	actor, ok := v.actor(lifecycle.RoleApplicant)
	if !ok {
		v.problemPage(&api.Problem{Status: http.StatusForbidden, Title: "Action non autorisée / Action not allowed"})
		return nil
	}
	d, err := s.Store.SaveDraft(v.r.Context(), store.Draft{OwnerID: v.session.PersonID, SIREN: actor.SIREN,
		Data: mustJSON(formValues{"collectivite.siren": actor.SIREN})})
	if errors.Is(err, store.ErrTooManyDrafts) {
		v.problemPage(&api.Problem{Status: http.StatusConflict, Title: err.Error()})
		return nil
	}
	if err != nil {
		return err
	}
	return v.redirect("/brouillons/" + d.ID)
}

func (s *Server) loadDraft(v *visit) (store.Draft, formValues, bool, error) {
	d, err := s.Store.Draft(v.r.Context(), v.session.PersonID, v.r.PathValue("draft"))
	if errors.Is(err, store.ErrNotFound) {
		v.problemPage(&api.Problem{Status: http.StatusNotFound, Title: v.t("not_found")})
		return d, nil, false, nil
	}
	if err != nil {
		return d, nil, false, err
	}
	values := formValues{}
	if err := json.Unmarshal(d.Data, &values); err != nil {
		return d, nil, false, err
	}
	return d, values, d.SubmittedAt == nil, nil
}

func (s *Server) draftPage(v *visit) error {
	d, values, ok, err := s.loadDraft(v)
	if !ok || err != nil {
		if err == nil && d.ApplicationID != "" {
			return v.redirect("/demandes/" + d.ApplicationID)
		}
		return err
	}
	return v.render(http.StatusOK, "draft", v.t("new_application"), draftPage{Draft: d, Values: values, Totals: s.budgetTotals(values, "")}, nil)
}

// saveDraft keeps the form as it is; with intent=submit it then submits
// the dossier through the API, which validates it, and on a refusal shows
// the form again with each message next to its field.
func (s *Server) saveDraft(v *visit) error {
	d, _, ok, err := s.loadDraft(v)
	if !ok || err != nil {
		return err
	}
	values := readForm(v, "")
	d.Data = mustJSON(values)
	if d, err = s.Store.SaveDraft(v.r.Context(), d); err != nil {
		return err
	}
	if v.r.PostForm.Get("intent") != "submit" {
		return v.redirect("/brouillons/" + d.ID + "?ok=draft_saved")
	}
	body, err := json.Marshal(dossierJSON(values, ""))
	if err != nil {
		return err
	}
	// The draft's ID is the submission's idempotency key: submitting twice
	// (a double click, a reload) finds the first application.
	res := v.call(api.CallRequest{Method: "POST", Path: "/v1/applications", Body: body, IdempotencyKey: "draft-" + d.ID})
	if res.Problem != nil {
		return v.render(res.Problem.Status, "draft", v.t("new_application"), draftPage{Draft: d, Values: values, Totals: s.budgetTotals(values, "")}, res.Problem)
	}
	out := res.Body.(api.SubmitResult)
	if err := s.Store.MarkDraftSubmitted(v.r.Context(), v.session.PersonID, d.ID, out.ApplicationID); err != nil {
		return err
	}
	return v.redirect("/demandes/" + out.ApplicationID + "?ok=submitted_ok")
}

func (s *Server) deleteDraft(v *visit) error {
	if err := s.Store.DeleteDraft(v.r.Context(), v.session.PersonID, v.r.PathValue("draft")); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return v.redirect("/demandes?ok=draft_deleted")
}

// actor is the person's actor in the role, if they hold it.
func (v *visit) actor(role lifecycle.Role) (lifecycle.Actor, bool) {
	for _, a := range v.who.Actors {
		if a.Role == role {
			return a, true
		}
	}
	return lifecycle.Actor{}, false
}

// randomKey names one rendering of a form.
func randomKey() string { return identity.RandomToken()[:22] }

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw
}

func fieldError(field, msg string) dossier.FieldError {
	return dossier.FieldError{Field: field, MessageFR: msg, MessageEN: msg}
}
