// Package web is the web application of expectct: server-rendered pages in
// the State's design system (DSFR), for every role, on the same server as
// the API. It holds no rule of its own: every read and every step goes
// through the API's routes (api.Server.Call), so a page refuses exactly what
// the API refuses, with the same messages, and every refusal lands in the
// attempts table. Forms work without JavaScript; the little script there is
// only computes the budget's totals as the person types.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/store"
)

//go:embed assets
var assets embed.FS

//go:embed templates/*.html
var templateFiles embed.FS

// CallbackPath is where the OpenID provider sends the browser back; the
// provider knows it as the public address followed by this path.
const CallbackPath = "/connexion/retour"

// Server serves the web application.
type Server struct {
	API    *api.Server
	SignIn *identity.WebSignIn
	// Store keeps the drafts; sessions are the SignIn's.
	Store *store.Store
	Rules rules.Rules
	Log   *slog.Logger
	// Issuer is the OpenID provider's origin, the one other place a form
	// may lead (the sign-in).
	Issuer string

	pages map[string]*template.Template
}

// Handler serves the pages, the assets and, under /v1 and the probes, the
// API's handler.
func (s *Server) Handler(apiHandler http.Handler) http.Handler {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	s.pages = parsePages()
	mux := http.NewServeMux()
	for _, p := range []string{"/v1/", "/healthz", "/readyz"} {
		mux.Handle(p, apiHandler)
	}
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheAssets(http.FileServerFS(static))))
	page := func(pattern string, h func(*visit) error) { mux.Handle(pattern, s.serve(h, false)) }
	signedIn := func(pattern string, h func(*visit) error) { mux.Handle(pattern, s.serve(h, true)) }

	page("GET /{$}", s.home)
	page("GET /verification", s.verifyLetter)
	page("POST /langue", s.setLanguage)
	page("GET /connexion", s.signIn)
	page("GET "+CallbackPath, s.signInDone)
	page("POST /deconnexion", s.signOut)

	signedIn("GET /demandes", s.list)
	signedIn("GET /demandes/{id}", s.dossierPage)
	signedIn("POST /demandes/{id}/etapes/{step}", s.step)
	signedIn("POST /demandes/{id}/suivi", s.follow)
	signedIn("GET /demandes/{id}/lettres/{kind}", s.letter)
	signedIn("GET /demandes/{id}/pieces-jointes/{attachment}", s.attachment)
	signedIn("GET /demandes/{id}/historique", s.timeline)
	signedIn("POST /brouillons", s.newDraft)
	signedIn("GET /brouillons/{draft}", s.draftPage)
	signedIn("POST /brouillons/{draft}", s.saveDraft)
	signedIn("POST /brouillons/{draft}/suppression", s.deleteDraft)
	signedIn("GET /audit", s.audit)
	signedIn("GET /audit/verification", s.auditVerify)
	signedIn("GET /exports/demandes", s.export)
	signedIn("GET /admin/personnes", s.people)
	signedIn("POST /admin/personnes/attribution", s.grant)
	signedIn("POST /admin/personnes/retrait", s.revoke)
	signedIn("GET /admin/ambassades", s.embassies)
	signedIn("POST /admin/ambassades", s.setEmbassy)
	signedIn("GET /chiffres", s.figures)
	page("/", s.notFound)

	// Cross-origin POSTs are refused from the browser's own headers
	// (Sec-Fetch-Site, Origin) before any handler; the session's token in
	// every form is the second lock.
	return securityHeaders(s.Issuer, http.NewCrossOriginProtection().Handler(mux))
}

// securityHeaders: a strict Content-Security-Policy (scripts, styles and
// fonts from this site only, no inline script or style), no framing, no
// referrer beyond the origin, no sniffing.
func securityHeaders(issuer string, next http.Handler) http.Handler {
	formAction := "'self'"
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
		"form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			h := w.Header()
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Frame-Options", "DENY")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "same-origin")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
		}
		next.ServeHTTP(w, r)
	})
}

func cacheAssets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// visit is one request to a page: who asks, in which language.
type visit struct {
	w       http.ResponseWriter
	r       *http.Request
	s       *Server
	lang    string
	session identity.Session
	signed  bool
	// who is what the directory says of the person (GET /v1/me).
	who identity.WhoAmI
}

// serve runs a page handler: language, session, CSRF token of a signed-in
// person's POST, and the error page when the handler fails.
func (s *Server) serve(h func(*visit) error, needSession bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(api.OneVisit(r.Context()))
		v := &visit{w: w, r: r, s: s, lang: language(r)}
		sess, ok, err := s.SignIn.Current(r)
		if err != nil {
			v.fail(err)
			return
		}
		v.session, v.signed = sess, ok
		if ok {
			res := s.API.Call(w, r, sess.Principal, api.CallRequest{Method: "GET", Path: "/v1/me"})
			if res.Problem != nil {
				v.problemPage(res.Problem)
				return
			}
			v.who = res.Body.(identity.WhoAmI)
		}
		if needSession && !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/connexion?retour="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			v.problemPage(&api.Problem{Status: http.StatusUnauthorized, Title: v.t("session_expired")})
			return
		}
		if r.Method == http.MethodPost && ok {
			err := v.parseForm()
			if v.r.MultipartForm != nil {
				defer v.r.MultipartForm.RemoveAll()
			}
			if errFormTooLarge(err) {
				v.problemPage(&api.Problem{Status: http.StatusRequestEntityTooLarge, Title: v.t("form_too_large")})
				return
			}
			if err != nil || !identity.SameToken(v.r.PostForm.Get("csrf"), v.session.CSRF) {
				s.Log.Warn("form refused: CSRF token missing or wrong", "person", sess.PersonID, "path", r.URL.Path)
				v.problemPage(&api.Problem{Status: http.StatusForbidden, Title: v.t("csrf_refused")})
				return
			}
		}
		if err := h(v); err != nil {
			v.fail(err)
		}
	})
}

// language is the person's choice (cookie), else French.
func language(r *http.Request) string {
	if c, err := r.Cookie("lang"); err == nil && c.Value == "en" {
		return "en"
	}
	return "fr"
}

// page is what every template gets.
type page struct {
	Lang, Title, Path string
	Signed            bool
	Session           identity.Session
	Who               identity.WhoAmI
	Nav               []navItem
	Flash             string
	Problem           *api.Problem
	// Errors are the refusal's field errors, by field path.
	Errors map[string]string
	Data   any
}

type navItem struct {
	Label, Href string
	Current     bool
}

// render writes a page with the layout around it.
func (v *visit) render(status int, name, title string, data any, p *api.Problem) error {
	pg := page{Lang: v.lang, Title: title, Path: v.r.URL.Path, Signed: v.signed, Session: v.session, Who: v.who,
		Problem: p, Errors: fieldErrors(p, v.lang), Data: data, Flash: v.r.URL.Query().Get("ok")}
	pg.Nav = v.nav()
	tpl, ok := v.s.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	var buf bytes.Buffer
	if err := tpl.ExecuteTemplate(&buf, "layout", pg); err != nil {
		return err
	}
	v.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	v.w.Header().Set("Cache-Control", "no-store")
	v.w.WriteHeader(status)
	_, err := v.w.Write(buf.Bytes())
	return err
}

// fieldErrors are a problem's messages by field, in the page's language.
func fieldErrors(p *api.Problem, lang string) map[string]string {
	if p == nil {
		return nil
	}
	out := map[string]string{}
	for _, e := range p.Errors {
		msg := e.MessageFR
		if lang == "en" {
			msg = e.MessageEN
		}
		if prev, ok := out[e.Field]; ok {
			msg = prev + " " + msg
		}
		out[e.Field] = msg
	}
	return out
}

// redirect answers a successful form with the page to show next (POST,
// redirect, GET: reloading it repeats nothing).
func (v *visit) redirect(path string) error {
	http.Redirect(v.w, v.r, path, http.StatusSeeOther)
	return nil
}

// call runs an API route for the signed-in person.
func (v *visit) call(c api.CallRequest) api.Result {
	return v.s.API.Call(v.w, v.r, v.session.Principal, c)
}

// into decodes a route's result into out (the API's value, as its JSON).
func into(body any, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// problemPage shows a refusal or failure on a page of its own.
func (v *visit) problemPage(p *api.Problem) {
	status := p.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if err := v.render(status, "problem", v.t("problem_title"), nil, p); err != nil {
		v.s.Log.Error("rendering the problem page", "error", err)
		http.Error(v.w, http.StatusText(status), status)
	}
}

// fail shows an unexpected failure: the API's incident reference, the
// cause in the log alone.
func (v *visit) fail(err error) {
	var p *api.Problem
	if !errors.As(err, &p) {
		p = v.s.API.Refusal(err)
	}
	v.problemPage(p)
}

// ExpireSessions deletes the expired sessions every interval until ctx
// ends (a session past its time is refused anyway; this keeps the table
// small).
func (s *Server) ExpireSessions(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			n, err := s.Store.DeleteExpiredWebSessions(ctx, time.Now())
			if err != nil {
				s.Log.Warn("could not delete expired web sessions", "error", err)
				continue
			}
			s.Log.Debug("expired web sessions deleted", "count", n)
		}
	}
}

func (s *Server) notFound(v *visit) error {
	v.problemPage(&api.Problem{Status: http.StatusNotFound, Title: v.t("not_found")})
	return nil
}

func (s *Server) setLanguage(v *visit) error {
	lang := "fr"
	if v.r.PostFormValue("lang") == "en" {
		lang = "en"
	}
	http.SetCookie(v.w, &http.Cookie{Name: "lang", Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return v.redirect(identity.LocalPath(v.r.PostFormValue("retour")))
}

func (s *Server) signIn(v *visit) error {
	if err := s.SignIn.Start(v.w, v.r, v.r.URL.Query().Get("retour")); err != nil {
		if errors.Is(err, identity.ErrIssuerUnavailable) {
			v.problemPage(&api.Problem{Status: http.StatusServiceUnavailable, Title: v.t("issuer_down")})
			return nil
		}
		return err
	}
	return nil
}

func (s *Server) signInDone(v *visit) error {
	back, err := s.SignIn.Finish(v.w, v.r, func(p identity.Principal) (string, error) {
		res := s.API.Call(v.w, v.r, p, api.CallRequest{Method: "GET", Path: "/v1/me"})
		if res.Problem != nil {
			return "", res.Problem
		}
		return res.Body.(identity.WhoAmI).Person.ID, nil
	})
	if errors.Is(err, identity.ErrSignInFailed) {
		s.Log.Warn("web sign-in refused", "reason", err)
		v.problemPage(&api.Problem{Status: http.StatusBadRequest, Title: v.t("signin_failed")})
		return nil
	}
	if err != nil {
		return err
	}
	if back == "/" {
		back = "/demandes"
	}
	return v.redirect(back)
}

func (s *Server) signOut(v *visit) error {
	if err := s.SignIn.End(v.w, v.r); err != nil {
		return err
	}
	return v.redirect("/?ok=signed_out")
}
