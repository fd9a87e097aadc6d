// Package tui owns the terminal views of kubectl crimig: the fleet status
// view, which renders what a fleetstatus.Source delivers, and the migrate
// progress view fed by engine events. Every I/O call runs in a tea.Cmd that
// returns a typed message; View only renders.
package tui
