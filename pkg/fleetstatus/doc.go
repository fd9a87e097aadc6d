// Package fleetstatus owns what `kubectl crimig status` knows about the
// fleet: each node's runtime and crimig state, its lock and the fleet run,
// read from Nodes and the Leases of the pod namespace. List reads them once;
// WatchSource follows them through informers and keeps the rows up to date
// one object at a time. Status, the result, is what `status -o` prints and
// what the interactive view renders; this package has no terminal code.
package fleetstatus
