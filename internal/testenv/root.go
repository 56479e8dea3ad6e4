// Package testenv starts the real components integration tests run against
// (Mailpit, PostgreSQL, Temporal) and finds what the repository built for them.
package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// modulePath tells the main go.mod apart from the tools modules' own go.mod files.
const modulePath = "github.com/daect/expectct"

// RepoRoot returns the repository root: the nearest directory, from the working
// directory up, whose go.mod declares the main module. Tests run in their
// package's directory, so this finds bin/ wherever the checkout lives.
func RepoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: working directory: %v", err)
	}
	for dir := wd; ; {
		if declaresModule(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("testenv: no go.mod for module %s in %s or above", modulePath, wd)
		}
		dir = parent
	}
}

func declaresModule(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == modulePath
		}
	}
	return false
}
