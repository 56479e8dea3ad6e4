package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// TargetPageP99Ms is the web application's target: every page under 100 ms
// at the 99th percentile with TargetScaleApps applications in the database.
const TargetPageP99Ms = 100.0

// Pages is the outcome of the page timings.
type Pages struct {
	// Applications is how many the database held while the pages were read.
	Applications int `json:"applications"`
	// Dossiers are the applications whose pages were read: submitted
	// through the API for the run, so they have a workflow and a history.
	Dossiers int     `json:"dossiers"`
	Pages    []Stats `json:"pages"`
	// FiguresComputed times the programme figures' queries themselves: the
	// page serves figures kept a minute, so this is what it costs once a
	// minute, and what grows with the programme.
	FiguresComputed *Stats   `json:"figures_computed,omitempty"`
	Errors          []string `json:"errors,omitempty"`
}

// PagesOptions shape the page timings.
type PagesOptions struct {
	// Site is the web application's address (the API's: they share the
	// server), the one EXPECTCT_PUBLIC_URL names, since the sign-in comes
	// back there.
	Site        string
	Password    string
	DatabaseURL string
	// Reads is the number of requests timed per page, by Concurrency
	// visitors.
	Reads       int
	Concurrency int
	Progress    io.Writer
}

// page is one page to time: who reads it and where, {id} standing for an
// application of the run and {draft} for a draft of the applicant's.
type page struct {
	name string
	who  *lifecycle.Actor
	path string
}

// benchPages are the web application's pages, each for the role it is
// made for. Left out: the CSV export and `audit verify`, which read every
// application by design and are measured in their own right (the export's
// memory benchmark; audit verify's is linear in the journal).
var benchPages = []page{
	{"home (anonymous)", nil, "/"},
	{"letter verification (anonymous)", nil, "/verification"},
	{"applicant: my applications", &Applicant, "/demandes"},
	{"applicant: dossier", &Applicant, "/demandes/{id}"},
	{"applicant: draft", &Applicant, "/brouillons/{draft}"},
	{"embassy: inbox", &EmbassySN, "/demandes"},
	{"embassy: dossier", &EmbassySN, "/demandes/{id}"},
	{"instructor: inbox", &Instructor, "/demandes"},
	{"instructor: inbox, status and country", &Instructor, "/demandes?status=embassy_consultation&country=SN"},
	{"instructor: dossier", &Instructor, "/demandes/{id}"},
	{"decider: queue", &Decider, "/demandes"},
	{"DAECT: programme figures", &Instructor, "/chiffres"},
	{"auditor: search", &Auditor, "/audit"},
	{"auditor: timeline", &Auditor, "/demandes/{id}/historique"},
	{"admin: people", &Admin, "/admin/personnes"},
	{"admin: embassies", &Admin, "/admin/ambassades"},
}

// RunPages signs each role in to the web application as a person does
// (authorization code and PKCE on the OpenID provider's sign-in form), then
// reads every page Reads times and gives each page's latencies. The
// dossiers' pages go round ids.
func RunPages(ctx context.Context, hc *http.Client, ids []string, o PagesOptions) (*Pages, error) {
	if len(ids) == 0 {
		return nil, errors.New("pages: no application to show")
	}
	db, err := pgxpool.New(ctx, o.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("pages: database: %w", err)
	}
	defer db.Close()
	res := &Pages{Dossiers: len(ids)}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM applications`).Scan(&res.Applications); err != nil {
		return nil, fmt.Errorf("pages: count applications: %w", err)
	}
	if err := waitOutboxSent(ctx, db, 15*time.Minute, o.Progress); err != nil {
		return nil, err
	}
	settle(ctx, db, o.Progress)
	visitors := map[string]*webVisitor{"": {site: o.Site, hc: noRedirects(hc), cookies: map[string]string{}}}
	for _, p := range benchPages {
		if p.who == nil || visitors[p.who.ID] != nil {
			continue
		}
		v, err := webSignIn(ctx, hc, o.Site, p.who.ID, o.Password)
		if err != nil {
			return nil, err
		}
		visitors[p.who.ID] = v
	}
	draft, err := visitors[Applicant.ID].newDraft(ctx)
	if err != nil {
		return nil, err
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "pages: %d applications in the database; reading %d pages %d times each\n",
			res.Applications, len(benchPages), o.Reads)
	}
	for _, p := range benchPages {
		v := visitors[""]
		if p.who != nil {
			v = visitors[p.who.ID]
		}
		times, errs := timeRequests(ctx, o.Reads, o.Concurrency, func(i int) error {
			path := strings.NewReplacer("{id}", ids[i%len(ids)], "{draft}", draft).Replace(p.path)
			status, _, err := v.get(ctx, path)
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("%s: %d", path, status)
			}
			return err
		})
		res.Pages = append(res.Pages, Summarize(p.name, times))
		for _, e := range errs {
			res.Errors = appendErrors(res.Errors, []string{p.name + ": " + e})
		}
	}
	figures, err := timeFigures(ctx, &store.Store{Pool: db}, figuresComputations)
	if err != nil {
		res.Errors = appendErrors(res.Errors, []string{"programme figures computed: " + err.Error()})
	}
	res.FiguresComputed = figures
	return res, ctx.Err()
}

// figuresComputations is how many times the figures are computed one after
// the other, as the API does (one computation at a time).
const figuresComputations = 50

// timeFigures computes the programme figures n times straight from the
// database, as the API does when the figures it keeps are a minute old.
func timeFigures(ctx context.Context, st *store.Store, n int) (*Stats, error) {
	// One computation first, uncounted: the statements' first preparation
	// is not what the API pays once a minute.
	if _, err := st.Figures(ctx); err != nil {
		return nil, err
	}
	times, errs := timeRequests(ctx, n, 1, func(int) error {
		_, err := st.Figures(ctx)
		return err
	})
	if len(errs) > 0 {
		return nil, errors.New(errs[0])
	}
	s := Summarize("programme figures computed in the database", times)
	return &s, nil
}

// settle vacuums and analyzes the tables the seed has just written, as
// autovacuum does within a minute or so of such a bulk write: without it
// the pages would be read against 10,000 dead row versions and no
// statistics, or not, depending on whether autovacuum happened to pass
// first, and two runs would not compare. Only the tables' owner may (for
// anyone else PostgreSQL skips them with a mere warning); a database the
// bench does not own is left to autovacuum, and said so.
func settle(ctx context.Context, db *pgxpool.Pool, progress io.Writer) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var owner bool
	err := db.QueryRow(ctx, `SELECT bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class
		WHERE oid IN ('applications'::regclass, 'journal'::regclass, 'outbox'::regclass)`).Scan(&owner)
	if err == nil && !owner {
		err = errors.New("the tables belong to another role")
	}
	if err == nil {
		_, err = db.Exec(ctx, `VACUUM (ANALYZE) applications, journal, outbox`)
	}
	if err != nil && progress != nil {
		fmt.Fprintf(progress, "pages: tables not vacuumed, left to autovacuum: %v\n", err)
	}
}

// waitOutboxSent waits until every queued e-mail is sent, so the relay's
// work is not in the page timings.
func waitOutboxSent(ctx context.Context, db *pgxpool.Pool, timeout time.Duration, progress io.Writer) error {
	deadline := time.Now().Add(timeout)
	for said := false; ; {
		var unsent int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL AND refused_at IS NULL`).Scan(&unsent); err != nil {
			return fmt.Errorf("pages: count unsent e-mails: %w", err)
		}
		if unsent == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pages: %d e-mails still unsent after %v", unsent, timeout)
		}
		if !said && progress != nil {
			fmt.Fprintf(progress, "pages: waiting for %d e-mails to leave the outbox\n", unsent)
			said = true
		}
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}

// webVisitor is a browser as far as the pages care: its cookies (sent
// whatever their Secure flag, since the bench speaks plain HTTP on
// loopback) and the session's form token.
type webVisitor struct {
	site    string
	hc      *http.Client
	cookies map[string]string
	csrf    string
}

// noRedirects is hc answering redirects instead of following them, so the
// visitor sees the cookies set on the way.
func noRedirects(hc *http.Client) *http.Client {
	c := *hc
	c.Jar = nil
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// webSignIn follows the sign-in as the browser does: the site sends it to
// the provider's form, the form posted sends it back with a code, the site
// opens the session.
func webSignIn(ctx context.Context, hc *http.Client, site, username, password string) (*webVisitor, error) {
	v := &webVisitor{site: site, hc: noRedirects(hc), cookies: map[string]string{}}
	fail := func(step string, err error) (*webVisitor, error) {
		return nil, fmt.Errorf("web sign-in of %s, %s: %w", username, step, err)
	}
	resp, err := v.do(ctx, http.MethodGet, site+"/connexion", nil)
	if err != nil {
		return fail("start", err)
	}
	authorize, err := resp.Location()
	if err != nil {
		return fail("start", fmt.Errorf("%s without a redirect", resp.Status))
	}
	form := authorize.Query()
	form.Set("username", username)
	form.Set("password", password)
	target := *authorize
	target.RawQuery = ""
	resp, err = v.do(ctx, http.MethodPost, target.String(), form)
	if err != nil {
		return fail("provider's form", err)
	}
	back, err := resp.Location()
	if err != nil {
		return fail("provider's form", fmt.Errorf("%s (wrong password?)", resp.Status))
	}
	if resp, err = v.do(ctx, http.MethodGet, back.String(), nil); err != nil {
		return fail("return", err)
	}
	if resp.StatusCode != http.StatusSeeOther {
		return fail("return", errors.New(resp.Status))
	}
	resp, body, err := v.send(ctx, http.MethodGet, site+"/demandes", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fail("first page", cmp.Or(err, errors.New(resp.Status)))
	}
	m := csrfField.FindSubmatch(body)
	if m == nil {
		return fail("first page", errors.New("no form token"))
	}
	v.csrf = string(m[1])
	return v, nil
}

// newDraft starts a draft as the "new application" button does, and
// returns its ID.
func (v *webVisitor) newDraft(ctx context.Context) (string, error) {
	resp, err := v.do(ctx, http.MethodPost, v.site+"/brouillons", url.Values{"csrf": {v.csrf}})
	if err != nil {
		return "", fmt.Errorf("new draft: %w", err)
	}
	loc, err := resp.Location()
	if err != nil {
		return "", fmt.Errorf("new draft: %s", resp.Status)
	}
	draft, ok := strings.CutPrefix(loc.Path, "/brouillons/")
	if !ok {
		return "", fmt.Errorf("new draft: sent to %s", loc.Path)
	}
	return draft, nil
}

// get reads a page of the site.
func (v *webVisitor) get(ctx context.Context, path string) (int, []byte, error) {
	resp, body, err := v.send(ctx, http.MethodGet, v.site+path, nil)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// do sends one request of the sign-in and keeps the cookies set. It is not
// safe for concurrent use; get is, once signed in.
func (v *webVisitor) do(ctx context.Context, method, u string, form url.Values) (*http.Response, error) {
	resp, _, err := v.send(ctx, method, u, form)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(u, v.site) {
		for _, c := range resp.Cookies() {
			if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
				delete(v.cookies, c.Name)
				continue
			}
			v.cookies[c.Name] = c.Value
		}
	}
	return resp, nil
}

// send sends one request with the visitor's cookies and reads the whole
// answer.
func (v *webVisitor) send(ctx context.Context, method, u string, form url.Values) (*http.Response, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", v.site)
	}
	if strings.HasPrefix(u, v.site) {
		for name, value := range v.cookies {
			req.AddCookie(&http.Cookie{Name: name, Value: value})
		}
	}
	resp, err := v.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}
