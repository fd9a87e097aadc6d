package tui

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestWatchSource: the first snapshot holds the cluster, and a Node or
// Lease change arrives as a new snapshot well within a second, with no
// polling.
func TestWatchSource(t *testing.T) {
	f := fleet()
	client := fake.NewClientset(&f.Nodes[0], &f.Nodes[1], &f.Leases[0])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := NewWatchSource(client, "crimig-system")
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := <-src.Updates()
	if len(first.Nodes) != 2 || first.Nodes[0].Name != "cp-1" {
		t.Fatalf("first snapshot: %d nodes", len(first.Nodes))
	}

	n := f.Nodes[1].DeepCopy()
	n.Spec.Unschedulable = true
	start := time.Now()
	if _, err := client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, src, func(s Snapshot) bool { return len(s.Nodes) == 2 && s.Nodes[1].Spec.Unschedulable })
	t.Logf("a node update arrived after %s", time.Since(start))

	lease := f.Leases[1]
	if _, err := client.CoordinationV1().Leases("crimig-system").Create(ctx, &lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := waitSnapshot(t, src, func(s Snapshot) bool { return len(s.Leases) == 2 })
	if st := BuildStatus(s, nil); st.FleetLock == nil || st.FleetLock.Holder != "alice@laptop/fleet-7" {
		t.Errorf("fleet lock: %+v", st.FleetLock)
	}

	cancel()
	for range src.Updates() {
	}
}

func waitSnapshot(t *testing.T, src *WatchSource, ok func(Snapshot) bool) Snapshot {
	t.Helper()
	timeout := time.After(time.Second)
	for {
		select {
		case s := <-src.Updates():
			if ok(s) {
				return s
			}
		case <-timeout:
			t.Fatal("no matching snapshot within a second")
		}
	}
}
