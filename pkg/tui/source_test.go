package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

// TestBuildStatusFleet: the fleet Lease's progress is read; an unreadable
// one is a warning; a Lease without it (an older crimig) only names the
// holder; an expired one says the run died.
func TestBuildStatusFleet(t *testing.T) {
	st := BuildStatus(fleet(), nil)
	if st.FleetLock == nil || len(st.Warnings) != 0 {
		t.Fatalf("fleet lock %+v, warnings %v", st.FleetLock, st.Warnings)
	}
	if diff := cmp.Diff(fleetRun(), st.FleetLock.Fleet); diff != "" {
		t.Errorf("fleet progress (-want +got):\n%s", diff)
	}
	want := "fleet run: alice@laptop/fleet-7 · wave 2/3 · in flight: node-c · 1 done, 1 failed (node-d), 1 waiting"
	if got := FormatFleetRun(st.FleetLock, testNow); got != want {
		t.Errorf("FormatFleetRun = %q, want %q", got, want)
	}
	if got := FormatFleetRun(st.FleetLock, testNow.Add(time.Hour)); !strings.Contains(got, "lock expired") {
		t.Errorf("an expired fleet Lease: %q", got)
	}

	s := fleet()
	s.Leases[1] = fleetLease("bob@ci/fleet", nil)
	st = BuildStatus(s, nil)
	if st.FleetLock.Fleet != nil || FormatFleetRun(st.FleetLock, testNow) != "fleet run: bob@ci/fleet" {
		t.Errorf("a Lease without progress: %+v", st.FleetLock)
	}

	s.Leases[1].Annotations = map[string]string{"crimig.io/fleet": "{not json"}
	st = BuildStatus(s, nil)
	if st.FleetLock == nil || st.FleetLock.Fleet != nil || len(st.Nodes) != 5 ||
		len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "crimig.io/fleet is not valid JSON") {
		t.Errorf("an unreadable annotation: lock %+v, warnings %v", st.FleetLock, st.Warnings)
	}
}
