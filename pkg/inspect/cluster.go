package inspect

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"
)

// pageSize keeps each list response small on a 2,000-node cluster.
const pageSize = 500

// ClusterFacts is everything plan reads from the API server: one paginated
// list per kind, never a request per node or per pod.
type ClusterFacts struct {
	Nodes       []corev1.Node
	Pods        []corev1.Pod
	PDBs        []policyv1.PodDisruptionBudget
	ReplicaSets []appsv1.ReplicaSet
	Jobs        []batchv1.Job
	// Workload templates, so that a CronJob between runs or a workload
	// scaled to zero is still checked.
	DaemonSets   []appsv1.DaemonSet
	Deployments  []appsv1.Deployment
	StatefulSets []appsv1.StatefulSet
	CronJobs     []batchv1.CronJob
	// ConfigMaps holds every ConfigMap, for kubelet-config, kubeadm-config and
	// the log agents' parser configuration.
	ConfigMaps []corev1.ConfigMap
}

type lister func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error)

// eachPage walks a paginated list and hands every item to fn.
func eachPage(ctx context.Context, kind string, list lister, fn func(runtime.Object) error) error {
	p := pager.New(pager.ListPageFunc(list))
	p.PageSize = pageSize
	if err := p.EachListItem(ctx, metav1.ListOptions{}, fn); err != nil {
		return fmt.Errorf("listing %s: %w", kind, err)
	}
	return nil
}

// CollectCluster lists the kinds plan needs.
func CollectCluster(ctx context.Context, c kubernetes.Interface) (*ClusterFacts, error) {
	f := &ClusterFacts{}
	steps := []struct {
		kind string
		list lister
		add  func(runtime.Object)
	}{
		{"nodes", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Nodes().List(ctx, o)
		}, func(o runtime.Object) { f.Nodes = append(f.Nodes, *o.(*corev1.Node)) }},
		{"pods", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Pods("").List(ctx, o)
		}, func(o runtime.Object) { f.Pods = append(f.Pods, *o.(*corev1.Pod)) }},
		{"poddisruptionbudgets", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.PolicyV1().PodDisruptionBudgets("").List(ctx, o)
		}, func(o runtime.Object) { f.PDBs = append(f.PDBs, *o.(*policyv1.PodDisruptionBudget)) }},
		{"replicasets", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().ReplicaSets("").List(ctx, o)
		}, func(o runtime.Object) { f.ReplicaSets = append(f.ReplicaSets, *o.(*appsv1.ReplicaSet)) }},
		{"jobs", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.BatchV1().Jobs("").List(ctx, o)
		}, func(o runtime.Object) { f.Jobs = append(f.Jobs, *o.(*batchv1.Job)) }},
		{"daemonsets", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().DaemonSets("").List(ctx, o)
		}, func(o runtime.Object) { f.DaemonSets = append(f.DaemonSets, *o.(*appsv1.DaemonSet)) }},
		{"deployments", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().Deployments("").List(ctx, o)
		}, func(o runtime.Object) { f.Deployments = append(f.Deployments, *o.(*appsv1.Deployment)) }},
		{"statefulsets", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().StatefulSets("").List(ctx, o)
		}, func(o runtime.Object) { f.StatefulSets = append(f.StatefulSets, *o.(*appsv1.StatefulSet)) }},
		{"cronjobs", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.BatchV1().CronJobs("").List(ctx, o)
		}, func(o runtime.Object) { f.CronJobs = append(f.CronJobs, *o.(*batchv1.CronJob)) }},
		{"configmaps", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().ConfigMaps("").List(ctx, o)
		}, func(o runtime.Object) { f.ConfigMaps = append(f.ConfigMaps, *o.(*corev1.ConfigMap)) }},
	}
	for _, s := range steps {
		add := s.add
		if err := eachPage(ctx, s.kind, s.list, func(o runtime.Object) error { add(o); return nil }); err != nil {
			return nil, err
		}
	}
	return f, nil
}
