package inspect

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
)

// richCluster is fixtureCluster plus a synthetic fleet with every case the
// plan reads from the cluster: owners through ReplicaSets and Jobs, budgets
// at and above zero, mirror and DaemonSet pods with images (one no image
// reference), init containers, finished and unscheduled pods, nodes not
// Ready, on containerd and cordoned, and workload templates.
func richCluster() []runtime.Object {
	cf := fixtureCluster()
	var objs []runtime.Object
	for i := range cf.Nodes {
		objs = append(objs, &cf.Nodes[i])
	}
	for i := range cf.Pods {
		objs = append(objs, &cf.Pods[i])
	}
	for i := range cf.PDBs {
		objs = append(objs, &cf.PDBs[i])
	}
	for i := range cf.ReplicaSets {
		objs = append(objs, &cf.ReplicaSets[i])
	}
	for i := range cf.Jobs {
		objs = append(objs, &cf.Jobs[i])
	}
	for i := range cf.CronJobs {
		objs = append(objs, &cf.CronJobs[i])
	}
	for i := range cf.ConfigMaps {
		objs = append(objs, &cf.ConfigMaps[i])
	}
	objs = append(objs, syntheticCluster(12, 6)...)
	notReady := node("node-nr", "docker://24.0.7", "v1.28.2", func(n *corev1.Node) {
		n.Status.Conditions[0].Status = corev1.ConditionFalse
		n.Annotations[AnnotationCRISocket] = "unix:///var/run/cri-dockerd.sock"
	})
	containerd := node("node-ctr", "containerd://1.7.2", "v1.29.4")
	objs = append(objs, &notReady, &containerd)
	for i := range 12 {
		nodeName := fmt.Sprintf("node-%04d", i)
		ds := pod("kube-system", "proxy-"+nodeName, nodeName, func(p *corev1.Pod) {
			p.OwnerReferences = ctrl("DaemonSet", "kube-proxy")
			p.Spec.Containers[0].Image = "registry.k8s.io/kube-proxy:v1.29.4"
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Env: []corev1.EnvVar{{Name: "DOCKER_HOST", Value: "tcp://docker:2375"}}}}
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
		})
		mirror := pod("kube-system", "etcd-"+nodeName, nodeName, func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
			p.Spec.Containers[0].Image = "registry.k8s.io/etcd:3.5.9-0"
			if i == 3 {
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "bad", Image: "-bad image"})
			}
		})
		done := pod("batch", fmt.Sprintf("done-%d", i), nodeName, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.OwnerReferences = ctrl("Job", "report-1")
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("60")}
		})
		labelled := pod("ns-1", fmt.Sprintf("api-%d", i), nodeName, func(p *corev1.Pod) {
			p.OwnerReferences = ctrl("ReplicaSet", "api-7d9")
			p.Labels = map[string]string{"app": "api", "tier": "front"}
			p.Spec.Volumes = []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "lib", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/docker/containers"}}}}
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("1Gi")}
		})
		objs = append(objs, &ds, &mirror, &done, &labelled)
	}
	huge := pod("ns-3", "huge", "node-0005", func(p *corev1.Pod) {
		p.OwnerReferences = ctrl("ReplicaSet", "rs-3")
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("5000Gi")}
	})
	promtail := pod("logging", "promtail-1", "node-0006", func(p *corev1.Pod) {
		p.OwnerReferences = ctrl("DaemonSet", "promtail")
		p.Spec.Containers[0].Image = "grafana/promtail:2.9"
		p.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "big"}}}}}
	})
	objs = append(objs, &huge, &promtail)
	pending := pod("ns-2", "pending", "", func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending; p.Spec.Containers[0].Image = "alpine" })
	objs = append(objs, &pending)
	objs = append(objs,
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-1", Name: "api-7d9", OwnerReferences: ctrl("Deployment", "api")}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-2", Name: "rs-2", OwnerReferences: ctrl("Deployment", "two")}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-3", Name: "rs-3"}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "batch", Name: "report-1", OwnerReferences: ctrl("CronJob", "report")}},
		&policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns-1", Name: "api"},
			Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}},
			Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0, ExpectedPods: 12, CurrentHealthy: 11},
		},
		&policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns-1", Name: "api-front"},
			Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front"}}}}},
			Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1, ExpectedPods: 12, CurrentHealthy: 12},
		},
		&policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-1", Name: "everything"},
			Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{}}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-4", Name: "builder"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Volumes:    []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock"}}}},
				Containers: []corev1.Container{{Name: "c", Image: "docker:24"}},
			}}}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-5", Name: "kafka"},
			Spec: appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "c", Image: "quay.io/kafka:3", Env: []corev1.EnvVar{{Name: "DOCKER_HOST", Value: "tcp://x"}}}},
			}}}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-proxy"},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/kube-proxy:v1.29.4"}},
			}}}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubelet-config"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-1", Name: "big"}, Data: map[string]string{"x": "y"}},
	)
	return objs
}

// goldenPlans are the plans of richCluster the golden file holds: every
// node without and with host facts, and two nodes.
func goldenPlans(t *testing.T, plan func(hosts map[string]HostResult, o Options) (*Plan, error)) []byte {
	t.Helper()
	hosts := map[string]HostResult{"node-1": fixtureHost(), "node-0002": fixtureHost()}
	var plans []*Plan
	for _, c := range []struct {
		hosts map[string]HostResult
		o     Options
	}{
		{nil, Options{Target: hostconf.TargetCRIO}},
		{hosts, Options{Target: hostconf.TargetContainerd}},
		{nil, Options{Target: hostconf.TargetCRIO, Nodes: []string{"node-1", "node-0003"}}},
	} {
		p, err := plan(c.hosts, c.o)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p)
	}
	b, err := json.MarshalIndent(plans, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// TestPlanGolden pins the plan of richCluster as CollectCluster and
// BuildPlan make it.
func TestPlanGolden(t *testing.T) {
	cf, err := CollectCluster(context.Background(), fake.NewClientset(richCluster()...))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "plan-rich.json", goldenPlans(t, func(hosts map[string]HostResult, o Options) (*Plan, error) {
		return BuildPlan(cf, hosts, o)
	}))
}

// CollectCluster with kinds lists only those, as migrate --fleet asks
// (nodes, pods, budgets), and refuses a kind it does not know.
func TestCollectClusterKinds(t *testing.T) {
	client := fake.NewClientset(richCluster()...)
	all, err := CollectCluster(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	some, err := CollectCluster(context.Background(), client, "nodes", "pods", "poddisruptionbudgets")
	if err != nil {
		t.Fatal(err)
	}
	if len(some.Nodes) != len(all.Nodes) || len(some.Pods) != len(all.Pods) || len(some.PDBs) != len(all.PDBs) {
		t.Errorf("asked kinds: %d nodes, %d pods, %d budgets; want %d, %d, %d",
			len(some.Nodes), len(some.Pods), len(some.PDBs), len(all.Nodes), len(all.Pods), len(all.PDBs))
	}
	if len(all.ConfigMaps) == 0 || len(all.DaemonSets) == 0 {
		t.Fatal("richCluster has no ConfigMaps or DaemonSets: the test shows nothing")
	}
	if len(some.ConfigMaps) != 0 || len(some.DaemonSets) != 0 {
		t.Errorf("kinds not asked for were listed: %d ConfigMaps, %d DaemonSets", len(some.ConfigMaps), len(some.DaemonSets))
	}
	if _, err := CollectCluster(context.Background(), client, "node"); err == nil || !strings.Contains(err.Error(), `"node"`) {
		t.Errorf("unknown kind: err = %v, want one naming it", err)
	}
}
