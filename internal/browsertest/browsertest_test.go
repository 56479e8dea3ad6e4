package browsertest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The pages link the DSFR as internal/web's pages will, under the same strict
// Content-Security-Policy, so the harness is proven on what it will check.
const head = `<!doctype html>
<html lang="fr" data-fr-scheme="light">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title>
<link rel="icon" href="/assets/dsfr/favicon/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/dsfr/dsfr.min.css">
<link rel="stylesheet" href="/assets/dsfr/utility/utility.min.css">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<main id="main" class="fr-container fr-my-4w">
`

const foot = `</main>
<script type="module" src="/assets/dsfr/dsfr.module.min.js"></script>
<script nomodule src="/assets/dsfr/dsfr.nomodule.min.js"></script>
<script src="/page.js"></script>
</body>
</html>
`

var pages = map[string]string{
	"/": `<h1>Candidature</h1>
<p><button id="greet" class="fr-btn fr-icon-checkbox-circle-line fr-btn--icon-left" type="button">Saluer</button></p>
<p id="out">…</p>
<form action="/submitted" method="get">
  <div class="fr-input-group">
    <label class="fr-label" for="name">Collectivité</label>
    <input class="fr-input" id="name" name="name" type="text" autocomplete="organization">
  </div>
  <button class="fr-btn" type="submit">Envoyer</button>
</form>`,
	"/submitted": `<h1>Reçu</h1><p id="got"></p>`,
	"/errors": `<h1>Erreurs</h1>
<p><button id="fail" class="fr-btn" type="button">Échouer</button></p>
<img src="/missing.png" alt="absente">
<script>console.log("blocked by the Content-Security-Policy");</script>`,
	"/bad": `<h1>Mauvaise page</h1>
<form><input type="text" name="nolabel"></form>
<img src="/assets/dsfr/favicon/favicon.svg">`,
	"/opener": `<h1>Ouvrir</h1><p><a id="open" href="/child" target="_blank">Nouvel onglet</a></p>`,
	"/child":  `<h1>Onglet</h1>`,
}

// page.js is the pages' only script, as the policy allows no inline code.
const pageJS = `document.addEventListener("DOMContentLoaded", () => {
  const greet = document.getElementById("greet");
  if (greet) greet.addEventListener("click", () => { document.getElementById("out").textContent = "Bonjour"; });
  const got = document.getElementById("got");
  if (got) got.textContent = new URLSearchParams(location.search).get("name");
  const fail = document.getElementById("fail");
  if (fail) fail.addEventListener("click", () => {
    console.error("deliberate error", 42);
    setTimeout(() => { throw new Error("deliberate exception"); });
  });
  if (location.pathname === "/child") setInterval(() => console.error("error in the new tab"), 100);
});
`

func server(t *testing.T) *httptest.Server {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	assets := filepath.Join(root, "internal", "web", "assets")
	if _, err := os.Stat(filepath.Join(assets, "dsfr", "dsfr.min.css")); err != nil {
		t.Fatalf("the DSFR is not in %s: `make web-assets` copies it (%v)", assets, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/assets/", http.StripPrefix("/assets/", http.FileServer(http.Dir(assets))))
	mux.HandleFunc("/page.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, pageJS)
	})
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(assets, "dsfr", "favicon", "favicon.ico"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, head, "expectct "+r.URL.Path)
		fmt.Fprint(w, body, foot)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestNavigateClickSubmitAxeAndScreenshot(t *testing.T) {
	srv := server(t)
	b := New(t)

	b.Run(chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#greet"))
	b.Axe(t)
	b.Run(chromedp.Click("#greet"), chromedp.WaitVisible(`//p[@id="out"][text()="Bonjour"]`))
	// The DSFR's stylesheet applies: its button is blue France.
	if bg := Get(b, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("greet")).backgroundColor`)); bg != "rgb(0, 0, 145)" {
		t.Errorf("the DSFR button's background is %q, want rgb(0, 0, 145)", bg)
	}
	// Its script ran: it marks the document once started.
	if started := Get(b, chromedp.Evaluate[bool](`document.documentElement.hasAttribute("data-fr-js")`)); !started {
		t.Error("the DSFR's script did not start")
	}

	b.Run(
		chromedp.SendKeys("#name", "Commune de Lyon"),
		chromedp.Submit("#name"),
		chromedp.WaitVisible(`//p[@id="got"][text()="Commune de Lyon"]`),
	)
	if u := b.URL(); u != srv.URL+"/submitted?name=Commune+de+Lyon" {
		t.Errorf("after submitting, URL() = %q", u)
	}
	b.Axe(t)

	shot := filepath.Join(t.TempDir(), "shots", "submitted.png")
	b.Screenshot(t, shot)
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("%s is not a PNG: % x", shot, png[:min(8, len(png))])
	}
	b.AssertNoConsoleErrors(t)
}

// waitForErrors polls, as console events arrive asynchronously.
func waitForErrors(b *Browser, want ...string) []string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		errs := b.ConsoleErrors()
		missing := false
		for _, w := range want {
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, w) }) {
				missing = true
			}
		}
		if !missing || time.Now().After(deadline) {
			return errs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConsoleErrorsAreRecorded(t *testing.T) {
	srv := server(t)
	b := New(t)
	b.Run(chromedp.Navigate(srv.URL+"/errors"), chromedp.Click("#fail"))

	want := []string{
		"console.error: deliberate error 42",
		"uncaught exception: Uncaught Error: deliberate exception",
		"Content Security Policy", // the inline script, refused
		"/missing.png",            // the image, 404
	}
	errs := waitForErrors(b, want...)
	for _, w := range want {
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, w) }) {
			t.Errorf("no recorded error contains %q; recorded:\n  %s", w, strings.Join(errs, "\n  "))
		}
	}

	rec := &recorder{TB: t}
	b.AssertNoConsoleErrors(rec)
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "deliberate error") {
		t.Errorf("AssertNoConsoleErrors reported %q", rec.errors)
	}
}

func TestNewTabConsoleIsRecorded(t *testing.T) {
	srv := server(t)
	b := New(t)
	b.Run(chromedp.Navigate(srv.URL+"/opener"), chromedp.Click("#open"))
	errs := waitForErrors(b, "error in the new tab")
	if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, "error in the new tab") }) {
		t.Errorf("the new tab's console.error was not recorded; recorded: %q", errs)
	}
}

func TestAxeReportsViolations(t *testing.T) {
	srv := server(t)
	b := New(t)
	b.Run(chromedp.Navigate(srv.URL+"/bad"), chromedp.WaitReady("img"))

	got := map[string]Violation{}
	for _, v := range b.AxeViolations(t) {
		got[v.ID] = v
	}
	for _, id := range []string{"image-alt", "label"} {
		v, ok := got[id]
		if !ok {
			t.Errorf("axe did not report %s; it reported %v", id, got)
			continue
		}
		if !v.Blocking() || len(v.Targets) == 0 || v.Help == "" {
			t.Errorf("%s: %+v, want a serious or critical violation with its help and targets", id, v)
		}
	}

	rec := &recorder{TB: t}
	blocking := b.Axe(rec)
	if len(blocking) < 2 || len(rec.errors) != 1 {
		t.Fatalf("Axe returned %v and reported %q", blocking, rec.errors)
	}
	for _, w := range []string{"image-alt (critical)", "label (critical)", "at img", "at input", "/bad"} {
		if !strings.Contains(rec.errors[0], w) {
			t.Errorf("Axe's report lacks %q:\n%s", w, rec.errors[0])
		}
	}
}

func TestFailedStepSavesAScreenshot(t *testing.T) {
	srv := server(t)
	rec := &recorder{TB: t}
	b := New(rec)
	b.Run(chromedp.Navigate(srv.URL + "/"))
	b.Timeout = 500 * time.Millisecond
	b.Run(chromedp.WaitVisible("#nowhere"))
	if len(rec.fatals) != 1 {
		t.Fatalf("a step that times out reported %q", rec.fatals)
	}
	msg := rec.fatals[0]
	if !strings.Contains(msg, "deadline exceeded") || !strings.Contains(msg, srv.URL+"/") {
		t.Errorf("the failure does not say what and where: %s", msg)
	}
	_, path, ok := strings.Cut(msg, "screenshot of the page: ")
	if !ok {
		t.Fatalf("no screenshot named in: %s", msg)
	}
	defer os.Remove(path)
	png, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("the failure's screenshot %s: %v", path, err)
	}
}

// recorder stands for the test where a failure is what the test expects.
type recorder struct {
	testing.TB
	errors, fatals []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
}
