package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/audit"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// may tells whether one of the person's roles allows the action: the
// lifecycle's permission table, which the API enforces, decides what the
// menus offer.
func (v *visit) may(action lifecycle.Action) bool {
	return slices.ContainsFunc(v.who.Actors, func(a lifecycle.Actor) bool { return lifecycle.Allows(a.Role, action) })
}

// role is the person's first role (by the directory's precedence).
func (v *visit) role() lifecycle.Role {
	if len(v.who.Actors) == 0 {
		return ""
	}
	return v.who.Actors[0].Role
}

func (v *visit) nav() []navItem {
	if !v.signed {
		return nil
	}
	items := []navItem{{Label: v.t("applications"), Href: "/demandes"}}
	if v.may(lifecycle.ActionAuditVerify) {
		items = append(items, navItem{Label: v.t("audit"), Href: "/audit"})
	}
	if v.may(lifecycle.ActionFigures) {
		items = append(items, navItem{Label: v.t("figures"), Href: "/chiffres"})
	}
	if v.may(lifecycle.ActionPeopleList) {
		items = append(items, navItem{Label: v.t("people"), Href: "/admin/personnes"})
	}
	if v.may(lifecycle.ActionEmbassyList) {
		items = append(items, navItem{Label: v.t("embassies"), Href: "/admin/ambassades"})
	}
	for i := range items {
		items[i].Current = v.r.URL.Path == items[i].Href || strings.HasPrefix(v.r.URL.Path, items[i].Href+"/")
	}
	return items
}

func (s *Server) home(v *visit) error {
	return v.render(http.StatusOK, "home", "EXPE-CT", nil, nil)
}

func (s *Server) verifyLetter(v *visit) error {
	code := v.r.URL.Query().Get("code")
	data := struct {
		Code   string
		Letter *api.LetterVerification
	}{Code: code}
	if code == "" {
		return v.render(http.StatusOK, "verify", v.t("verify_letter"), data, nil)
	}
	letter, err := s.API.VerifyLetter(v.r.Context(), code)
	if err != nil {
		p := s.API.Refusal(err)
		if p.Status >= 500 {
			return p
		}
		if len(p.Errors) == 0 {
			p.Errors = append(p.Errors, fieldError("code", p.Detail))
		}
		return v.render(p.Status, "verify", v.t("verify_letter"), data, p)
	}
	data.Letter = &letter
	return v.render(http.StatusOK, "verify", v.t("verify_letter"), data, nil)
}

// listPage is an inbox: the applications the person may see, filtered.
type listPage struct {
	Heading    string
	Items      []store.Application
	NextCursor string
	Status     string
	Country    string
	Order      string
	// Within is "deadline within N days", empty for any; Followed keeps
	// the person's follows (CanFollow: DAECT staff).
	Within    string
	Followed  bool
	CanFollow bool
	Statuses  []lifecycle.Status
	Drafts    []store.Draft
	CanSubmit bool
	CanExport bool
	Query     string
}

// list is each role's inbox: the applicant's own applications and drafts,
// the embassy's countries (the earliest deadline first: the consultation's),
// the decider's queue, everyone's for DAECT and the auditors. Filters and
// order are the API's listing parameters, so its cursors page through them.
func (s *Server) list(v *visit) error {
	q := v.r.URL.Query()
	lp := listPage{Status: q.Get("status"), Country: strings.ToUpper(q.Get("country")), Order: q.Get("order"),
		Within: q.Get("deadline_within_days"), Followed: q.Get("followed") == "me",
		Statuses: lifecycle.AllStatuses, CanSubmit: v.may(lifecycle.ActionSubmit), CanExport: v.may(lifecycle.ActionExport),
		CanFollow: v.may(lifecycle.ActionFollow)}
	filtered := q.Has("status") || q.Has("country")
	switch v.role() {
	case lifecycle.RoleApplicant:
		lp.Heading = v.t("my_applications")
	case lifecycle.RoleEmbassy:
		lp.Heading = v.t("embassy_inbox")
		if !filtered {
			lp.Status = string(lifecycle.StatusEmbassyConsultation)
		}
		lp.Order = cmp.Or(lp.Order, string(store.OrderDeadline))
	case lifecycle.RoleDecider:
		lp.Heading = v.t("decision_queue")
		if !filtered {
			lp.Status = string(lifecycle.StatusAwaitingDecision)
		}
		lp.Order = cmp.Or(lp.Order, string(store.OrderDeadline))
	case lifecycle.RoleInstructor:
		lp.Heading = v.t("instruction")
	default:
		lp.Heading = v.t("all_applications")
	}
	lp.Order = cmp.Or(lp.Order, string(store.OrderNewest))
	query := url.Values{"limit": {"100"}, "order": {lp.Order}}
	for name, value := range map[string]string{"status": lp.Status, "country": lp.Country, "deadline_within_days": lp.Within,
		"cursor": q.Get("cursor")} {
		if value != "" {
			query.Set(name, value)
		}
	}
	if lp.Followed {
		query.Set("followed", "me")
	}
	res := v.call(api.CallRequest{Method: "GET", Path: "/v1/applications", Query: query})
	if res.Problem != nil {
		return v.render(res.Problem.Status, "list", lp.Heading, lp, res.Problem)
	}
	var page store.Page
	if err := into(res.Body, &page); err != nil {
		return err
	}
	lp.Items, lp.NextCursor = page.Items, page.NextCursor
	next := url.Values{"cursor": {page.NextCursor}, "status": {lp.Status}, "country": {lp.Country}, "order": {lp.Order},
		"deadline_within_days": {lp.Within}}
	if lp.Followed {
		next.Set("followed", "me")
	}
	lp.Query = next.Encode()
	if lp.CanSubmit {
		drafts, err := s.Store.Drafts(v.r.Context(), v.session.PersonID)
		if err != nil {
			return err
		}
		lp.Drafts = drafts
	}
	return v.render(http.StatusOK, "list", lp.Heading, lp, nil)
}

// letter downloads a letter through the API's route (same permission).
func (s *Server) letter(v *visit) error {
	res := v.call(api.CallRequest{Method: "GET", Path: "/v1/applications/" + v.r.PathValue("id") + "/letters/" + v.r.PathValue("kind")})
	if res.Problem != nil {
		v.problemPage(res.Problem)
	}
	return nil
}

// timelinePage is an application's full timeline for the audit.
type timelinePage struct {
	ID      string
	Source  string
	Entries []audit.Entry
}

func (s *Server) timeline(v *visit) error {
	id := v.r.PathValue("id")
	res := v.call(api.CallRequest{Method: "GET", Path: "/v1/applications/" + id + "/history"})
	if res.Problem != nil {
		v.problemPage(res.Problem)
		return nil
	}
	tl := res.Body.(audit.Timeline)
	tp := timelinePage{ID: id, Source: v.r.URL.Query().Get("source")}
	for _, e := range tl.Entries {
		if tp.Source == "" || e.Source == tp.Source {
			tp.Entries = append(tp.Entries, e)
		}
	}
	return v.render(http.StatusOK, "timeline", v.t("full_timeline")+" — "+id, tp, nil)
}

// auditPage: find an application, verify the journals.
type auditPage struct {
	ID     string
	Report *audit.Report
}

func (s *Server) audit(v *visit) error {
	id := strings.TrimSpace(v.r.URL.Query().Get("application_id"))
	if id != "" {
		return v.redirect("/demandes/" + url.PathEscape(id) + "/historique")
	}
	return v.render(http.StatusOK, "audit", v.t("audit"), auditPage{}, nil)
}

func (s *Server) auditVerify(v *visit) error {
	id := strings.TrimSpace(v.r.URL.Query().Get("application_id"))
	query := url.Values{}
	if id != "" {
		query.Set("application_id", id)
	}
	res := v.call(api.CallRequest{Method: "GET", Path: "/v1/audit/verify", Query: query})
	if res.Problem != nil {
		return v.render(res.Problem.Status, "audit", v.t("audit"), auditPage{ID: id}, res.Problem)
	}
	rep := res.Body.(audit.Report)
	return v.render(http.StatusOK, "audit", v.t("audit"), auditPage{ID: id, Report: &rep}, nil)
}

// export streams the API's CSV export.
func (s *Server) export(v *visit) error {
	res := v.call(api.CallRequest{Method: "GET", Path: "/v1/exports/applications", Query: url.Values{"format": {"csv"}}})
	if res.Problem != nil {
		v.problemPage(res.Problem)
	}
	return nil
}

func (s *Server) figures(v *visit) error {
	res := v.call(api.CallRequest{Method: "GET", Path: "/v1/figures"})
	if res.Problem != nil {
		v.problemPage(res.Problem)
		return nil
	}
	f := res.Body.(store.Figures)
	return v.render(http.StatusOK, "figures", v.t("figures"), newFiguresPage(f, v.lang), nil)
}
