package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	fst "github.com/crimig/kubectl-crimig/pkg/fleetstatus/fleetstatustest"
)

const benchNodes = 2000

// BenchmarkStatusUpdate: the view takes a status in which one row, anywhere
// in the fleet, changed, and renders it.
func BenchmarkStatusUpdate(b *testing.B) {
	benchUpdates(b, func(i int) int { return i * 31 % benchNodes })
}

// BenchmarkStatusUpdateShown: as BenchmarkStatusUpdate, with the row among
// those on screen.
func BenchmarkStatusUpdateShown(b *testing.B) {
	benchUpdates(b, func(i int) int { return i % 20 })
}

func benchUpdates(b *testing.B, node func(int) int) {
	m := benchModel(b)
	s := fst.Large(benchNodes)
	f := fleetstatus.BuildFleet(s, nil)
	// The statuses the source would send, built beforehand: the source's
	// cost is its own benchmark.
	sts := make([]*fleetstatus.Status, 64)
	for i := range sts {
		n := &s.Nodes[node(i)]
		n.Spec.Unschedulable = !n.Spec.Unschedulable
		f.SetNode(n)
		sts[i] = f.Status()
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.applyStatus(sts[i%len(sts)])
		_ = m.View()
	}
}

// BenchmarkStatusView: one render of a 2,000-node table.
func BenchmarkStatusView(b *testing.B) {
	m := benchModel(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkStatusTick: the clock moves the elapsed time of the runs in
// flight.
func BenchmarkStatusTick(b *testing.B) {
	m := benchModel(b)
	b.ReportAllocs()
	for b.Loop() {
		m.Update(clockMsg(fst.Now))
		_ = m.View()
	}
}

func benchModel(b *testing.B) *StatusModel {
	b.Helper()
	m := NewStatus(StatusConfig{Source: newFakeSource(), Now: fixedNow})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	m.applyStatus(fleetstatus.BuildStatus(fst.Large(benchNodes), nil))
	return m
}
