// Package tui owns the terminal views of kubectl crimig: the fleet status
// view fed by Node and Lease watches, and the migrate progress view fed by
// engine events. Every I/O call runs in a tea.Cmd that returns a typed
// message; View only renders. The data behind the status view (Status,
// NodeStatus) is also what `status -o json|yaml` prints.
package tui
