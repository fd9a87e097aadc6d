package migrate

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

func fleetNodes(names ...string) []corev1.Node {
	var out []corev1.Node
	for _, n := range names {
		node := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{}}}
		if strings.HasPrefix(n, "cp") {
			node.Labels[inspect.LabelControlPlane] = ""
		}
		out = append(out, node)
	}
	return out
}

func webPod(node string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-" + node, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: node}}
}

func TestPlanWaves(t *testing.T) {
	webPDB := policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec:   policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}}
	nodes := fleetNodes("cp-1", "n1", "n2", "n3", "n4", "n5")
	tests := []struct {
		name string
		pods []corev1.Pod
		pdbs []policyv1.PodDisruptionBudget
		o    FleetOptions
		want [][]string
	}{
		{"waves of two, canary first, control plane last", nil, nil,
			FleetOptions{MaxUnavailable: 2, Canary: "n3", AllowControlPlane: true},
			[][]string{{"n3"}, {"n1", "n2"}, {"n4", "n5"}, {"cp-1"}}},
		{"a PDB allowing one disruption splits a wave", []corev1.Pod{webPod("n1"), webPod("n2")}, []policyv1.PodDisruptionBudget{webPDB},
			FleetOptions{MaxUnavailable: 3, AllowControlPlane: true},
			[][]string{{"n1", "n3", "n4"}, {"n2", "n5"}, {"cp-1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waves, err := PlanWaves(nodes, tt.pods, tt.pdbs, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, w := range waves {
				got = append(got, w.Nodes)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("waves (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := PlanWaves(nodes, nil, nil, FleetOptions{MaxUnavailable: 1}); err == nil || !strings.Contains(err.Error(), "--allow-control-plane") {
		t.Errorf("control plane without --allow-control-plane: %v", err)
	}
	if _, err := PlanWaves(nodes[1:], nil, nil, FleetOptions{MaxUnavailable: 1, Canary: "nope"}); err == nil {
		t.Error("an unknown canary must be refused")
	}
}

func TestMigrateFleetStopsAtFirstFailure(t *testing.T) {
	e, host, _ := newTestEngine(t)
	ctx := context.Background()
	for i := 2; i <= 3; i++ {
		n := testNode()
		n.Name = fmt.Sprintf("node-%d", i)
		if _, err := e.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	host.failStep = "install.sh"
	waves := []Wave{{Nodes: []string{"node-1"}, Why: "canary"}, {Nodes: []string{"node-2", "node-3"}, Why: "up to 2 at once"}}
	err := e.MigrateFleet(ctx, waves, FleetOptions{MaxUnavailable: 2, ContinueOnError: true})
	if err == nil || !strings.Contains(err.Error(), "node node-1") {
		t.Fatalf("err = %v", err)
	}
	for _, n := range []string{"node-2", "node-3"} {
		got, _ := e.Client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if _, ok := got.Annotations[AnnotationState]; ok {
			t.Errorf("%s was touched after the canary failed", n)
		}
	}
	host.failStep = ""
	if err := e.MigrateFleet(ctx, waves, FleetOptions{MaxUnavailable: 2}); err != nil {
		t.Fatalf("resumed fleet: %v", err)
	}
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		got, _ := e.Client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if st, _ := ReadState(got); st == nil || st.Phase != StateSucceeded {
			t.Errorf("%s: state %+v", n, st)
		}
	}
}
