-- +goose Up
-- The outbox relay claims rows with a lease (two relays never send the same
-- row at once), backs off after a temporary failure and keeps a permanent
-- refusal for operators to see.
ALTER TABLE outbox
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN lease_until     timestamptz,
    ADD COLUMN refused_at      timestamptz;
DROP INDEX outbox_unsent_idx;
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND refused_at IS NULL;

-- +goose Down
DROP INDEX outbox_due_idx;
CREATE INDEX outbox_unsent_idx ON outbox (application_id) WHERE sent_at IS NULL;
ALTER TABLE outbox DROP COLUMN refused_at, DROP COLUMN lease_until, DROP COLUMN next_attempt_at;
