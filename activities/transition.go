// Package activities holds the side effects of an application's life: each
// transition persisted in one PostgreSQL transaction with its e-mails queued
// in the outbox, and the embassy directory look-up. Every activity is
// idempotent. E-mails leave through the outbox relay (internal/outbox), never
// from here, so a slow mail server never holds up the recording of a step.
package activities
