-- +goose Up
-- Signed checkpoints: at a fixed interval the worker signs the heads of every
-- chain (each application's last seq and hash, the people directory's, the
-- number of applications) with a key held outside the database. body is the
-- signed JSON as signed; it names the previous checkpoint's hash, so a
-- checkpoint removed from the middle breaks the sequence. Exported copies
-- kept off-site catch a rewrite of this table too.
CREATE TABLE checkpoints (
    seq        bigint PRIMARY KEY CHECK (seq >= 1),
    created_at timestamptz NOT NULL,
    key_id     text NOT NULL,
    body       text NOT NULL,
    signature  text NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'checkpoints are append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION checkpoints_append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_append_only();

REVOKE ALL ON checkpoints FROM PUBLIC;
GRANT SELECT, INSERT ON checkpoints TO expectct_app;

-- +goose Down
DROP TABLE checkpoints;
DROP FUNCTION checkpoints_append_only();
