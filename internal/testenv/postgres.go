package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/daect/expectct/internal/store"
)

// AdminDatabaseURL is the server tests create their databases on; set
// EXPECTCT_TEST_DATABASE_URL to use another.
func AdminDatabaseURL() string {
	if u := os.Getenv("EXPECTCT_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Database creates a fresh, migrated database for one test and drops it
// afterwards. A missing PostgreSQL fails the test with how to fix it.
func Database(t testing.TB) (*store.Store, string) {
	t.Helper()
	u, err := url.Parse(AdminDatabaseURL())
	if err != nil {
		t.Fatalf("EXPECTCT_TEST_DATABASE_URL: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	u.Path = "/expectct_test_" + hex.EncodeToString(b)
	dbURL := u.String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.EnsureDatabase(ctx, dbURL); err != nil {
		t.Fatalf("PostgreSQL is required for this test: %v\n(start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := store.DropDatabase(ctx, dbURL); err != nil {
			t.Logf("drop test database: %v", err)
		}
	})
	if err := store.Migrate(ctx, dbURL); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	return st, dbURL
}
