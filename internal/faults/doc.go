// Package faults is the fault-injection suite: it runs the real system (the
// Temporal dev server, PostgreSQL, Mailpit, the worker and the API) and
// breaks it on purpose, then checks that every application still reaches its
// final state with nothing lost and nothing done twice.
//
// The scenarios, in faults_test.go and its siblings:
//   - the worker process is SIGKILLed at several points of an application's
//     life, including after a transition is committed but before its e-mail
//     is delivered;
//   - the Temporal server is SIGKILLed and restarted on its file store while
//     applications are in flight;
//   - PostgreSQL becomes unreachable for a while behind a TCP proxy;
//   - the same dossier is submitted concurrently, and two deciders decide the
//     same application at once;
//   - a burst of malformed, truncated, oversized and unauthenticated requests.
//
// Each scenario ends with CheckInvariants over the whole database and the
// Temporal histories.
//
// The package's helpers are a TCP proxy that can cut PostgreSQL off
// (Proxy), the worker as a child process that can be killed (WorkerProcess)
// and the invariant check.
package faults
