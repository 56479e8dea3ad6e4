-- +goose Up
-- The application read model: one row per application, rewritten at each transition.
CREATE TABLE applications (
    id               text PRIMARY KEY,
    status           text NOT NULL,
    siren            char(9) NOT NULL,
    collectivite     text NOT NULL,
    country          char(2) NOT NULL,
    mission_title    text NOT NULL,
    requested_cents  bigint NOT NULL CHECK (requested_cents >= 0),
    recommended_cents bigint CHECK (recommended_cents >= 0),
    granted_cents    bigint CHECK (granted_cents >= 0),
    rules_version    text NOT NULL,
    flags            text[] NOT NULL DEFAULT '{}',
    dossier          jsonb NOT NULL,
    last_seq         integer NOT NULL,
    submitted_at     timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    decided_at       timestamptz
);
CREATE INDEX applications_status_idx ON applications (status, submitted_at DESC, id);
CREATE INDEX applications_country_idx ON applications (country, submitted_at DESC, id);
CREATE INDEX applications_siren_idx ON applications (siren, submitted_at DESC, id);
CREATE INDEX applications_submitted_idx ON applications (submitted_at DESC, id);

-- The append-only event journal. Each row carries the hash of the previous row
-- of the same application and its own, so an altered row breaks the chain.
CREATE TABLE journal (
    application_id text NOT NULL,
    seq            integer NOT NULL CHECK (seq >= 1),
    event_type     text NOT NULL,
    status         text NOT NULL,
    actor_id       text NOT NULL,
    actor_role     text NOT NULL,
    payload        json NOT NULL,
    occurred_at    timestamptz NOT NULL,
    prev_hash      text NOT NULL,
    hash           text NOT NULL,
    PRIMARY KEY (application_id, seq)
);

-- Journal rows are never changed nor removed by the application.
-- +goose StatementBegin
CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('expectct.allow_journal_rewrite', true) = 'on' THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    RAISE EXCEPTION 'journal is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_append_only();

-- E-mails to send. dedup_key makes a retried transition never queue twice.
CREATE TABLE outbox (
    id             bigserial PRIMARY KEY,
    dedup_key      text NOT NULL UNIQUE,
    application_id text NOT NULL,
    seq            integer NOT NULL,
    template       text NOT NULL,
    recipients     text[] NOT NULL,
    cc             text[] NOT NULL DEFAULT '{}',
    subject        text NOT NULL,
    body_text      text NOT NULL,
    body_html      text NOT NULL,
    message_id     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text,
    sent_at        timestamptz
);
CREATE INDEX outbox_unsent_idx ON outbox (application_id) WHERE sent_at IS NULL;

-- Refused or unauthorized attempts: the Temporal history never shows them.
CREATE TABLE attempts (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_id       text NOT NULL,
    actor_role     text NOT NULL,
    action         text NOT NULL,
    application_id text,
    reason         text NOT NULL,
    http_status    integer NOT NULL
);
CREATE INDEX attempts_application_idx ON attempts (application_id, at);

-- Embassy directory: who to consult for each destination country.
CREATE TABLE embassies (
    country    char(2) PRIMARY KEY,
    name       text NOT NULL,
    emails     text[] NOT NULL CHECK (cardinality(emails) >= 1),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE embassies;
DROP TABLE attempts;
DROP TABLE outbox;
DROP TABLE journal;
DROP FUNCTION journal_append_only();
DROP TABLE applications;
