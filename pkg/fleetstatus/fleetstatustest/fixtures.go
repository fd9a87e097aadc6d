// Package fleetstatustest holds the fleets the status tests and benchmarks
// of fleetstatus and of the status view share.
package fleetstatustest

import (
	"encoding/json"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// Now is the clock of the fixtures.
var Now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// Namespace is the pod namespace the fixtures' Leases live in.
const Namespace = "crimig-system"

// NodeOpt changes a fixture Node.
type NodeOpt func(*corev1.Node)

// Node is a Ready node with the given container runtime.
func Node(name, runtime string, opts ...NodeOpt) corev1.Node {
	n := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}, Annotations: map[string]string{}},
		Status: corev1.NodeStatus{
			NodeInfo:   corev1.NodeSystemInfo{ContainerRuntimeVersion: runtime, KubeletVersion: "v1.29.15"},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(&n)
	}
	return n
}

// Cordoned marks the node unschedulable.
func Cordoned(n *corev1.Node) { n.Spec.Unschedulable = true }

// ControlPlane gives the node kubeadm's control-plane label.
func ControlPlane(n *corev1.Node) { n.Labels["node-role.kubernetes.io/control-plane"] = "" }

// NotReady sets the Ready condition to False.
func NotReady(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }

// WithState records a crimig run in the node's state annotation.
func WithState(s migrate.State) NodeOpt {
	return func(n *corev1.Node) {
		b, _ := json.Marshal(s)
		n.Annotations[migrate.AnnotationState] = string(b)
	}
}

// Fleet is the mix the goldens show: docker and cri-o nodes, one migrating,
// one failed and one cordoned by hand, with node-c's lock and a fleet run.
func Fleet() fleetstatus.Snapshot {
	return fleetstatus.Snapshot{
		Nodes: []corev1.Node{
			Node("cp-1", "docker://20.10.24", ControlPlane, Cordoned),
			Node("node-a", "docker://20.10.24"),
			Node("node-b", "cri-o://1.29.1", WithState(migrate.State{RunID: "r-0b1", From: "docker", To: "cri-o",
				Phase: migrate.StateSucceeded, Step: "uncordon", Started: Now.Add(-2 * time.Hour), Updated: Now.Add(-110 * time.Minute)})),
			Node("node-c", "docker://20.10.24", Cordoned, WithState(migrate.State{RunID: "r-0c2", From: "docker", To: "cri-o",
				Phase: migrate.StateRunning, Step: "install", CordonedByCrimig: true, Started: Now.Add(-192 * time.Second), Updated: Now.Add(-5 * time.Second)})),
			Node("node-d", "docker://20.10.24", Cordoned, NotReady, WithState(migrate.State{RunID: "r-0d3", From: "docker", To: "cri-o",
				Phase: migrate.StateFailed, Step: "configure", CordonedByCrimig: true, Started: Now.Add(-30 * time.Minute), Updated: Now.Add(-20 * time.Minute),
				LastError: "swap: crio did not start; docker restored"})),
		},
		Leases: []coordinationv1.Lease{Lease("crimig-node-node-c", "alice@laptop/r-0c2"), FleetLease("alice@laptop/fleet-7", FleetRun())},
	}
}

// FleetRun is the fleet run of the fixture: node-b done, node-d failed,
// node-c in the second of three waves and node-a still to come.
func FleetRun() *migrate.FleetProgress {
	return &migrate.FleetProgress{Waves: 3, Wave: 2, WaveWhy: "up to 1 at once", InFlight: []string{"node-c"}, Done: []string{"node-b"},
		Failed: []string{"node-d"}, Pending: []string{"node-a"}, Started: Now.Add(-2 * time.Hour), Updated: Now.Add(-192 * time.Second)}
}

// FleetLease is the fleet Lease with p in its annotation, if p is set.
func FleetLease(holder string, p *migrate.FleetProgress) coordinationv1.Lease {
	l := Lease(migrate.FleetLeaseName, holder)
	if p != nil {
		b, _ := json.Marshal(p)
		l.Annotations = map[string]string{migrate.AnnotationFleet: string(b)}
	}
	return l
}

// Lease is a Lease of the pod namespace held by holder, renewed ten seconds
// before Now for a minute.
func Lease(name, holder string) coordinationv1.Lease {
	renewed := metav1.NewMicroTime(Now.Add(-10 * time.Second))
	dur := int32(60)
	return coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, RenewTime: &renewed, LeaseDurationSeconds: &dur},
	}
}

// Large is a fleet of n nodes for benchmarks: most on docker, one in ten
// migrated to cri-o, one in 250 migrating.
func Large(n int) fleetstatus.Snapshot {
	var s fleetstatus.Snapshot
	for i := range n {
		name := fmt.Sprintf("node-%04d", i)
		switch {
		case i%10 == 0:
			s.Nodes = append(s.Nodes, Node(name, "cri-o://1.29.1", WithState(migrate.State{RunID: "r-" + name, From: "docker", To: "cri-o",
				Phase: migrate.StateSucceeded, Step: "uncordon", Started: Now.Add(-2 * time.Hour), Updated: Now.Add(-110 * time.Minute)})))
		case i%250 == 1:
			s.Nodes = append(s.Nodes, Node(name, "docker://20.10.24", Cordoned, WithState(migrate.State{RunID: "r-" + name, From: "docker", To: "cri-o",
				Phase: migrate.StateRunning, Step: "install", CordonedByCrimig: true, Started: Now.Add(-192 * time.Second), Updated: Now.Add(-5 * time.Second)})))
		default:
			s.Nodes = append(s.Nodes, Node(name, "docker://20.10.24"))
		}
	}
	return s
}
