package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// AppRole is the group role whose rights the API and the worker use
// (migration 00007): SELECT and INSERT only on the journals, and what the
// code needs elsewhere. The role they log in as is a member of it.
const AppRole = "expectct_app"

// SameRole tells whether two database URLs log in as the same role: then
// the application owns its tables and nothing protects the journal from it.
func SameRole(ownerURL, appURL string) (bool, error) {
	owner, err := pgx.ParseConfig(ownerURL)
	if err != nil {
		return false, fmt.Errorf("EXPECTCT_MIGRATE_DATABASE_URL: %w", err)
	}
	app, err := pgx.ParseConfig(appURL)
	if err != nil {
		return false, fmt.Errorf("DATABASE_URL: %w", err)
	}
	return owner.User == app.User, nil
}

// GrantApp makes the role of appURL a member of AppRole, connecting as the
// owner (ownerURL, which must be allowed to manage roles for what is
// missing). A missing login role is created with the password of appURL;
// an existing one is only added to the group. It changes nothing when the
// membership is already there, and refuses a role that is a superuser, may
// create roles, or owns the tables, since the grants would then limit
// nothing.
func GrantApp(ctx context.Context, ownerURL, appURL string) error {
	app, err := pgx.ParseConfig(appURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg, err := pgx.ParseConfig(ownerURL)
	if err != nil {
		return fmt.Errorf("EXPECTCT_MIGRATE_DATABASE_URL: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return unavailable(err)
	}
	defer conn.Close(ctx)
	// Several migrations may add the same role at once (tests share one
	// server): whoever loses the race finds the membership made.
	for attempt := 0; ; attempt++ {
		err := grantApp(ctx, conn, app.User, app.Password)
		if err == nil || attempt == 2 {
			return err
		}
	}
}

func grantApp(ctx context.Context, conn *pgx.Conn, user, password string) error {
	var exists, member, super, owner bool
	// Owner counts membership too: a member of the owner's role may act as
	// it. A role that may create roles could make itself one (PostgreSQL 15).
	err := conn.QueryRow(ctx, `SELECT true, pg_has_role(r.oid, $2, 'MEMBER'), r.rolsuper OR r.rolcreaterole,
			EXISTS (SELECT FROM pg_tables t WHERE t.tablename = 'journal' AND t.schemaname = 'public'
				AND pg_has_role(r.oid, t.tableowner, 'MEMBER'))
		FROM pg_roles r WHERE r.rolname = $1`, user, AppRole).Scan(&exists, &member, &super, &owner)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return unavailable(err)
	}
	switch {
	case super || owner:
		return fmt.Errorf("DATABASE_URL logs in as %s, a superuser, a role that may create roles, or the owner of the tables (or a member of it): the application must log in as a role of its own, member of %s only (docs/operations.md, \"Database roles\")", user, AppRole)
	case member:
		return nil
	}
	var stmt string
	if exists {
		err = conn.QueryRow(ctx, `SELECT format('GRANT %I TO %I', $1::text, $2::text)`, AppRole, user).Scan(&stmt)
	} else if password == "" {
		err = conn.QueryRow(ctx, `SELECT format('CREATE ROLE %I LOGIN IN ROLE %I', $1::text, $2::text)`, user, AppRole).Scan(&stmt)
	} else {
		err = conn.QueryRow(ctx, `SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I', $1::text, $3::text, $2::text)`, user, AppRole, password).Scan(&stmt)
	}
	if err != nil {
		return unavailable(err)
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("make %s a member of %s (a superuser can: see docs/operations.md, \"Database roles\"): %w", user, AppRole, unavailable(err))
	}
	return nil
}
