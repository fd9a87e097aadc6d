package inspect

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
)

// syntheticCluster has nodes Docker nodes with podsPerNode pods each, a
// quarter of them mounting /var/run, all owned by ReplicaSets.
func syntheticCluster(nodes, podsPerNode int) []runtime.Object {
	objs := make([]runtime.Object, 0, nodes*(podsPerNode+1))
	for i := range nodes {
		n := node(fmt.Sprintf("node-%04d", i), "docker://20.10.24", "v1.29.4")
		n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi")}
		objs = append(objs, &n)
		for j := range podsPerNode {
			p := pod(fmt.Sprintf("ns-%d", j%50), fmt.Sprintf("app-%d-%d", i, j), n.Name, func(p *corev1.Pod) {
				p.OwnerReferences = ctrl("ReplicaSet", fmt.Sprintf("rs-%d", j))
				p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
			})
			if j%4 == 0 {
				hostPath("/var/run")(&p)
			}
			objs = append(objs, &p)
		}
	}
	return objs
}

// BenchmarkPlan2000Nodes lists and analyses 2,000 nodes and 60,000 pods
// the way plan does: CollectFacts, then Plan.
func BenchmarkPlan2000Nodes(b *testing.B) {
	l, _, _ := fakeListers(b, syntheticCluster(2000, 30))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f, err := CollectFacts(ctx, l)
		if err != nil {
			b.Fatal(err)
		}
		p, err := f.Plan(nil, Options{Target: hostconf.TargetCRIO})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Nodes) != 2000 || len(f.pods) != 60000 {
			b.Fatalf("got %d nodes, %d pods", len(p.Nodes), len(f.pods))
		}
	}
}

// TestCollectMakesOneListPerKind guards the "no request per node or pod" rule.
func TestCollectMakesOneListPerKind(t *testing.T) {
	client := fake.NewClientset(syntheticCluster(20, 5)...)
	if _, err := CollectCluster(context.Background(), client); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, a := range client.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("unexpected %s %s", a.GetVerb(), a.GetResource().Resource)
		}
		counts[a.GetResource().Resource]++
	}
	for _, kind := range []string{"nodes", "pods", "poddisruptionbudgets", "replicasets", "jobs", "configmaps"} {
		if counts[kind] != 1 {
			t.Errorf("%s listed %d times, want 1", kind, counts[kind])
		}
	}
}

// BenchmarkBuildPlan2000Nodes is the analysis alone, without the lists.
func BenchmarkBuildPlan2000Nodes(b *testing.B) {
	l, _, _ := fakeListers(b, syntheticCluster(2000, 30))
	f, err := CollectFacts(context.Background(), l)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.Plan(nil, Options{Target: hostconf.TargetCRIO}); err != nil {
			b.Fatal(err)
		}
	}
}
