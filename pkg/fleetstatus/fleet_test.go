package fleetstatus_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	fst "github.com/crimig/kubectl-crimig/pkg/fleetstatus/fleetstatustest"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// TestFleetEvents: a Fleet fed one object at a time ends where a Fleet
// built from the final objects starts, and each call says whether anything
// status shows changed: a heartbeat does not.
func TestFleetEvents(t *testing.T) {
	s := fst.Fleet()
	f := fleetstatus.NewFleet(nil)
	// Leases first: a lock that arrives before its node still shows.
	for i := range s.Leases {
		f.SetLease(&s.Leases[i])
	}
	for i := range s.Nodes {
		if !f.SetNode(&s.Nodes[i]) {
			t.Errorf("adding %s reported no change", s.Nodes[i].Name)
		}
	}
	assertSame(t, fleetstatus.BuildStatus(s, nil), f.Status())

	heartbeat := s.Nodes[1].DeepCopy()
	heartbeat.ResourceVersion = "2"
	heartbeat.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(fst.Now)
	heartbeat.Status.Images = []corev1.ContainerImage{{Names: []string{"registry.k8s.io/pause:3.9"}, SizeBytes: 1}}
	if f.SetNode(heartbeat) {
		t.Error("a heartbeat reported a change")
	}
	if f.SetLease(&s.Leases[0]) {
		t.Error("an unchanged Lease reported a change")
	}

	steps := []struct {
		name  string
		apply func() bool
	}{
		{"cordon node-a", func() bool { s.Nodes[1].Spec.Unschedulable = true; return f.SetNode(&s.Nodes[1]) }},
		{"node-a starts a run", func() bool {
			fst.WithState(migrate.State{RunID: "r-1", Phase: migrate.StateRunning, Step: "drain", Started: fst.Now})(&s.Nodes[1])
			return f.SetNode(&s.Nodes[1])
		}},
		{"node-a takes its lock", func() bool {
			s.Leases = append(s.Leases, fst.Lease(migrate.LeaseName("node-a"), "bob@ci/r-1"))
			return f.SetLease(&s.Leases[2])
		}},
		{"node-c releases its lock", func() bool { s.Leases = s.Leases[1:]; return f.DeleteLease(migrate.LeaseName("node-c")) }},
		{"the fleet run moves on", func() bool {
			p := fst.FleetRun()
			p.Wave = 3
			s.Leases[0] = fst.FleetLease("alice@laptop/fleet-7", p)
			return f.SetLease(&s.Leases[0])
		}},
		{"cp-1 goes", func() bool { s.Nodes = s.Nodes[1:]; return f.DeleteNode("cp-1") }},
		{"a node arrives", func() bool {
			s.Nodes = append(s.Nodes, fst.Node("node-0", "containerd://2.1.0"))
			return f.SetNode(&s.Nodes[len(s.Nodes)-1])
		}},
		{"the Leases become unreadable", func() bool { s.LeaseErr = errors.New("forbidden"); return f.SetLeaseErr(s.LeaseErr) }},
	}
	for _, step := range steps {
		if !step.apply() {
			t.Errorf("%s: no change reported", step.name)
		}
		assertSame(t, fleetstatus.BuildStatus(s, nil), f.Status())
	}
	if f.DeleteNode("cp-1") || f.DeleteLease("no-such-lease") || f.SetLeaseErr(errors.New("forbidden")) {
		t.Error("a change that changes nothing reported a change")
	}
}

func assertSame(t *testing.T, want, got *fleetstatus.Status) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status fed one object at a time differs (-built +fed):\n%s", diff)
	}
}

// TestFleetNames: a Fleet for some nodes ignores the others.
func TestFleetNames(t *testing.T) {
	s := fst.Fleet()
	f := fleetstatus.NewFleet([]string{"node-b", "node-d"})
	for i := range s.Nodes {
		f.SetNode(&s.Nodes[i])
	}
	st := f.Status()
	if len(st.Items) != 2 || st.Items[0].Name != "node-b" || st.Items[1].Name != "node-d" {
		t.Errorf("rows: %+v", st.Items)
	}
	if got := fleetstatus.FormatCounts(st.Counts); got != "cri-o 1 · docker 1 · migrating 0 · failed 1" {
		t.Errorf("counts of the named nodes: %s", got)
	}
}

// TestSlimNode: the informer's slim Node gives the same row as the Node.
func TestSlimNode(t *testing.T) {
	for _, n := range fst.Fleet().Nodes {
		n.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}
		n.Annotations["kubeadm.alpha.kubernetes.io/cri-socket"] = "unix:///var/run/cri-dockerd.sock"
		n.Status.Images = []corev1.ContainerImage{{Names: []string{"registry.k8s.io/pause:3.9"}}}
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: metav1.NewTime(time.Now())})
		slim, err := fleetstatus.SlimNode(&n)
		if err != nil {
			t.Fatal(err)
		}
		sn := slim.(*corev1.Node)
		if len(sn.ManagedFields) != 0 || len(sn.Status.Images) != 0 || len(sn.Status.Conditions) != 1 {
			t.Errorf("%s: slim node keeps %+v", n.Name, sn)
		}
		full := fleetstatus.BuildStatus(fleetstatus.Snapshot{Nodes: []corev1.Node{n}}, nil)
		fromSlim := fleetstatus.BuildStatus(fleetstatus.Snapshot{Nodes: []corev1.Node{*sn}}, nil)
		if diff := cmp.Diff(full, fromSlim); diff != "" {
			t.Errorf("%s: row from the slim node differs (-full +slim):\n%s", n.Name, diff)
		}
	}
}
