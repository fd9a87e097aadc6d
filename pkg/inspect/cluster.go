package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
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

// listerOf makes a lister of a typed client's List method.
func listerOf[L runtime.Object](list func(context.Context, metav1.ListOptions) (L, error)) lister {
	return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return list(ctx, o) }
}

// eachPage walks a paginated list and hands every item to fn.
func eachPage(ctx context.Context, kind string, list lister, fn func(runtime.Object) error) error {
	p := pager.New(pager.ListPageFunc(list))
	p.PageSize = pageSize
	if err := p.EachListItem(ctx, metav1.ListOptions{}, fn); err != nil {
		return fmt.Errorf("listing %s: %w", kind, err)
	}
	return nil
}

// appendTo hands a list's items, decoded as T, to the end of *s.
func appendTo[T any, P interface {
	*T
	runtime.Object
}](s *[]T) func(runtime.Object) {
	return func(o runtime.Object) { *s = append(*s, *o.(P)) }
}

// CollectCluster lists the kinds plan needs, whole, page by page; with
// kinds (resource names: "nodes", "pods", ...), only those. Plan itself
// reads the cluster with CollectFacts, which keeps only what it uses.
func CollectCluster(ctx context.Context, c kubernetes.Interface, kinds ...string) (*ClusterFacts, error) {
	f := &ClusterFacts{}
	type step struct {
		kind string
		list lister
		add  func(runtime.Object)
	}
	steps := []step{
		{"nodes", listerOf(c.CoreV1().Nodes().List), appendTo(&f.Nodes)},
		{"pods", listerOf(c.CoreV1().Pods("").List), appendTo(&f.Pods)},
		{"poddisruptionbudgets", listerOf(c.PolicyV1().PodDisruptionBudgets("").List), appendTo(&f.PDBs)},
		{"replicasets", listerOf(c.AppsV1().ReplicaSets("").List), appendTo(&f.ReplicaSets)},
		{"jobs", listerOf(c.BatchV1().Jobs("").List), appendTo(&f.Jobs)},
		{"daemonsets", listerOf(c.AppsV1().DaemonSets("").List), appendTo(&f.DaemonSets)},
		{"deployments", listerOf(c.AppsV1().Deployments("").List), appendTo(&f.Deployments)},
		{"statefulsets", listerOf(c.AppsV1().StatefulSets("").List), appendTo(&f.StatefulSets)},
		{"cronjobs", listerOf(c.BatchV1().CronJobs("").List), appendTo(&f.CronJobs)},
		{"configmaps", listerOf(c.CoreV1().ConfigMaps("").List), appendTo(&f.ConfigMaps)},
	}
	for _, k := range kinds {
		if !slices.ContainsFunc(steps, func(s step) bool { return s.kind == k }) {
			return nil, fmt.Errorf("CollectCluster: %q is not a kind plan lists", k)
		}
	}
	for _, s := range steps {
		if len(kinds) > 0 && !slices.Contains(kinds, s.kind) {
			continue
		}
		add := s.add
		if err := eachPage(ctx, s.kind, s.list, func(o runtime.Object) error { add(o); return nil }); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Listers are the clients CollectFacts lists with: Typed for objects whose
// spec or status plan reads (ask it for protobuf: see ProtobufConfig),
// Metadata for those it needs only the owner references of, and PodStream,
// when set, for the pods: one protobuf list read as a stream (see
// PodListStream); without it pods are listed page by page with Typed.
type Listers struct {
	Typed     kubernetes.Interface
	Metadata  metadata.Interface
	PodStream func(ctx context.Context) (io.ReadCloser, error)
}

// Page sizes of CollectFacts: pods are the bulk, so their pages (without a
// PodStream) stay small enough to be reduced while the next one is read;
// the other kinds are few.
const (
	podPageSize   = 500
	otherPageSize = 1000
)

// ProtobufConfig returns a copy of cfg that asks for protobuf, which the API
// server encodes and client-go decodes several times faster than JSON. All
// the kinds plan lists are built in, so no JSON fallback is needed.
func ProtobufConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = runtime.ContentTypeProtobuf
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return c
}

// CollectFacts lists the kinds plan needs, all at once, and reduces every
// object to Facts as it arrives (pods one by one from the stream, the other
// kinds page by page): memory grows with what plan keeps, not with the size
// of the listed objects.
func CollectFacts(ctx context.Context, l Listers) (*Facts, error) {
	f := newFacts()
	g, ctx := errgroup.WithContext(ctx)
	typed := func(kind string, pageSize int64, list lister, add func(runtime.Object)) {
		g.Go(func() error {
			return streamPages(ctx, kind, pageSize, list, func(o runtime.Object) error { add(o); return nil })
		})
	}
	c := l.Typed
	podIn := newInterner()
	addPod := func(p *corev1.Pod) { f.pods = append(f.pods, podIn.reducePod(p)) }
	listPods := listerOf(c.CoreV1().Pods("").List)
	g.Go(func() error {
		if l.PodStream != nil {
			err := streamPods(ctx, l.PodStream, addPod)
			if !errors.Is(err, errNotProtobuf) {
				return err
			}
		}
		return streamPages(ctx, "pods", podPageSize, listPods, func(o runtime.Object) error { addPod(o.(*corev1.Pod)); return nil })
	})
	typed("nodes", otherPageSize, listerOf(c.CoreV1().Nodes().List), func(o runtime.Object) { f.Nodes = append(f.Nodes, slimNode(o.(*corev1.Node))) })
	typed("poddisruptionbudgets", otherPageSize, listerOf(c.PolicyV1().PodDisruptionBudgets("").List), func(o runtime.Object) { f.PDBs = append(f.PDBs, slimPDB(o.(*policyv1.PodDisruptionBudget))) })
	typed("configmaps", otherPageSize, listerOf(c.CoreV1().ConfigMaps("").List), func(o runtime.Object) { f.addConfigMap(o.(*corev1.ConfigMap)) })
	// The workload templates share one interner, so one goroutine lists them.
	g.Go(func() error {
		in := newInterner()
		steps := []struct {
			kind string
			list lister
			add  func(runtime.Object)
		}{
			{"daemonsets", listerOf(c.AppsV1().DaemonSets("").List), func(o runtime.Object) { f.addDaemonSet(in, o.(*appsv1.DaemonSet)) }},
			{"deployments", listerOf(c.AppsV1().Deployments("").List), func(o runtime.Object) { f.addDeployment(in, o.(*appsv1.Deployment)) }},
			{"statefulsets", listerOf(c.AppsV1().StatefulSets("").List), func(o runtime.Object) { f.addStatefulSet(in, o.(*appsv1.StatefulSet)) }},
			{"cronjobs", listerOf(c.BatchV1().CronJobs("").List), func(o runtime.Object) { f.addCronJob(in, o.(*batchv1.CronJob)) }},
		}
		for _, s := range steps {
			add := s.add
			if err := streamPages(ctx, s.kind, otherPageSize, s.list, func(o runtime.Object) error { add(o); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	// Only the controller of ReplicaSets and Jobs matters: their metadata.
	meta := func(kind string, gvr schema.GroupVersionResource, add func(metav1.Object)) {
		g.Go(func() error {
			return streamPages(ctx, kind, otherPageSize, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return l.Metadata.Resource(gvr).Namespace("").List(ctx, o)
			}, func(o runtime.Object) error {
				add(o.(*metav1.PartialObjectMetadata))
				return nil
			})
		})
	}
	meta("replicasets", appsv1.SchemeGroupVersion.WithResource("replicasets"), f.addReplicaSet)
	meta("jobs", batchv1.SchemeGroupVersion.WithResource("jobs"), f.addJob)
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return f, nil
}

// streamPods reads the pods from one streamed protobuf list.
func streamPods(ctx context.Context, open func(context.Context) (io.ReadCloser, error), fn func(*corev1.Pod)) error {
	body, err := open(ctx)
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	defer body.Close()
	if err := eachStreamedPod(body, fn); err != nil && !errors.Is(err, errNotProtobuf) {
		return fmt.Errorf("listing pods: %w", err)
	} else if err != nil {
		return err
	}
	return nil
}

// streamPages walks a paginated list, reading the next page while fn takes
// the items of the current one, and holds at most one page in reserve.
func streamPages(ctx context.Context, kind string, pageSize int64, list lister, fn func(runtime.Object) error) error {
	p := pager.New(pager.ListPageFunc(list))
	p.PageSize = pageSize
	p.PageBufferSize = 1
	if err := p.EachListItem(ctx, metav1.ListOptions{}, fn); err != nil {
		return fmt.Errorf("listing %s: %w", kind, err)
	}
	return nil
}
