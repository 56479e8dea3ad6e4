-- +goose Up
-- The journal's rows by event: the programme figures' medians read the
-- opinions and decisions only, and the journal is the largest table (every
-- step of every application), so a scan of it grows with the programme's
-- whole history. With the application and time in the index, those reads
-- need not visit the rows.
CREATE INDEX journal_event_idx ON journal (event_type, application_id, occurred_at);

-- +goose Down
DROP INDEX journal_event_idx;
