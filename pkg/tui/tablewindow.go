package tui

import (
	"slices"

	"github.com/charmbracelet/bubbles/table"
)

// The table renders the rows around its cursor (the cursor ± its height)
// whenever it is given rows or a cursor, which costs far more than moving a
// row. A status changes a few rows of a large fleet, mostly outside that
// window, so nodeTable hands the table its rows only when the window it
// would render differs from the one it shows, and otherwise before the next
// call that reads them (a key, a resize).

// window is the part of the rows the table rendered.
type window struct {
	// start and cursor are indexes in the rows; rows are those rendered.
	start, cursor int
	rows          []table.Row
	tableHeight   int
	// stale is set while the table holds older rows than nodeTable, with
	// the same window.
	stale bool
}

// windowAt is the window the table renders for these rows and cursor: the
// same bounds as bubbles' table.UpdateViewport. The cursor is -1 when the
// table was last given no rows (a filter that matches no node): the window
// then starts at 0, as bubbles' does.
func windowAt(rows []table.Row, cursor, height int) (start, end int) {
	if cursor >= 0 {
		start = min(max(cursor-height, 0), cursor)
	}
	end = min(max(cursor+height, cursor, 0), len(rows))
	return min(start, end), end
}

// show hands the rows and cursor to the table, unless the window it would
// render is the one it shows.
func (t *nodeTable) show() {
	start, end := windowAt(t.rows, t.cursor, t.table.Height())
	w := t.shown
	if t.table.Height() == w.tableHeight && start-t.cursor == w.start-w.cursor &&
		slices.EqualFunc(t.rows[start:end], w.rows, slices.Equal[table.Row]) {
		t.shown.stale = true
		return
	}
	t.shown.stale = true
	t.sync()
}

// sync gives the table the current rows and cursor if it holds older ones.
func (t *nodeTable) sync() {
	if !t.shown.stale {
		return
	}
	t.table.SetRows(t.rows)
	if t.table.Cursor() != t.cursor {
		t.table.SetCursor(t.cursor)
	}
	t.remember()
}

// remember records the window the table just rendered.
func (t *nodeTable) remember() {
	c := t.table.Cursor()
	h := t.table.Height()
	start, end := windowAt(t.table.Rows(), c, h)
	t.shown = window{start: start, cursor: c, rows: slices.Clone(t.table.Rows()[start:end]), tableHeight: h}
}
