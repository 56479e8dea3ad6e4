// Package e2e holds the end-to-end tests of the whole system: the real
// Temporal dev server, PostgreSQL and Mailpit, the worker and the API.
package e2e
