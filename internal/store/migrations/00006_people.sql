-- +goose Up
-- The people directory: who may act, as what. A person is known by the
-- (issuer, subject) pair of the OpenID provider; id is the subject, the
-- identity every journal line and the four-eyes rule name.
CREATE TABLE people (
    id           text PRIMARY KEY,
    issuer       text NOT NULL,
    subject      text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('person', 'service')),
    name         text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    first_seen   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer, subject)
);

-- The roles people hold now, with their scope. At most one grant per role.
CREATE TABLE grants (
    person_id  text NOT NULL REFERENCES people (id),
    role       text NOT NULL CHECK (role IN ('applicant', 'embassy', 'instructor', 'decider', 'auditor', 'admin')),
    siren      text NOT NULL DEFAULT '',
    countries  text[] NOT NULL DEFAULT '{}',
    granted_by text NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (person_id, role),
    CHECK (role <> 'applicant' OR siren ~ '^[0-9]{9}$'),
    CHECK (role <> 'embassy' OR cardinality(countries) > 0)
);

-- Every grant and revocation, hash-chained like the applications' journal.
CREATE TABLE directory_journal (
    seq         bigint PRIMARY KEY CHECK (seq >= 1),
    occurred_at timestamptz NOT NULL,
    actor_id    text NOT NULL,
    action      text NOT NULL CHECK (action IN ('grant', 'revoke')),
    person_id   text NOT NULL,
    role        text NOT NULL,
    siren       text NOT NULL DEFAULT '',
    countries   text[] NOT NULL DEFAULT '{}',
    reason      text NOT NULL DEFAULT '',
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION directory_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'directory journal is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER directory_journal_append_only BEFORE UPDATE OR DELETE ON directory_journal
    FOR EACH ROW EXECUTE FUNCTION directory_journal_append_only();

-- +goose Down
DROP TABLE directory_journal;
DROP FUNCTION directory_journal_append_only();
DROP TABLE grants;
DROP TABLE people;
