-- +goose Up
-- Webhook subscribers: systems that receive each change of state, signed
-- (Standard Webhooks). The journal is the source of what they receive; these
-- tables only say who subscribed, how far each subscriber got in each
-- application's journal, and every delivery attempt.

-- secret is the signing key in the Standard Webhooks form (whsec_ then
-- base64): the service must read it to sign, so it is stored as given and
-- only expectct_app (and the owner) may read the table. A removal disables
-- the row and keeps it, so its deliveries keep naming it.
CREATE TABLE webhook_subscriptions (
    id          text PRIMARY KEY CHECK (id ~ '^WH-[A-Z2-7]{16}$'),
    url         text NOT NULL,
    events      text[] NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    secret      text NOT NULL CHECK (secret LIKE 'whsec\_%'),
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL,
    disabled_at timestamptz,
    disabled_by text,
    -- The delivery round posting to the subscriber holds the lease until
    -- its own deadline: a retry started while a round Temporal gave up on
    -- still runs waits for it, so two rounds never post at once.
    lease_token text,
    lease_until timestamptz,
    CHECK ((disabled_at IS NULL) = (disabled_by IS NULL))
);

-- How far a subscriber got in one application's journal: every row up to
-- delivered_seq was delivered, given up or not wanted. One cursor per
-- (subscriber, application), never one global position: journal rows of
-- different applications commit out of order, those of one application in
-- sequence.
CREATE TABLE webhook_cursors (
    subscription_id text NOT NULL REFERENCES webhook_subscriptions (id),
    application_id  text NOT NULL,
    delivered_seq   integer NOT NULL CHECK (delivered_seq >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, application_id)
);

-- Every attempt to deliver one journal row to one subscriber: delivered
-- (2xx), failed (retried with backoff) or given_up (the retry time spent,
-- the subscriber's cursor moved past it without a request).
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    subscription_id text NOT NULL REFERENCES webhook_subscriptions (id),
    application_id  text NOT NULL,
    seq             integer NOT NULL,
    event_type      text NOT NULL,
    message_id      text NOT NULL,
    attempt         integer NOT NULL CHECK (attempt >= 1),
    attempted_at    timestamptz NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'given_up')),
    http_status     integer,
    error           text NOT NULL DEFAULT '',
    duration_ms     integer NOT NULL DEFAULT 0
);
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_row_idx ON webhook_deliveries (subscription_id, application_id, seq);

REVOKE ALL ON webhook_subscriptions, webhook_cursors, webhook_deliveries FROM PUBLIC;
-- A removal disables a subscription (UPDATE), never deletes it.
GRANT SELECT, INSERT, UPDATE ON webhook_subscriptions, webhook_cursors TO expectct_app;
-- The attempts are facts: appended, never changed.
GRANT SELECT, INSERT ON webhook_deliveries TO expectct_app;
GRANT USAGE ON SEQUENCE webhook_deliveries_id_seq TO expectct_app;

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_cursors;
DROP TABLE webhook_subscriptions;
