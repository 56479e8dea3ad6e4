package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// A session is found by its hash until it expires, its last_seen_at moves
// at most once a minute, and logout or pruning removes it.
func TestWebSessions(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	t0 := time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)
	hash := func(token string) []byte { h := sha256.Sum256([]byte(token)); return h[:] }
	ws := store.WebSession{IDHash: hash("token-1"), PersonID: "claire", Principal: json.RawMessage(`{"issuer":"https://idp.example","subject":"s1"}`),
		CSRF: "csrf-1", CreatedAt: t0, ExpiresAt: t0.Add(8 * time.Hour)}
	if err := st.CreateWebSession(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateWebSession(ctx, ws); err == nil {
		t.Error("the same hash twice was stored")
	}
	got, err := st.WebSession(ctx, ws.IDHash, t0.Add(30*time.Second))
	if err != nil || got.PersonID != "claire" || got.CSRF != "csrf-1" || !got.LastSeenAt.Equal(t0) || !got.ExpiresAt.Equal(ws.ExpiresAt) ||
		!strings.Contains(string(got.Principal), `"subject": "s1"`) || !bytes.Equal(got.IDHash, ws.IDHash) {
		t.Fatalf("within the minute: %+v, %v", got, err)
	}
	later := t0.Add(2 * time.Minute)
	if got, err := st.WebSession(ctx, ws.IDHash, later); err != nil || !got.LastSeenAt.Equal(later) {
		t.Fatalf("after two minutes: %+v, %v", got, err)
	}
	if got, err := st.WebSession(ctx, ws.IDHash, later.Add(59*time.Second)); err != nil || !got.LastSeenAt.Equal(later) {
		t.Fatalf("within the next minute: %+v, %v", got, err)
	}
	if _, err := st.WebSession(ctx, ws.IDHash, ws.ExpiresAt); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired: %v", err)
	}
	if _, err := st.WebSession(ctx, hash("token-2"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}

	other := ws
	other.IDHash, other.ExpiresAt = hash("token-2"), t0.Add(24*time.Hour)
	if err := st.CreateWebSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteExpiredWebSessions(ctx, t0.Add(9*time.Hour)); err != nil || n != 1 {
		t.Errorf("pruned %d, %v; want the first session", n, err)
	}
	if _, err := st.WebSession(ctx, other.IDHash, t0.Add(9*time.Hour)); err != nil {
		t.Errorf("the unexpired session: %v", err)
	}
	if err := st.DeleteWebSession(ctx, other.IDHash); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WebSession(ctx, other.IDHash, t0.Add(9*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after logout: %v", err)
	}
	if err := st.DeleteWebSession(ctx, other.IDHash); err != nil {
		t.Errorf("a second logout: %v", err)
	}
}
