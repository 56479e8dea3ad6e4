package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/daect/expectct/internal/api"
	"github.com/daect/expectct/internal/audit"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// TestHistoryAttemptsPaged: an application's timeline shows its refused
// attempts a page at a time, newest first (50 unless asked, 500 at most),
// with the cursor of the older ones; every page keeps the workflow's and
// the journal's entries.
func TestHistoryAttemptsPaged(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{})
	id := s.Submit(testenv.ExampleDossier(t))
	for i := range 7 {
		r := s.Do(&testenv.Applicant, "POST", "/v1/applications/"+id+"/opinion", map[string]string{"opinion": "favorable", "comment": "mine"})
		if r.Status != http.StatusForbidden {
			t.Fatalf("refused opinion %d: %d %s, want 403", i+1, r.Status, r.Body)
		}
	}
	ctx := context.Background()
	for i := range 55 {
		if err := s.Store.RecordAttempt(ctx, store.Attempt{ActorID: "scripted.caller", ActorRole: "applicant", Action: "opinion",
			ApplicationID: id, Reason: fmt.Sprint("flood ", i), HTTPStatus: 403}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Store.Attempts(ctx, id)
	if err != nil || len(all) != 62 {
		t.Fatalf("%d attempts stored (%v), want 62", len(all), err)
	}
	ids := func(list []store.Attempt) []int64 {
		var out []int64
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}

	// page returns the IDs of the attempts a page shows and its cursor.
	page := func(query string) (shown []int64, next int64) {
		t.Helper()
		r := s.Do(&testenv.Auditor, "GET", "/v1/applications/"+id+"/history"+query, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("history%s: %d %s", query, r.Status, r.Body)
		}
		var tl audit.Timeline
		r.JSON(t, &tl)
		sources := map[string]bool{}
		for _, e := range tl.Entries {
			sources[e.Source] = true
			if e.Source == audit.SourceAttempt {
				shown = append(shown, int64(e.Details["attempt_id"].(float64)))
			}
		}
		if !sources[audit.SourceTemporal] || !sources[audit.SourceJournal] {
			t.Errorf("history%s: sources %v, want the workflow's and the journal's entries on every page", query, sources)
		}
		slices.Sort(shown)
		return shown, tl.NextAttemptsBefore
	}

	got, next := page("")
	if want := ids(all[12:]); !slices.Equal(got, want) || next != all[12].ID {
		t.Fatalf("default page: attempts %v next %d, want the newest 50 %v and next %d", got, next, want, all[12].ID)
	}
	got, next = page(fmt.Sprintf("?attempts_limit=5&attempts_before=%d", next))
	if want := ids(all[7:12]); !slices.Equal(got, want) || next != all[7].ID {
		t.Errorf("second page: attempts %v next %d, want %v and next %d", got, next, want, all[7].ID)
	}
	got, next = page(fmt.Sprintf("?attempts_limit=500&attempts_before=%d", next))
	if want := ids(all[:7]); !slices.Equal(got, want) || next != 0 {
		t.Errorf("last page: attempts %v next %d, want the 7 refused through the API %v and no next", got, next, want)
	}
	if got, _ := page("?attempts_limit=500"); !slices.Equal(got, ids(all)) {
		t.Errorf("attempts_limit=500: %d attempts, want all 62", len(got))
	}

	for query, field := range map[string]string{
		"?attempts_limit=0": "attempts_limit", "?attempts_limit=501": "attempts_limit", "?attempts_limit=ten": "attempts_limit",
		"?attempts_before=-4": "attempts_before", "?attempts_before=next": "attempts_before",
	} {
		r := s.Do(&testenv.Auditor, "GET", "/v1/applications/"+id+"/history"+query, nil)
		var p api.Problem
		r.JSON(t, &p)
		if r.Status != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("history%s: %d %s, want 400 on %s", query, r.Status, r.Body, field)
		}
	}
}
