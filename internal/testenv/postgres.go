package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// AppRole is the role the tests' API, worker and stores log in as: a
// member of store.AppRole, as in production, so every test proves those
// rights are enough. The role is shared by every test database.
const AppRole = "expectct_test_app"

// Database creates a fresh, migrated database for one test and drops it
// afterwards. A missing PostgreSQL fails the test with how to fix it. The
// store and the URL it returns log in as AppRole (no UPDATE nor DELETE on
// the journals); OwnerURL gives the owner's, for what only the owner may do.
func Database(t testing.TB) (*store.Store, string) {
	t.Helper()
	u, err := url.Parse(AdminDatabaseURL())
	if err != nil {
		t.Fatalf("EXPECTCT_TEST_DATABASE_URL: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	u.Path = "/expectct_test_" + hex.EncodeToString(b)
	ownerURL := u.String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.EnsureDatabase(ctx, ownerURL); err != nil {
		t.Fatalf("PostgreSQL is required for this test: %v\n(start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := store.DropDatabase(ctx, ownerURL); err != nil {
			t.Logf("drop test database: %v", err)
		}
	})
	if err := store.Migrate(ctx, ownerURL); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	u.User = url.User(AppRole)
	dbURL := u.String()
	if err := store.GrantApp(ctx, ownerURL, dbURL); err != nil {
		t.Fatalf("grant the application's role: %v", err)
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	return st, dbURL
}

// OwnerURL is the URL of a test database (one Database made) as its owner,
// the tests' administrator: what a person with full access to the
// database could do, and the application cannot.
func OwnerURL(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := url.Parse(AdminDatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	u.User = admin.User
	return u.String()
}

// Owner opens a test database as its owner; closed when the test ends.
func Owner(t testing.TB, dbURL string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, OwnerURL(t, dbURL))
	if err != nil {
		t.Fatalf("open the test database as its owner: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// Tamper runs f in one transaction on a test database as the superuser,
// with the journals' append-only triggers off (session_replication_role):
// what someone with full access to the database server could do, and
// what audit verify must then find.
func Tamper(t testing.TB, dbURL string, f func(tx pgx.Tx) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, OwnerURL(t, dbURL))
	if err != nil {
		t.Fatalf("connect as the superuser: %v", err)
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			return err
		}
		return f(tx)
	})
	if err != nil {
		t.Fatalf("tamper with the database: %v", err)
	}
}
