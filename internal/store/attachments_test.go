package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// A file is stored whole with its description, found only under its own
// application, refused when its size disagrees with its content, and never
// changed nor removed by the service's role.
func TestAttachmentsStored(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	content := []byte("%PDF-1.4\n%%EOF\n")
	a := store.Attachment{ID: "ATT-AAAAAAAAAAAAAAAA", ApplicationID: "EXP-ONE", SIREN: "214401093", UploadedBy: "claire.martin",
		Name: "rapport.pdf", MediaType: "application/pdf", Size: int64(len(content)),
		SHA256: "0000000000000000000000000000000000000000000000000000000000000000", Content: content}
	got, err := st.AddAttachment(ctx, a, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Size != a.Size || got.UploadedAt.IsZero() {
		t.Fatalf("stored %+v", got)
	}
	list, err := st.Attachments(ctx, "EXP-ONE", []string{a.ID, "ATT-BBBBBBBBBBBBBBBB"})
	if err != nil || len(list) != 1 || list[0].Name != "rapport.pdf" || list[0].Content != nil {
		t.Fatalf("listed %+v, %v", list, err)
	}
	if list, err := st.Attachments(ctx, "EXP-TWO", []string{a.ID}); err != nil || len(list) != 0 {
		t.Fatalf("another application's files: %+v, %v", list, err)
	}
	full, err := st.AttachmentContent(ctx, "EXP-ONE", a.ID)
	if err != nil || !bytes.Equal(full.Content, content) || full.SHA256 != a.SHA256 {
		t.Fatalf("content %+v, %v", full, err)
	}
	if _, err := st.AttachmentContent(ctx, "EXP-TWO", a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another application's file: %v", err)
	}
	bad := a
	bad.ID, bad.Size = "ATT-CCCCCCCCCCCCCCCC", 3
	if _, err := st.AddAttachment(ctx, bad, 2); err == nil {
		t.Fatal("a size that disagrees with the content was stored")
	}
	// Two files at most for this application: the second is taken, the
	// third refused and not stored.
	second, third := a, a
	second.ID, third.ID = "ATT-DDDDDDDDDDDDDDDD", "ATT-EEEEEEEEEEEEEEEE"
	if _, err := st.AddAttachment(ctx, second, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAttachment(ctx, third, 2); !errors.Is(err, store.ErrTooManyUploads) {
		t.Fatalf("a third file with a limit of two: %v", err)
	}
	if _, err := st.AttachmentContent(ctx, "EXP-ONE", third.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused file was stored: %v", err)
	}
	for _, q := range []string{`UPDATE attachments SET name = 'autre.pdf'`, `DELETE FROM attachments`} {
		if _, err := st.Pool.Exec(ctx, q); err == nil {
			t.Fatalf("%s: allowed", q)
		}
	}
}
