package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axePath is axe-core's browser build, installed from
// tools/web-assets/package-lock.json by `make web-assets`.
const axePath = "tools/web-assets/node_modules/axe-core/axe.min.js"

// Violation is one axe-core rule that the page breaks.
type Violation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"` // minor, moderate, serious or critical
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Targets []string `json:"targets"` // a CSS selector per offending element
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s, at %s (%s)", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "), v.HelpURL)
}

// Blocking reports whether the violation's impact is serious or critical, the
// ones Axe fails a test on.
func (v Violation) Blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

var axeSource = sync.OnceValues(func() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	src, err := os.ReadFile(filepath.Join(root, axePath))
	if err != nil {
		return "", fmt.Errorf("reading axe-core (`make web-assets` installs it): %w", err)
	}
	return string(src), nil
})

// ModuleRoot is the directory of the go.mod above the working directory (a
// test runs in its package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// axeRun runs every axe-core rule on the document and keeps what a report
// needs. Targets are arrays of selectors, nested for shadow DOM and frames.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
	targets: v.nodes.map(n => n.target.map(s => Array.isArray(s) ? s.join(" >>> ") : String(s)).join(" "))
})))`

// AxeViolations runs axe-core on the page in the first tab and returns every
// violation, whatever its impact. axe-core is evaluated through the DevTools
// protocol, which a page's Content-Security-Policy does not restrict. The
// test fails only if axe cannot run.
func (b *Browser) AxeViolations(t testing.TB) []Violation {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		t.Fatalf("axe: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	vs, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]Violation, error) {
		// A page that navigated since the last check has lost axe.
		loaded, err := chromedp.Evaluate[bool](`typeof window.axe === "object"`)(ctx, tg)
		if err != nil {
			return nil, err
		}
		if !loaded {
			if _, err := chromedp.Evaluate[chromedp.Void](src)(ctx, tg); err != nil {
				return nil, fmt.Errorf("injecting axe-core: %w", err)
			}
		}
		return chromedp.Evaluate[[]Violation](axeRun, chromedp.EvalAwaitPromise)(ctx, tg)
	})
	if err != nil {
		t.Fatalf("axe on %s: %v", b.location(), err)
	}
	return vs
}

// Axe runs axe-core on the page in the first tab and fails the test (without
// stopping it) if a violation is serious or critical, naming the rule, what it
// asks and the elements at fault. It returns those violations.
func (b *Browser) Axe(t testing.TB) []Violation {
	t.Helper()
	var blocking []Violation
	for _, v := range b.AxeViolations(t) {
		if v.Blocking() {
			blocking = append(blocking, v)
		}
	}
	if len(blocking) > 0 {
		lines := make([]string, len(blocking))
		for i, v := range blocking {
			lines[i] = v.String()
		}
		t.Errorf("accessibility: %d serious or critical axe-core violation(s) on %s:\n  %s", len(blocking), b.location(), strings.Join(lines, "\n  "))
	}
	return blocking
}
