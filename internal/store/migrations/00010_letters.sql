-- +goose Up
-- The letters handed out (decision letters, payment statements), by their
-- verification code, so the public verify endpoint finds one without
-- reading every journal. A letter is recorded the first time it is
-- rendered (its e-mail or a download); the code itself is derived from its
-- journal row's hash, which verify checks again. signed_by is the name of
-- the decider as the directory gave it then: later renderings print the
-- same name, so the letter stays the same file. Rows are never changed.
CREATE TABLE letters (
    code            text PRIMARY KEY,
    application_id  text NOT NULL,
    kind            text NOT NULL,
    seq             integer NOT NULL,
    journal_hash    text NOT NULL,
    signed_by       text NOT NULL,
    first_issued_at timestamptz NOT NULL DEFAULT now(),
    -- No foreign key to the journal: verify reads the row again and
    -- answers 404 when it is gone or altered, and the audit, not this
    -- table, is what reports a journal rewritten by its owner.
    UNIQUE (application_id, kind, seq)
);

-- +goose StatementBegin
CREATE FUNCTION letters_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'letters are append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER letters_append_only BEFORE UPDATE OR DELETE ON letters
    FOR EACH ROW EXECUTE FUNCTION letters_append_only();
CREATE TRIGGER letters_no_truncate BEFORE TRUNCATE ON letters
    FOR EACH STATEMENT EXECUTE FUNCTION letters_append_only();

REVOKE ALL ON letters FROM PUBLIC;
GRANT SELECT, INSERT ON letters TO expectct_app;

-- The letter an e-mail carries, rendered again from the journal when the
-- relay sends it (its row is the outbox row's application and seq): the
-- outbox keeps a reference, never the PDF.
ALTER TABLE outbox ADD COLUMN letter text;

-- +goose Down
ALTER TABLE outbox DROP COLUMN letter;
DROP TABLE letters;
DROP FUNCTION letters_append_only();
