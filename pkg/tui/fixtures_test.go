package tui

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// Goldens are rendered without colour so that they do not depend on the
// terminal running the tests.
func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

type nodeOpt func(*corev1.Node)

func testNode(name, runtime string, opts ...nodeOpt) corev1.Node {
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

func cordoned(n *corev1.Node) { n.Spec.Unschedulable = true }

func controlPlane(n *corev1.Node) { n.Labels["node-role.kubernetes.io/control-plane"] = "" }

func notReady(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }

func withState(s migrate.State) nodeOpt {
	return func(n *corev1.Node) {
		b, _ := json.Marshal(s)
		n.Annotations[migrate.AnnotationState] = string(b)
	}
}

// fleet is the mix the goldens show: docker and cri-o nodes, one migrating,
// one failed and one cordoned by hand.
func fleet() Snapshot {
	return Snapshot{
		Nodes: []corev1.Node{
			testNode("cp-1", "docker://20.10.24", controlPlane, cordoned),
			testNode("node-a", "docker://20.10.24"),
			testNode("node-b", "cri-o://1.29.1", withState(migrate.State{RunID: "r-0b1", From: "docker", To: "cri-o",
				Phase: migrate.StateSucceeded, Step: "uncordon", Started: testNow.Add(-2 * time.Hour), Updated: testNow.Add(-110 * time.Minute)})),
			testNode("node-c", "docker://20.10.24", cordoned, withState(migrate.State{RunID: "r-0c2", From: "docker", To: "cri-o",
				Phase: migrate.StateRunning, Step: "install", CordonedByCrimig: true, Started: testNow.Add(-192 * time.Second), Updated: testNow.Add(-5 * time.Second)})),
			testNode("node-d", "docker://20.10.24", cordoned, notReady, withState(migrate.State{RunID: "r-0d3", From: "docker", To: "cri-o",
				Phase: migrate.StateFailed, Step: "configure", CordonedByCrimig: true, Started: testNow.Add(-30 * time.Minute), Updated: testNow.Add(-20 * time.Minute),
				LastError: "swap: crio did not start; docker restored"})),
		},
		Leases: []coordinationv1.Lease{lease("crimig-node-node-c", "alice@laptop/r-0c2"), fleetLease("alice@laptop/fleet-7", fleetRun())},
	}
}

// fleetRun is the fleet run of the fixture: node-b done, node-d failed,
// node-c in the second of three waves and node-a still to come.
func fleetRun() *migrate.FleetProgress {
	return &migrate.FleetProgress{Waves: 3, Wave: 2, WaveWhy: "up to 1 at once", InFlight: []string{"node-c"}, Done: []string{"node-b"},
		Failed: []string{"node-d"}, Pending: []string{"node-a"}, Started: testNow.Add(-2 * time.Hour), Updated: testNow.Add(-192 * time.Second)}
}

// fleetLease is the fleet Lease with p in its annotation, if p is set.
func fleetLease(holder string, p *migrate.FleetProgress) coordinationv1.Lease {
	l := lease(FleetLeaseName, holder)
	if p != nil {
		b, _ := json.Marshal(p)
		l.Annotations = map[string]string{migrate.AnnotationFleet: string(b)}
	}
	return l
}

func lease(name, holder string) coordinationv1.Lease {
	renewed := metav1.NewMicroTime(testNow.Add(-10 * time.Second))
	dur := int32(60)
	return coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "crimig-system"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, RenewTime: &renewed, LeaseDurationSeconds: &dur},
	}
}

// fakeSource is a Source the test feeds by hand.
type fakeSource struct{ ch chan Snapshot }

func newFakeSource() *fakeSource               { return &fakeSource{ch: make(chan Snapshot, 4)} }
func (f *fakeSource) Updates() <-chan Snapshot { return f.ch }
