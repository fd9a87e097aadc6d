package fleetstatus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	fst "github.com/crimig/kubectl-crimig/pkg/fleetstatus/fleetstatustest"
)

// TestWatchSource: the first status holds the cluster, and a Node or Lease
// change arrives as a new status well within a second, with no polling.
func TestWatchSource(t *testing.T) {
	f := fst.Fleet()
	client := fake.NewClientset(&f.Nodes[0], &f.Nodes[1], &f.Leases[0])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := fleetstatus.NewWatchSource(client, fst.Namespace, nil)
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := <-src.Updates()
	if len(first.Items) != 2 || first.Items[0].Name != "cp-1" {
		t.Fatalf("first status: %d nodes", len(first.Items))
	}

	n := f.Nodes[1].DeepCopy()
	n.Spec.Unschedulable = true
	start := time.Now()
	if _, err := client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, src, func(s *fleetstatus.Status) bool { return len(s.Items) == 2 && s.Items[1].Cordoned })
	t.Logf("a node update arrived after %s", time.Since(start))

	lease := f.Leases[1]
	if _, err := client.CoordinationV1().Leases(fst.Namespace).Create(ctx, &lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := waitStatus(t, src, func(s *fleetstatus.Status) bool { return s.FleetLock != nil })
	if s.FleetLock.Holder != "alice@laptop/fleet-7" {
		t.Errorf("fleet lock: %+v", s.FleetLock)
	}

	if err := client.CoreV1().Nodes().Delete(ctx, "cp-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, src, func(s *fleetstatus.Status) bool { return len(s.Items) == 1 && s.Items[0].Name == "node-a" })

	cancel()
	for range src.Updates() {
	}
}

func waitStatus(t *testing.T, src *fleetstatus.WatchSource, ok func(*fleetstatus.Status) bool) *fleetstatus.Status {
	t.Helper()
	timeout := time.After(time.Second)
	for {
		select {
		case s := <-src.Updates():
			if ok(s) {
				return s
			}
		case <-timeout:
			t.Fatal("no matching status within a second")
		}
	}
}

// TestBuildStatusFleet: the fleet Lease's progress is read; an unreadable
// one is a warning; a Lease without it (an older crimig) only names the
// holder; an expired one says the run died.
func TestBuildStatusFleet(t *testing.T) {
	st := fleetstatus.BuildStatus(fst.Fleet(), nil)
	if st.FleetLock == nil || len(st.Warnings) != 0 {
		t.Fatalf("fleet lock %+v, warnings %v", st.FleetLock, st.Warnings)
	}
	if diff := cmp.Diff(fst.FleetRun(), st.FleetLock.Fleet); diff != "" {
		t.Errorf("fleet progress (-want +got):\n%s", diff)
	}
	want := "fleet run: alice@laptop/fleet-7 · wave 2/3 · in flight: node-c · 1 done, 1 failed (node-d), 1 waiting"
	if got := fleetstatus.FormatFleetRun(st.FleetLock, fst.Now); got != want {
		t.Errorf("FormatFleetRun = %q, want %q", got, want)
	}
	if got := fleetstatus.FormatFleetRun(st.FleetLock, fst.Now.Add(time.Hour)); !strings.Contains(got, "lock expired") {
		t.Errorf("an expired fleet Lease: %q", got)
	}

	s := fst.Fleet()
	s.Leases[1] = fst.FleetLease("bob@ci/fleet", nil)
	st = fleetstatus.BuildStatus(s, nil)
	if st.FleetLock.Fleet != nil || fleetstatus.FormatFleetRun(st.FleetLock, fst.Now) != "fleet run: bob@ci/fleet" {
		t.Errorf("a Lease without progress: %+v", st.FleetLock)
	}

	s.Leases[1].Annotations = map[string]string{"crimig.io/fleet": "{not json"}
	st = fleetstatus.BuildStatus(s, nil)
	if st.FleetLock == nil || st.FleetLock.Fleet != nil || len(st.Items) != 5 ||
		len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "crimig.io/fleet is not valid JSON") {
		t.Errorf("an unreadable annotation: lock %+v, warnings %v", st.FleetLock, st.Warnings)
	}
}
