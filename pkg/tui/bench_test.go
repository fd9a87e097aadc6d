package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

const benchNodes = 2000

// benchFleet is a fleet of n nodes: most on docker, one in ten migrated,
// a few in flight.
func benchFleet(n int) Snapshot {
	var s Snapshot
	for i := range n {
		name := fmt.Sprintf("node-%04d", i)
		switch {
		case i%10 == 0:
			s.Nodes = append(s.Nodes, testNode(name, "cri-o://1.29.1", withState(migrate.State{RunID: "r-" + name, From: "docker", To: "cri-o",
				Phase: migrate.StateSucceeded, Step: "uncordon", Started: testNow.Add(-2 * time.Hour), Updated: testNow.Add(-110 * time.Minute)})))
		case i%250 == 1:
			s.Nodes = append(s.Nodes, testNode(name, "docker://20.10.24", cordoned, withState(migrate.State{RunID: "r-" + name, From: "docker", To: "cri-o",
				Phase: migrate.StateRunning, Step: "install", CordonedByCrimig: true, Started: testNow.Add(-192 * time.Second), Updated: testNow.Add(-5 * time.Second)})))
		default:
			s.Nodes = append(s.Nodes, testNode(name, "docker://20.10.24"))
		}
	}
	return s
}

// BenchmarkSourceUpdates: ten Node updates that each change a row of a
// 2,000-node fleet, each delivered as a new status.
func BenchmarkSourceUpdates(b *testing.B) {
	s := benchFleet(benchNodes)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for i := range s.Nodes {
		if err := idx.Add(&s.Nodes[i]); err != nil {
			b.Fatal(err)
		}
	}
	lister := corev1listers.NewNodeLister(idx)
	noLeases := func(labels.Selector) ([]*coordinationv1.Lease, error) { return nil, nil }
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for k := range 10 {
			n := s.Nodes[(i*10+k)%benchNodes].DeepCopy()
			n.Spec.Unschedulable = i%2 == 0
			if err := idx.Update(n); err != nil {
				b.Fatal(err)
			}
			_ = BuildStatus(snapshotFromListers(lister.List, noLeases, nil), nil)
		}
	}
}

// BenchmarkStatusUpdate: the view takes a status in which one row changed
// and renders it.
func BenchmarkStatusUpdate(b *testing.B) {
	m := benchModel(b)
	s := benchFleet(benchNodes)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Nodes[i%benchNodes].Spec.Unschedulable = i%2 == 0
		m.applySnapshot(s)
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

func benchModel(b *testing.B) *StatusModel {
	b.Helper()
	m := NewStatus(StatusConfig{Source: newFakeSource(), Now: fixedNow})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	m.applySnapshot(benchFleet(benchNodes))
	return m
}
