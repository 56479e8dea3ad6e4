-- +goose Up
-- The workflow's state as the last transition left it (without the dossier,
-- kept in its own column), so reading an application needs PostgreSQL only.
ALTER TABLE applications ADD COLUMN state jsonb;

-- +goose Down
ALTER TABLE applications DROP COLUMN state;
