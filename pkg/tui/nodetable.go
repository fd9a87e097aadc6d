package tui

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/table"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
)

// column is one column of the node table: how to render a row's cell and,
// for sortable columns, how to order rows.
type column struct {
	title string
	width int // 0: takes the width that is left; -1: fits the node names
	// drop orders the columns hidden on a narrow terminal: highest first;
	// 0 is never hidden.
	drop int
	cell func(n fleetstatus.NodeStatus, now time.Time) string
	less func(a, b fleetstatus.NodeStatus, now time.Time) bool
}

const progressCellWidth = 6

var nodeColumns = []column{
	{title: "NODE", width: -1, cell: func(n fleetstatus.NodeStatus, _ time.Time) string { return n.Name },
		less: func(a, b fleetstatus.NodeStatus, _ time.Time) bool { return a.Name < b.Name }},
	{title: "ROLE", drop: 3, width: 13, cell: func(n fleetstatus.NodeStatus, _ time.Time) string { return n.Role },
		less: func(a, b fleetstatus.NodeStatus, _ time.Time) bool { return a.Role < b.Role }},
	{title: "RUNTIME", width: 16, cell: func(n fleetstatus.NodeStatus, _ time.Time) string { return n.RuntimeString() },
		less: func(a, b fleetstatus.NodeStatus, _ time.Time) bool { return a.RuntimeString() < b.RuntimeString() }},
	{title: "KUBELET", drop: 5, width: 9, cell: func(n fleetstatus.NodeStatus, _ time.Time) string { return n.KubeletVersion },
		less: func(a, b fleetstatus.NodeStatus, _ time.Time) bool { return a.KubeletVersion < b.KubeletVersion }},
	{title: "READY", drop: 2, width: 5, cell: func(n fleetstatus.NodeStatus, _ time.Time) string { return fleetstatus.YesNo(n.Ready) },
		less: func(a, b fleetstatus.NodeStatus, _ time.Time) bool { return !a.Ready && b.Ready }},
	{title: "CORDONED", drop: 4, width: 8, cell: func(n fleetstatus.NodeStatus, _ time.Time) string { return fleetstatus.YesNo(n.Cordoned) },
		less: func(a, b fleetstatus.NodeStatus, _ time.Time) bool { return !a.Cordoned && b.Cordoned }},
	{title: "PHASE", width: 11, cell: func(n fleetstatus.NodeStatus, _ time.Time) string { return n.Phase() },
		less: func(a, b fleetstatus.NodeStatus, _ time.Time) bool { return a.Phase() < b.Phase() }},
	{title: "STEP", width: 9, cell: func(n fleetstatus.NodeStatus, _ time.Time) string { return n.Step() }},
	{title: "PROGRESS", width: progressCellWidth + 6, cell: func(n fleetstatus.NodeStatus, _ time.Time) string { return progressCell(n) },
		less: func(a, b fleetstatus.NodeStatus, _ time.Time) bool { return a.StepsDone < b.StepsDone }},
	{title: "ELAPSED", drop: 1, width: 7, cell: func(n fleetstatus.NodeStatus, now time.Time) string { return fleetstatus.FormatElapsed(n.Elapsed(now)) },
		less: func(a, b fleetstatus.NodeStatus, now time.Time) bool { return a.Elapsed(now) < b.Elapsed(now) }},
	{title: "LAST ERROR", cell: func(n fleetstatus.NodeStatus, _ time.Time) string { return n.LastError() }},
}

// progressCell is a plain-text bar: table cells are truncated by width, so
// they must not carry escape sequences.
func progressCell(n fleetstatus.NodeStatus) string {
	if n.State == nil || n.StepsTotal == 0 {
		return "-"
	}
	return textBar(float64(n.StepsDone)/float64(n.StepsTotal), progressCellWidth) + " " + itoa(n.StepsDone) + "/" + itoa(n.StepsTotal)
}

func textBar(p float64, width int) string {
	full := int(p*float64(width) + 0.5)
	full = min(max(full, 0), width)
	return strings.Repeat("█", full) + strings.Repeat("░", width-full)
}

// nodeTable is the table pane: filtering, sorting and a selection that
// follows the node, not the row index, across updates. A status in which a
// few rows changed moves and re-renders only those rows.
type nodeTable struct {
	table table.Model
	// all are the rows by name, as the source sorts them.
	all []fleetstatus.NodeStatus
	// visible are the rows that pass the filter, in sort order, and rows
	// their cells; the selected row's first cell carries the cursor mark.
	visible  []fleetstatus.NodeStatus
	rows     []table.Row
	filter   string
	sortCol  int
	reverse  bool
	selected string
	width    int
	// nameWidth fits the longest node name and the cursor mark.
	nameWidth int
	// height is the table's, header included.
	height int
	// cursor is the selected row's index in rows.
	cursor int
	// shown is the window of rows the table last rendered.
	shown window
}

func newNodeTable(s styles) nodeTable {
	t := table.New(table.WithFocused(true), table.WithStyles(s.table()))
	nt := nodeTable{table: t, nameWidth: 8}
	nt.setWidth(120)
	return nt
}

func (t *nodeTable) setSize(width, height int) {
	if width == t.width && height == t.height {
		return
	}
	t.height = height
	t.setWidth(width)
	t.table.SetHeight(max(height, 3))
	t.remember()
}

// setWidth gives the fixed columns their width and the rest to LAST ERROR;
// on a narrow terminal the last columns disappear.
func (t *nodeTable) setWidth(width int) {
	t.width = width
	cols := make([]table.Column, len(nodeColumns))
	hidden := t.hiddenColumns(width)
	left := width
	for i, c := range nodeColumns {
		w := c.width
		switch w {
		case -1:
			w = t.nameWidth
		case 0:
			w = left - 1
		}
		w = min(w, left-1)
		if w < 3 || hidden[i] {
			cols[i] = table.Column{Title: t.title(i, c)}
			continue
		}
		left -= w + 1
		cols[i] = table.Column{Title: t.title(i, c), Width: w}
	}
	t.sync()
	t.table.SetColumns(cols)
	t.table.SetWidth(width)
	t.remember()
}

// minErrorWidth is the LAST ERROR width below which other columns give way.
const minErrorWidth = 16

// hiddenColumns drops columns, in their drop order, until the rest fit with
// room for the error.
func (t *nodeTable) hiddenColumns(width int) map[int]bool {
	need := minErrorWidth
	for _, c := range nodeColumns {
		switch c.width {
		case -1:
			need += t.nameWidth + 1
		case 0:
		default:
			need += c.width + 1
		}
	}
	hidden := map[int]bool{}
	for need > width {
		worst := -1
		for i, c := range nodeColumns {
			if c.drop > 0 && !hidden[i] && (worst < 0 || c.drop > nodeColumns[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		hidden[worst] = true
		need -= nodeColumns[worst].width + 1
	}
	return hidden
}

func (t *nodeTable) title(i int, c column) string {
	if i != t.sortCol {
		return c.title
	}
	if t.reverse {
		return c.title + " ↓"
	}
	return c.title + " ↑"
}

// maxMoves is how many changed rows are moved one by one; beyond it, a
// full sort is cheaper.
const maxMoves = 32

// setData takes the rows of a new status; it reports whether the table
// shows anything new.
func (t *nodeTable) setData(all []fleetstatus.NodeStatus, now time.Time) bool {
	old := t.all
	t.all = all
	if t.fitNames() {
		t.setWidth(t.width)
	}
	changed, ok := changedRows(old, all, maxMoves)
	if !ok || nodeColumns[t.sortCol].title == "ELAPSED" {
		// The order by elapsed time moves with the clock: sort it all.
		t.refresh(now)
		return true
	}
	shown := false
	for _, c := range changed {
		if t.move(c, now) {
			shown = true
		}
	}
	if shown {
		t.placeCursor()
	}
	return shown
}

// fitNames sizes the name column to the longest name; it reports whether
// the width changed.
func (t *nodeTable) fitNames() bool {
	nameWidth := 6
	for i := range t.all {
		nameWidth = max(nameWidth, len(t.all[i].Name)+2)
	}
	if nameWidth = min(nameWidth, 40); nameWidth != t.nameWidth {
		t.nameWidth = nameWidth
		return true
	}
	return false
}

// rowChange is a row that was added, changed or removed (then row is nil).
type rowChange struct {
	name string
	row  *fleetstatus.NodeStatus
}

// changedRows compares two name-sorted row lists; ok is false when more
// than limit rows differ.
func changedRows(old, cur []fleetstatus.NodeStatus, limit int) (changes []rowChange, ok bool) {
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j == len(cur) || (i < len(old) && old[i].Name < cur[j].Name):
			changes = append(changes, rowChange{name: old[i].Name})
			i++
		case i == len(old) || cur[j].Name < old[i].Name:
			changes = append(changes, rowChange{name: cur[j].Name, row: &cur[j]})
			j++
		default:
			if old[i] != cur[j] {
				changes = append(changes, rowChange{name: cur[j].Name, row: &cur[j]})
			}
			i++
			j++
		}
		if len(changes) > limit {
			return nil, false
		}
	}
	return changes, true
}

// move puts a changed row where it belongs; it reports whether the table
// shows anything different.
func (t *nodeTable) move(c rowChange, now time.Time) bool {
	at := slices.IndexFunc(t.visible, func(n fleetstatus.NodeStatus) bool { return n.Name == c.name })
	var cells table.Row
	if c.row != nil && t.matches(*c.row, now) {
		cells = cellsOf(*c.row, now)
	}
	if at >= 0 && cells != nil && slices.Equal(cells[1:], t.rows[at][1:]) {
		// Nothing shown changed, so neither did the order.
		t.visible[at] = *c.row
		return false
	}
	if at >= 0 {
		t.visible = slices.Delete(t.visible, at, at+1)
		t.rows = slices.Delete(t.rows, at, at+1)
	}
	if cells != nil {
		i := sort.Search(len(t.visible), func(i int) bool { return t.before(*c.row, t.visible[i], now) })
		t.visible = slices.Insert(t.visible, i, *c.row)
		t.rows = slices.Insert(t.rows, i, cells)
	}
	return at >= 0 || cells != nil
}

// before is the table order: the sort column, then the name.
func (t *nodeTable) before(a, b fleetstatus.NodeStatus, now time.Time) bool {
	less := nodeColumns[t.sortCol].less
	x, y := a, b
	if t.reverse {
		x, y = b, a
	}
	if less(x, y, now) {
		return true
	}
	if less(y, x, now) {
		return false
	}
	return a.Name < b.Name
}

// tick follows the clock: only runs in flight show a new elapsed time. It
// reports whether the table shows anything new.
func (t *nodeTable) tick(now time.Time) bool {
	if t.filter != "" || nodeColumns[t.sortCol].title == "ELAPSED" {
		// What matches the filter, or the order, may move with the clock.
		t.refresh(now)
		return true
	}
	shown := false
	for i := range t.visible {
		if !t.visible[i].ElapsedTicks() {
			continue
		}
		cells := cellsOf(t.visible[i], now)
		if !slices.Equal(cells[1:], t.rows[i][1:]) {
			cells[0] = t.rows[i][0]
			t.rows[i] = cells
			shown = true
		}
	}
	if shown {
		t.show()
	}
	return shown
}

// cycleSort moves to the next sortable column.
func (t *nodeTable) cycleSort(now time.Time) {
	for i := 1; i <= len(nodeColumns); i++ {
		next := (t.sortCol + i) % len(nodeColumns)
		if nodeColumns[next].less != nil {
			t.sortCol = next
			break
		}
	}
	t.setWidth(t.width)
	t.refresh(now)
}

func (t *nodeTable) toggleReverse(now time.Time) {
	t.reverse = !t.reverse
	t.setWidth(t.width)
	t.refresh(now)
}

func (t *nodeTable) setFilter(f string, now time.Time) {
	t.filter = f
	t.refresh(now)
}

// refresh filters, sorts and renders every row, keeping the selected node.
func (t *nodeTable) refresh(now time.Time) {
	t.visible = t.visible[:0]
	for _, n := range t.all {
		if t.matches(n, now) {
			t.visible = append(t.visible, n)
		}
	}
	sort.Slice(t.visible, func(i, j int) bool { return t.before(t.visible[i], t.visible[j], now) })
	t.rows = make([]table.Row, len(t.visible))
	for i := range t.visible {
		t.rows[i] = cellsOf(t.visible[i], now)
	}
	t.placeCursor()
}

// placeCursor puts the cursor on the selected node, or on the first row
// when it is gone, and marks that row.
func (t *nodeTable) placeCursor() {
	cursor := 0
	for i := range t.visible {
		if t.visible[i].Name == t.selected {
			cursor = i
		}
	}
	t.markCursor(cursor)
	t.show()
}

// markCursor moves the visible cursor mark (without colour the highlight is
// gone) to row cursor, which becomes the selected node.
func (t *nodeTable) markCursor(cursor int) {
	for i, r := range t.rows {
		if i != cursor && strings.HasPrefix(r[0], cursorMark) {
			t.rows[i] = markRow(r, noMark)
		}
	}
	t.cursor = cursor
	if cursor < len(t.rows) {
		t.rows[cursor] = markRow(t.rows[cursor], cursorMark)
		t.selected = t.visible[cursor].Name
	}
}

const cursorMark, noMark = "› ", "  "

// cellsOf renders a row; its first cell leaves room for the cursor mark.
func cellsOf(n fleetstatus.NodeStatus, now time.Time) table.Row {
	row := make(table.Row, len(nodeColumns))
	for j, c := range nodeColumns {
		row[j] = c.cell(n, now)
	}
	row[0] = noMark + row[0]
	return row
}

// markRow is r with mark in front of the name; r itself may be shared with
// the table, so it is copied.
func markRow(r table.Row, mark string) table.Row {
	c := slices.Clone(r)
	name, ok := strings.CutPrefix(c[0], cursorMark)
	if !ok {
		name = c[0][len(noMark):]
	}
	c[0] = mark + name
	return c
}

func (t *nodeTable) matches(n fleetstatus.NodeStatus, now time.Time) bool {
	if t.filter == "" {
		return true
	}
	f := strings.ToLower(t.filter)
	for _, c := range nodeColumns {
		if strings.Contains(strings.ToLower(c.cell(n, now)), f) {
			return true
		}
	}
	return false
}

// update moves the cursor and re-marks the selected row.
func (t *nodeTable) update(msg tea.Msg) tea.Cmd {
	t.sync()
	var cmd tea.Cmd
	t.table, cmd = t.table.Update(msg)
	t.remember()
	if c := t.table.Cursor(); c >= 0 && c < len(t.visible) && t.visible[c].Name != t.selected {
		t.markCursor(c)
		t.show()
	}
	return cmd
}

// Selected is the node under the cursor.
func (t *nodeTable) Selected() (fleetstatus.NodeStatus, bool) {
	for _, n := range t.visible {
		if n.Name == t.selected {
			return n, true
		}
	}
	return fleetstatus.NodeStatus{}, false
}

func (t *nodeTable) View() string {
	if len(t.visible) == 0 && t.filter != "" {
		return t.table.View() + "\n  no node matches " + "\"" + t.filter + "\""
	}
	return t.table.View()
}
