-- +goose Up
-- The earliest deadline an application's state holds (the embassy's
-- opinion, the complements, the decision, the report), for the inboxes'
-- "deadline within N days" filter and deadline order. A generated column
-- keeps it true on every write and fills it for the rows already there.
-- The cast is declared IMMUTABLE because the state's dates always carry
-- their offset (RFC 3339), so the session's time zone cannot change it.
-- +goose StatementBegin
CREATE FUNCTION earliest_deadline(state jsonb) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT min((d->>'due')::timestamptz)
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(state->'deadlines') = 'array' THEN state->'deadlines' ELSE '[]'::jsonb END) d
$$;
-- +goose StatementEnd
ALTER TABLE applications ADD COLUMN next_deadline timestamptz GENERATED ALWAYS AS (earliest_deadline(state)) STORED;
CREATE INDEX applications_next_deadline_idx ON applications (next_deadline, id);

-- DAECT staff following an application: each step recorded on it e-mails
-- them, and their inbox can show only what they follow. A preference, not
-- part of the procedure: it may be removed, and is not journaled.
CREATE TABLE follows (
    application_id text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    person_id      text NOT NULL CHECK (person_id <> ''),
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (application_id, person_id)
);
CREATE INDEX follows_person_idx ON follows (person_id, application_id);

REVOKE ALL ON follows FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON follows TO expectct_app;

-- +goose Down
DROP TABLE follows;
ALTER TABLE applications DROP COLUMN next_deadline;
DROP FUNCTION earliest_deadline(jsonb);
