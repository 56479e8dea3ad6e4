-- +goose Up
-- The accounting service confirms payments: a role of its own, apart from
-- the decider who orders them.
ALTER TABLE grants DROP CONSTRAINT grants_role_check;
ALTER TABLE grants ADD CONSTRAINT grants_role_check
    CHECK (role IN ('applicant', 'embassy', 'instructor', 'decider', 'finance', 'auditor', 'admin'));

-- +goose Down
DELETE FROM grants WHERE role = 'finance';
ALTER TABLE grants DROP CONSTRAINT grants_role_check;
ALTER TABLE grants ADD CONSTRAINT grants_role_check
    CHECK (role IN ('applicant', 'embassy', 'instructor', 'decider', 'auditor', 'admin'));
