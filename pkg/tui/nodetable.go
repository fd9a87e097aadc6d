package tui

import (
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/table"
	tea "github.com/charmbracelet/bubbletea"
)

// column is one column of the node table: how to render a row's cell and,
// for sortable columns, how to order rows.
type column struct {
	title string
	width int // 0: takes the width that is left; -1: fits the node names
	// drop orders the columns hidden on a narrow terminal: highest first;
	// 0 is never hidden.
	drop int
	cell func(n NodeStatus, now time.Time) string
	less func(a, b NodeStatus, now time.Time) bool
}

const progressCellWidth = 6

var nodeColumns = []column{
	{title: "NODE", width: -1, cell: func(n NodeStatus, _ time.Time) string { return n.Name },
		less: func(a, b NodeStatus, _ time.Time) bool { return a.Name < b.Name }},
	{title: "ROLE", drop: 3, width: 13, cell: func(n NodeStatus, _ time.Time) string { return n.Role },
		less: func(a, b NodeStatus, _ time.Time) bool { return a.Role < b.Role }},
	{title: "RUNTIME", width: 16, cell: func(n NodeStatus, _ time.Time) string { return n.RuntimeString() },
		less: func(a, b NodeStatus, _ time.Time) bool { return a.RuntimeString() < b.RuntimeString() }},
	{title: "KUBELET", drop: 5, width: 9, cell: func(n NodeStatus, _ time.Time) string { return n.KubeletVersion },
		less: func(a, b NodeStatus, _ time.Time) bool { return a.KubeletVersion < b.KubeletVersion }},
	{title: "READY", drop: 2, width: 5, cell: func(n NodeStatus, _ time.Time) string { return YesNo(n.Ready) },
		less: func(a, b NodeStatus, _ time.Time) bool { return !a.Ready && b.Ready }},
	{title: "CORDONED", drop: 4, width: 8, cell: func(n NodeStatus, _ time.Time) string { return YesNo(n.Cordoned) },
		less: func(a, b NodeStatus, _ time.Time) bool { return !a.Cordoned && b.Cordoned }},
	{title: "PHASE", width: 11, cell: func(n NodeStatus, _ time.Time) string { return n.Phase() },
		less: func(a, b NodeStatus, _ time.Time) bool { return a.Phase() < b.Phase() }},
	{title: "STEP", width: 9, cell: func(n NodeStatus, _ time.Time) string { return n.Step() }},
	{title: "PROGRESS", width: progressCellWidth + 6, cell: func(n NodeStatus, _ time.Time) string { return progressCell(n) },
		less: func(a, b NodeStatus, _ time.Time) bool { return a.StepsDone < b.StepsDone }},
	{title: "ELAPSED", drop: 1, width: 7, cell: func(n NodeStatus, now time.Time) string { return FormatElapsed(n.Elapsed(now)) },
		less: func(a, b NodeStatus, now time.Time) bool { return a.Elapsed(now) < b.Elapsed(now) }},
	{title: "LAST ERROR", cell: func(n NodeStatus, _ time.Time) string { return n.LastError() }},
}

// progressCell is a plain-text bar: table cells are truncated by width, so
// they must not carry escape sequences.
func progressCell(n NodeStatus) string {
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
// follows the node, not the row index, across updates.
type nodeTable struct {
	table    table.Model
	all      []NodeStatus
	visible  []NodeStatus
	filter   string
	sortCol  int
	reverse  bool
	selected string
	width    int
	// nameWidth fits the longest node name and the cursor mark.
	nameWidth int
}

func newNodeTable(s styles) nodeTable {
	t := table.New(table.WithFocused(true), table.WithStyles(s.table()))
	nt := nodeTable{table: t, nameWidth: 8}
	nt.setWidth(120)
	return nt
}

func (t *nodeTable) setSize(width, height int) {
	t.setWidth(width)
	t.table.SetHeight(max(height, 3))
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
	t.table.SetColumns(cols)
	t.table.SetWidth(width)
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

func (t *nodeTable) setData(all []NodeStatus, now time.Time) {
	t.all = all
	nameWidth := 6
	for _, n := range all {
		nameWidth = max(nameWidth, len(n.Name)+2)
	}
	if nameWidth = min(nameWidth, 40); nameWidth != t.nameWidth {
		t.nameWidth = nameWidth
		t.setWidth(t.width)
	}
	t.refresh(now)
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

// refresh filters, sorts and renders the rows, keeping the selected node.
func (t *nodeTable) refresh(now time.Time) {
	t.visible = t.visible[:0]
	for _, n := range t.all {
		if t.matches(n, now) {
			t.visible = append(t.visible, n)
		}
	}
	less := nodeColumns[t.sortCol].less
	sort.SliceStable(t.visible, func(i, j int) bool {
		a, b := t.visible[i], t.visible[j]
		if t.reverse {
			a, b = b, a
		}
		if less(a, b, now) {
			return true
		}
		if less(b, a, now) {
			return false
		}
		return t.visible[i].Name < t.visible[j].Name
	})
	cursor := 0
	for i, n := range t.visible {
		if n.Name == t.selected {
			cursor = i
		}
	}
	t.render(cursor, now)
}

func (t *nodeTable) render(cursor int, now time.Time) {
	rows := make([]table.Row, len(t.visible))
	for i, n := range t.visible {
		row := make(table.Row, len(nodeColumns))
		for j, c := range nodeColumns {
			row[j] = c.cell(n, now)
		}
		// A visible cursor mark: without colour the highlight is gone.
		mark := "  "
		if i == cursor {
			mark = "› "
		}
		row[0] = mark + row[0]
		rows[i] = row
	}
	t.table.SetRows(rows)
	t.table.SetCursor(cursor)
	if cursor < len(t.visible) {
		t.selected = t.visible[cursor].Name
	}
}

func (t *nodeTable) matches(n NodeStatus, now time.Time) bool {
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
func (t *nodeTable) update(msg tea.Msg, now time.Time) tea.Cmd {
	var cmd tea.Cmd
	t.table, cmd = t.table.Update(msg)
	if c := t.table.Cursor(); c < len(t.visible) && t.visible[c].Name != t.selected {
		t.render(c, now)
	}
	return cmd
}

// Selected is the node under the cursor.
func (t *nodeTable) Selected() (NodeStatus, bool) {
	for _, n := range t.visible {
		if n.Name == t.selected {
			return n, true
		}
	}
	return NodeStatus{}, false
}

func (t *nodeTable) View() string {
	if len(t.visible) == 0 && t.filter != "" {
		return t.table.View() + "\n  no node matches " + "\"" + t.filter + "\""
	}
	return t.table.View()
}
