package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// A draft is its owner's alone: another person can neither read, save,
// submit nor discard it; a submitted draft leaves the list and is frozen.
func TestDraftsBelongToTheirOwner(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	d, err := st.SaveDraft(ctx, store.Draft{OwnerID: "claire", SIREN: "214401093", Data: json.RawMessage(`{"mission":{"title":"Dakar"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^DRF-[A-Z2-7]{16}$`).MatchString(d.ID) || d.OwnerID != "claire" || d.CreatedAt.IsZero() || d.SubmittedAt != nil {
		t.Fatalf("created %+v", d)
	}
	d.Data = json.RawMessage(`{"mission":{"title":"Saint-Louis"}}`)
	saved, err := st.SaveDraft(ctx, d)
	if err != nil || !strings.Contains(string(saved.Data), "Saint-Louis") || saved.ID != d.ID || saved.UpdatedAt.Before(d.UpdatedAt) {
		t.Fatalf("saved %+v, %v", saved, err)
	}
	other := d
	other.OwnerID = "mallory"
	if _, err := st.SaveDraft(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("saved by another person: %v", err)
	}
	if _, err := st.Draft(ctx, "mallory", d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("read by another person: %v", err)
	}
	if err := st.MarkDraftSubmitted(ctx, "mallory", d.ID, "EXP-X"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("submitted by another person: %v", err)
	}
	if err := st.DeleteDraft(ctx, "mallory", d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("discarded by another person: %v", err)
	}
	if got, err := st.Draft(ctx, "claire", d.ID); err != nil || !strings.Contains(string(got.Data), "Saint-Louis") {
		t.Fatalf("read back %+v, %v", got, err)
	}

	second, err := st.SaveDraft(ctx, store.Draft{OwnerID: "claire", SIREN: "214401093"})
	if err != nil || string(second.Data) != `{}` {
		t.Fatalf("an empty draft: %+v, %v", second, err)
	}
	if list, err := st.Drafts(ctx, "claire"); err != nil || len(list) != 2 || list[0].ID != second.ID {
		t.Fatalf("drafts %+v, %v; want the newest first", list, err)
	}
	if list, err := st.Drafts(ctx, "mallory"); err != nil || len(list) != 0 {
		t.Fatalf("another person's drafts %+v, %v", list, err)
	}

	if err := st.MarkDraftSubmitted(ctx, "claire", d.ID, "EXP-AAAAAAAAAAAAAAAA"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkDraftSubmitted(ctx, "claire", d.ID, "EXP-AAAAAAAAAAAAAAAA"); err != nil {
		t.Errorf("the same submission again: %v", err)
	}
	if err := st.MarkDraftSubmitted(ctx, "claire", d.ID, "EXP-BBBBBBBBBBBBBBBB"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("submitted as another application: %v", err)
	}
	got, err := st.Draft(ctx, "claire", d.ID)
	if err != nil || got.SubmittedAt == nil || got.ApplicationID != "EXP-AAAAAAAAAAAAAAAA" {
		t.Fatalf("submitted draft %+v, %v", got, err)
	}
	if _, err := st.SaveDraft(ctx, got); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("saving a submitted draft: %v", err)
	}
	if err := st.DeleteDraft(ctx, "claire", d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("discarding a submitted draft: %v", err)
	}
	if list, err := st.Drafts(ctx, "claire"); err != nil || len(list) != 1 || list[0].ID != second.ID {
		t.Fatalf("drafts after the submission %+v, %v", list, err)
	}
	if err := st.DeleteDraft(ctx, "claire", second.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Draft(ctx, "claire", second.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a discarded draft: %v", err)
	}
}

// Drafts are bounded in number per person, even when saved all at once,
// and in size, whether Go or PostgreSQL measures it.
func TestDraftLimits(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	const tries = store.MaxDrafts + 10
	var wg sync.WaitGroup
	errs := make(chan error, tries)
	for range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.SaveDraft(ctx, store.Draft{OwnerID: "claire", SIREN: "214401093", Data: json.RawMessage(`{}`)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	refused := 0
	for err := range errs {
		switch {
		case errors.Is(err, store.ErrTooManyDrafts):
			refused++
		case err != nil:
			t.Fatal(err)
		}
	}
	if refused != tries-store.MaxDrafts {
		t.Errorf("%d refused, want %d", refused, tries-store.MaxDrafts)
	}
	if list, err := st.Drafts(ctx, "claire"); err != nil || len(list) != store.MaxDrafts {
		t.Errorf("%d drafts kept, %v", len(list), err)
	}
	if _, err := st.SaveDraft(ctx, store.Draft{OwnerID: "someone.else", Data: json.RawMessage(`{}`)}); err != nil {
		t.Errorf("another person's first draft: %v", err)
	}

	d, err := st.SaveDraft(ctx, store.Draft{OwnerID: "bob", Data: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"notes":"` + strings.Repeat("x", store.MaxDraftBytes) + `"}`
	d.Data = json.RawMessage(big)
	if _, err := st.SaveDraft(ctx, d); !errors.Is(err, store.ErrDraftTooLarge) {
		t.Errorf("too large in Go: %v", err)
	}
	// Small enough as sent, too large once jsonb spaces it out.
	spaced := `[` + strings.Repeat(`1,`, store.MaxDraftBytes/2-2) + `1]`
	if len(spaced) > store.MaxDraftBytes {
		t.Fatalf("test data of %d bytes", len(spaced))
	}
	d.Data = json.RawMessage(spaced)
	if _, err := st.SaveDraft(ctx, d); !errors.Is(err, store.ErrDraftTooLarge) {
		t.Errorf("too large in PostgreSQL: %v", err)
	}
	d.Data = json.RawMessage(`{"unfinished":`)
	if _, err := st.SaveDraft(ctx, d); !errors.Is(err, store.ErrDraftNotJSON) {
		t.Errorf("not JSON: %v", err)
	}
}
