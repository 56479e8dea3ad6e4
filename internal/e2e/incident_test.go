package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/testenv"
)

// TestFailuresTellNoInternals: with the API's database pool closed under
// it, a request answers 503 with a generic bilingual problem and an
// incident reference, never the error's text; the log line carries the same
// reference and the real error. /readyz names the failing dependency, not
// why it fails.
func TestFailuresTellNoInternals(t *testing.T) {
	logs := &lockedBuffer{}
	s := testenv.NewStack(t, testenv.StackOptions{NoWorker: true, Log: slog.New(slog.NewJSONHandler(logs, nil))})
	s.Token(testenv.Instructor) // granted while the database is there
	s.Store.Close()

	r := s.Do(&testenv.Instructor, "GET", "/v1/applications", nil)
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("list on a closed pool: %d %s, want 503", r.Status, r.Body)
	}
	var p api.Problem
	r.JSON(t, &p)
	if !regexp.MustCompile(`^INC-[A-Z2-7]{8}$`).MatchString(p.Incident) {
		t.Fatalf("incident reference %q", p.Incident)
	}
	if p.Title != "Service momentanément indisponible / Service temporarily unavailable" ||
		p.Detail != "réessayez plus tard / try again later (incident "+p.Incident+")" {
		t.Errorf("problem %+v", p)
	}
	for _, leak := range []string{"pool", "closed", "postgres", "SELECT", "store"} {
		if bytes.Contains(bytes.ToLower(r.Body), []byte(strings.ToLower(leak))) {
			t.Errorf("the answer tells %q: %s", leak, r.Body)
		}
	}
	line := logs.find(t, func(l map[string]any) bool { return l["incident"] == p.Incident })
	if line == nil || line["msg"] != "request failed" || !strings.Contains(line["error"].(string), "closed pool") {
		t.Errorf("log line of incident %s: %v, want the real error (closed pool)", p.Incident, line)
	}

	r = s.Do(nil, "GET", "/readyz", nil)
	var checks map[string]string
	r.JSON(t, &checks)
	if r.Status != http.StatusServiceUnavailable || checks["postgresql"] != "unavailable" || checks["temporal"] != "ok" || len(checks) != 2 {
		t.Errorf("/readyz: %d %s, want 503 naming postgresql unavailable and nothing more", r.Status, r.Body)
	}
	line = logs.find(t, func(l map[string]any) bool { return l["msg"] == "not ready" })
	if line == nil || line["dependency"] != "postgresql" || !strings.Contains(line["error"].(string), "closed pool") {
		t.Errorf("log line of /readyz: %v, want the real error", line)
	}
}

// lockedBuffer is a log destination the API's goroutines write and the
// test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// find returns the first JSON log line that matches.
func (b *lockedBuffer) find(t *testing.T, match func(map[string]any) bool) map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if match(l) {
			return l
		}
	}
	return nil
}
