package tui

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/table"
	tea "github.com/charmbracelet/bubbletea"
	corev1 "k8s.io/api/core/v1"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	fst "github.com/crimig/kubectl-crimig/pkg/fleetstatus/fleetstatustest"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// TestTableMovesRows: a table that moves only the changed rows shows, after
// every status, what a table sorting and rendering every row shows, for
// every sort order, with and without a filter, and keeps the selection.
func TestTableMovesRows(t *testing.T) {
	type order struct {
		col     int
		reverse bool
		filter  string
	}
	var orders []order
	for col, c := range nodeColumns {
		if c.less != nil {
			orders = append(orders, order{col: col})
		}
	}
	orders = append(orders, order{0, true, ""}, order{2, true, "cri-o"}, order{6, false, "cri-o"})
	for _, o := range orders {
		t.Run(fmt.Sprintf("%s/reverse=%v/filter=%q", nodeColumns[o.col].title, o.reverse, o.filter), func(t *testing.T) {
			checkMoves(t, o.col, o.reverse, o.filter)
		})
	}
}

func checkMoves(t *testing.T, col int, reverse bool, filter string) {
	rng := rand.New(rand.NewPCG(uint64(col), 7))
	s := fst.Large(150)
	f := fleetstatus.BuildFleet(s, nil)
	now := fst.Now
	inc := newTestTable(col, reverse, filter)
	inc.setData(f.Status().Items, now)
	for range 12 {
		inc.update(keyDown)
	}
	if inc.cursor != 12 || inc.selected != inc.visible[12].Name {
		t.Fatalf("cursor %d on %s after 12 moves down", inc.cursor, inc.selected)
	}
	for step := range 25 {
		for range 1 + rng.IntN(6) {
			changeNode(rng, f, s)
		}
		full := newTestTable(col, reverse, filter)
		full.selected = inc.selected
		st := f.Status()
		inc.setData(st.Items, now)
		full.setData(st.Items, now)
		if !sameTable(inc, full) {
			t.Fatalf("step %d: the table differs from a full sort:\nmoved:  %v\nsorted: %v", step, names(inc), names(full))
		}
		if !slices.EqualFunc(inc.rows, full.rows, slices.Equal[table.Row]) {
			t.Fatalf("step %d: rendered rows differ", step)
		}
		if inc.View() != full.View() {
			t.Fatalf("step %d: the table shows\n%s\nnot\n%s", step, inc.View(), full.View())
		}
	}
}

var keyDown = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("j")}

func newTestTable(col int, reverse bool, filter string) *nodeTable {
	t := newNodeTable(newStyles())
	t.setSize(160, 40)
	t.sortCol, t.reverse, t.filter = col, reverse, filter
	return &t
}

func sameTable(a, b *nodeTable) bool {
	return slices.Equal(names(a), names(b)) && a.selected == b.selected && a.table.Cursor() == b.table.Cursor()
}

func names(t *nodeTable) []string {
	out := make([]string, len(t.visible))
	for i := range t.visible {
		out[i] = t.visible[i].Name
	}
	return out
}

// changeNode makes one change a fleet sees: a cordon, a runtime, a run that
// moves on, a node that goes or comes, or a heartbeat.
func changeNode(rng *rand.Rand, f *fleetstatus.Fleet, s fleetstatus.Snapshot) {
	n := &s.Nodes[rng.IntN(len(s.Nodes))]
	switch rng.IntN(6) {
	case 0:
		n.Spec.Unschedulable = !n.Spec.Unschedulable
	case 1:
		n.Status.NodeInfo.ContainerRuntimeVersion = []string{"docker://20.10.24", "cri-o://1.29.1", "containerd://2.1.0"}[rng.IntN(3)]
	case 2:
		steps := fleetstatus.StepNames()
		fst.WithState(migrate.State{RunID: "r", Phase: migrate.StateRunning, Step: steps[rng.IntN(len(steps))],
			Started: fst.Now.Add(-time.Duration(rng.IntN(3600)) * time.Second)})(n)
	case 3:
		f.DeleteNode(n.Name)
		return
	case 4:
		n.Status.Conditions[0].Status = []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse}[rng.IntN(2)]
	}
	f.SetNode(n)
}

// TestTableTick: the clock re-renders the runs in flight as a full refresh
// would.
func TestTableTick(t *testing.T) {
	f := fleetstatus.BuildFleet(fst.Large(300), nil)
	inc := newTestTable(0, false, "")
	inc.setData(f.Status().Items, fst.Now)
	later := fst.Now.Add(90 * time.Second)
	if !inc.tick(later) {
		t.Fatal("a tick with runs in flight changed nothing")
	}
	full := newTestTable(0, false, "")
	full.setData(f.Status().Items, later)
	if !slices.EqualFunc(inc.rows, full.rows, slices.Equal[table.Row]) {
		t.Error("rows after a tick differ from a full render")
	}
	if inc.tick(later) {
		t.Error("a second tick at the same time reported a change")
	}
}

// A filter that matches no node leaves bubbles' table cursor at -1; a
// status that then widens the name column (a node with a longer name joins)
// hands the table its rows again. It must not panic, and clearing the
// filter shows every node.
func TestNodeTableFilteredEmptyThenWiderNames(t *testing.T) {
	for _, first := range []string{"no-such-node", ""} {
		tbl := newTestTable(0, false, first)
		if first == "" {
			tbl.setData(nil, testNow)
		} else {
			tbl.setData(fleet().Items, testNow)
		}
		all := fleet().Items
		all[0].Name = "a-node-with-a-much-longer-name-" + all[0].Name
		tbl.setData(all, testNow)
		tbl.setData(all, testNow.Add(time.Second))
		tbl.update(keyDown)
		if first != "" && len(tbl.visible) != 0 {
			t.Errorf("filter %q: the table lists %d nodes, want none", first, len(tbl.visible))
		}
		tbl.filter = ""
		tbl.refresh(testNow)
		if got := len(tbl.visible); got != len(all) {
			t.Errorf("filter %q then none: the table lists %d nodes, want %d", first, got, len(all))
		}
		if v := tbl.table.View(); !strings.Contains(v, all[0].Name) {
			t.Errorf("filter %q then none: the table does not show %s:\n%s", first, all[0].Name, v)
		}
	}
}
