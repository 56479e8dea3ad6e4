-- +goose Up
-- Drafts of applications kept between visits of the web application. They
-- live here only: no workflow starts until the draft is submitted, when it
-- is marked with the application it became. The data is the dossier as the
-- form left it, possibly partial or invalid, hence raw JSON. A draft is only
-- its owner's: every query names the owner.
CREATE TABLE drafts (
    id             text PRIMARY KEY CHECK (id ~ '^DRF-[A-Z2-7]{16}$'),
    owner_id       text NOT NULL CHECK (owner_id <> ''),
    siren          text NOT NULL,
    data           jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    submitted_at   timestamptz,
    application_id text,
    -- 256 KiB: a form cannot grow the table without end.
    CONSTRAINT drafts_data_size CHECK (octet_length(data::text) <= 262144),
    CHECK ((submitted_at IS NULL) = (application_id IS NULL))
);
-- The owner's open drafts, newest first, and their count under the limit.
CREATE INDEX drafts_owner_open ON drafts (owner_id, updated_at DESC) WHERE submitted_at IS NULL;

-- Server-side sessions of the web application's signed-in people. Only the
-- SHA-256 of the cookie's token is kept: reading this table gives no one a
-- session. The principal is what the OpenID provider said, kept as the
-- caller wrote it.
CREATE TABLE web_sessions (
    id_hash      bytea PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    person_id    text NOT NULL CHECK (person_id <> ''),
    principal    jsonb NOT NULL,
    csrf         text NOT NULL CHECK (csrf <> ''),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at > created_at)
);
-- Pruning the expired sessions.
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

REVOKE ALL ON drafts, web_sessions FROM PUBLIC;
-- The applicant may discard a draft; logging out deletes the session.
GRANT SELECT, INSERT, UPDATE, DELETE ON drafts, web_sessions TO expectct_app;

-- +goose Down
DROP TABLE web_sessions;
DROP TABLE drafts;
