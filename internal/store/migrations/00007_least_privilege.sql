-- +goose Up
-- Least privilege: the API and the worker connect as a member of the group
-- role expectct_app, which may do what the code needs and nothing more. The
-- tables stay owned by the role that runs the migrations. Both journals can
-- be read and appended to, never changed, removed nor truncated: no setting
-- lets the application past that, only the owner (or a superuser) could, and
-- the signed checkpoints are there to show it if one did.
--
-- The role is cluster-wide: the migrations of every expectct database on the
-- server create it if missing and grant it rights on their own tables only.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'expectct_app') THEN
        BEGIN
            CREATE ROLE expectct_app NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL; -- created at the same moment by another database's migration
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'the role expectct_app is missing and % may not create it: create it as a superuser, CREATE ROLE expectct_app NOLOGIN (docs/operations.md, "Database roles")', current_user;
        END;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO expectct_app', current_database());
END;
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA public TO expectct_app;
REVOKE ALL ON applications, journal, outbox, attempts, embassies, idempotency_keys, people, grants, directory_journal FROM PUBLIC;
-- Append-only: the journals and the refused attempts.
GRANT SELECT, INSERT ON journal, directory_journal, attempts TO expectct_app;
-- Rows the code rewrites: the read model, e-mail delivery, the embassy
-- directory, the idempotency keys (ON CONFLICT DO UPDATE), people's names.
GRANT SELECT, INSERT, UPDATE ON applications, outbox, embassies, idempotency_keys, people TO expectct_app;
-- A revocation deletes the grant (the directory journal keeps it).
GRANT SELECT, INSERT, UPDATE, DELETE ON grants TO expectct_app;
GRANT USAGE ON SEQUENCE outbox_id_seq, attempts_id_seq TO expectct_app;

-- The journal's trigger no longer honours expectct.allow_journal_rewrite:
-- whoever could set it could rewrite history.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal is append-only';
END;
$$;
-- +goose StatementEnd
-- Row triggers do not see TRUNCATE.
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER directory_journal_no_truncate BEFORE TRUNCATE ON directory_journal
    FOR EACH STATEMENT EXECUTE FUNCTION directory_journal_append_only();

-- +goose Down
DROP TRIGGER directory_journal_no_truncate ON directory_journal;
DROP TRIGGER journal_no_truncate ON journal;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('expectct.allow_journal_rewrite', true) = 'on' THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    RAISE EXCEPTION 'journal is append-only';
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON applications, journal, outbox, attempts, embassies, idempotency_keys, people, grants, directory_journal FROM expectct_app;
REVOKE ALL ON SEQUENCE outbox_id_seq, attempts_id_seq FROM expectct_app;
REVOKE USAGE ON SCHEMA public FROM expectct_app;
