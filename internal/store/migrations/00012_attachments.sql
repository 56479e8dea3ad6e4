-- +goose Up
-- The files of mission reports. A file is kept whole with its SHA-256 in one
-- row, written by one INSERT: it is stored entirely or not at all. The report
-- references files by ID, and the journal row of report_submitted carries
-- each file's SHA-256, so the audit can tell a file changed here from the one
-- the report was filed with. Files are never changed nor removed by the
-- service: expectct_app may only read and insert.
CREATE TABLE attachments (
    id             text PRIMARY KEY CHECK (id ~ '^ATT-[A-Z2-7]{16}$'),
    application_id text NOT NULL,
    -- The collectivité that uploaded it: only it may reference the file.
    siren          text NOT NULL,
    uploaded_by    text NOT NULL,
    name           text NOT NULL CHECK (name <> '' AND char_length(name) <= 255),
    media_type     text NOT NULL,
    size           bigint NOT NULL CHECK (size > 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content        bytea NOT NULL,
    uploaded_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (octet_length(content) = size)
);
CREATE INDEX attachments_application ON attachments (application_id);

-- +goose StatementBegin
CREATE FUNCTION attachments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'attachments are append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER attachments_append_only BEFORE UPDATE OR DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION attachments_append_only();
CREATE TRIGGER attachments_no_truncate BEFORE TRUNCATE ON attachments
    FOR EACH STATEMENT EXECUTE FUNCTION attachments_append_only();

REVOKE ALL ON attachments FROM PUBLIC;
GRANT SELECT, INSERT ON attachments TO expectct_app;

-- +goose Down
DROP TABLE attachments;
DROP FUNCTION attachments_append_only();
