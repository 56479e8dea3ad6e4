// Package browsertest drives Debian's headless Chromium for the end-to-end
// tests of the web pages: it opens a browser per test, records what the pages
// write to the console as errors, checks accessibility with axe-core and takes
// screenshots. It is test support, not part of the product; it is an ordinary
// package so that the tests of other packages can import it.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser; `make
// chromium` installs it.
const ChromiumPath = "/usr/bin/chromium"

// DefaultTimeout bounds each call of Run, Get, URL, Axe and Screenshot unless
// Browser.Timeout says otherwise, so that a selector that never matches fails
// the test instead of hanging it.
const DefaultTimeout = 30 * time.Second

// Browser is one headless Chromium for one test. Its methods are not safe for
// concurrent use, as a tab runs one action at a time.
type Browser struct {
	// Timeout bounds each call of Run, Get, URL, Axe and Screenshot.
	Timeout time.Duration

	t   testing.TB
	ctx context.Context // the chromedp context of the first tab

	mu     sync.Mutex
	errors []string
	popups []context.CancelFunc

	shots atomic.Int32 // screenshots taken on failure, to name them
}

// New starts a headless Chromium for the test and closes it when the test
// ends. Console errors, uncaught exceptions and the browser log's errors (a
// resource that failed to load, a Content-Security-Policy violation) of the
// first tab and of every tab a page opens are recorded; see ConsoleErrors.
func New(t testing.TB) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("browser tests need Debian's Chromium at %s (%v): `make chromium` installs it", ChromiumPath, err)
	}
	// chromedp gives the browser a fresh temporary user data directory and
	// removes it when the browser stops.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 900),
	)
	b := &Browser{Timeout: DefaultTimeout, t: t}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.record))
	b.ctx = ctx
	t.Cleanup(func() {
		b.mu.Lock()
		popups := b.popups
		b.popups = nil
		b.mu.Unlock()
		for _, c := range popups {
			c()
		}
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		defer ccancel()
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("browsertest: closing Chromium: %v", err)
		}
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser and binds its life to ctx: it must not
	// carry the per-call timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: starting %s: %v", ChromiumPath, err)
	}
	// A tab that a page opens (target=_blank, window.open) is a new target:
	// attach to it so that its console is recorded too. What it logs before
	// the attachment, a few milliseconds, is not seen.
	if err := chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*target.EventTargetCreated); ok && e.TargetInfo.Type == "page" && e.TargetInfo.OpenerID != "" {
			go b.attachPopup(e.TargetInfo.TargetID)
		}
	}); err != nil {
		t.Fatalf("browsertest: listening for new tabs: %v", err)
	}
	return b
}

func (b *Browser) attachPopup(id target.ID) {
	pctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id), chromedp.WithListener(b.record))
	b.mu.Lock()
	b.popups = append(b.popups, cancel)
	b.mu.Unlock()
	// The tab is read for as long as the context of its first run lives: no
	// timeout here, the cleanup ends it.
	if err := chromedp.Do(pctx); err != nil && b.ctx.Err() == nil {
		b.addError(fmt.Sprintf("browsertest: could not attach to the new tab %s: %v", id, err))
	}
}

// record runs on the tab's reading goroutine: it must be quick and must not
// run commands.
func (b *Browser) record(ev any) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			b.addError(fmt.Sprintf("console.%s: %s%s", e.Type, argsText(e.Args), stackPlace(e.StackTrace)))
		}
	case *runtime.EventExceptionThrown:
		b.addError("uncaught exception: " + exceptionText(e.ExceptionDetails))
	case *log.EventEntryAdded:
		if e.Entry != nil && e.Entry.Level == log.EntryLevelError {
			msg := fmt.Sprintf("log (%s): %s", e.Entry.Source, e.Entry.Text)
			if e.Entry.URL != "" {
				msg += " [" + e.Entry.URL + "]"
			}
			b.addError(msg)
		}
	}
}

func (b *Browser) addError(msg string) {
	b.mu.Lock()
	b.errors = append(b.errors, msg)
	b.mu.Unlock()
}

func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		if a == nil {
			continue
		}
		switch {
		case len(a.Value) > 0:
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
			} else {
				parts = append(parts, string(a.Value))
			}
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func stackPlace(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf(" (%s:%d)", f.URL, f.LineNumber+1)
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		text += " " + d.Exception.Description
	}
	if d.URL != "" {
		text += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	}
	return text
}

// ConsoleErrors returns what the pages reported as errors so far, in order:
// console.error and failed console.assert calls, uncaught exceptions and
// unhandled rejections, and the browser log's errors.
func (b *Browser) ConsoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// AssertNoConsoleErrors fails the test if any page reported an error.
func (b *Browser) AssertNoConsoleErrors(t testing.TB) {
	t.Helper()
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("the pages reported %d error(s) in the console:\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
}

// Ctx is the chromedp context of the browser's first tab, for what the
// helpers here do not cover. It has no timeout.
func (b *Browser) Ctx() context.Context { return b.ctx }

// Run runs the actions in the first tab, in order, within b.Timeout. On
// an error it saves a screenshot of the page and fails the test.
func (b *Browser) Run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	Get(b, chromedp.Steps(actions...))
}

// Get runs one action that returns a value (chromedp.Text, chromedp.Evaluate,
// chromedp.Location...) like Run, and returns the value.
func Get[T any](b *Browser, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("browser action failed at %s: %v%s", b.location(), err, b.failureShot())
	}
	return v
}

// location is the current URL for a failure message; it never fails.
func (b *Browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown location)"
	}
	return u
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// failureShot saves a screenshot of the page where a step failed, in the
// system's temporary directory so that it outlives the test, and returns a
// line naming it for the failure message.
func (b *Browser) failureShot() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Sprintf("\n(no screenshot: %v)", err)
	}
	name := fmt.Sprintf("browsertest-%s-%d-%d.png", unsafeName.ReplaceAllString(b.t.Name(), "_"), os.Getpid(), b.shots.Add(1))
	path := filepath.Join(os.TempDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Sprintf("\n(no screenshot: %v)", err)
	}
	return "\nscreenshot of the page: " + path
}

// URL returns the current location of the first tab.
func (b *Browser) URL() string {
	b.t.Helper()
	return Get(b, chromedp.Location())
}

// Screenshot writes a PNG of the whole page (beyond the window) to path,
// creating its directory.
func (b *Browser) Screenshot(t testing.TB, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", b.location(), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
}

// ExpectRefusal forgives the one error Chromium logs when a page comes with
// an error status the test expects, such as a refused form shown again
// with 422: "Failed to load resource: the server responded with a status
// of 422" for that page's address. Any other error still counts.
func (b *Browser) ExpectRefusal(pageURL string, status int) {
	want := fmt.Sprintf("log (network): Failed to load resource: the server responded with a status of %d", status)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, e := range b.errors {
		if strings.HasPrefix(e, want) && strings.HasSuffix(e, "["+pageURL+"]") {
			b.errors = append(b.errors[:i], b.errors[i+1:]...)
			return
		}
	}
}
