// Package migrate owns the migration engine: the ordered, idempotent steps of
// one node's move to a new runtime, the state recorded on the Node, the
// per-node Lease lock, resume and rollback. It does not print: it reports
// progress as Events to a Sink that the CLI, the TUI and -o json share.
package migrate
