-- +goose Up
-- The Idempotency-Key of each human step, bound to the request it first came
-- with. The key becomes the step's Temporal Update ID, and Temporal answers a
-- reused Update ID with the first update's outcome whatever the arguments:
-- this binding is what refuses the same key with another request.
CREATE TABLE idempotency_keys (
    application_id text NOT NULL,
    step           text NOT NULL,
    key            text NOT NULL,
    -- SHA-256 of the caller and the request body, never the body itself.
    fingerprint    bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (application_id, step, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
