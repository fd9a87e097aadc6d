package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"

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
	listPods := func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return c.CoreV1().Pods("").List(ctx, o)
	}
	g.Go(func() error {
		if l.PodStream != nil {
			err := streamPods(ctx, l.PodStream, addPod)
			if !errors.Is(err, errNotProtobuf) {
				return err
			}
		}
		return streamPages(ctx, "pods", podPageSize, listPods, func(o runtime.Object) error { addPod(o.(*corev1.Pod)); return nil })
	})
	typed("nodes", otherPageSize, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return c.CoreV1().Nodes().List(ctx, o)
	}, func(o runtime.Object) { f.Nodes = append(f.Nodes, slimNode(o.(*corev1.Node))) })
	typed("poddisruptionbudgets", otherPageSize, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return c.PolicyV1().PodDisruptionBudgets("").List(ctx, o)
	}, func(o runtime.Object) { f.PDBs = append(f.PDBs, slimPDB(o.(*policyv1.PodDisruptionBudget))) })
	typed("configmaps", otherPageSize, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return c.CoreV1().ConfigMaps("").List(ctx, o)
	}, func(o runtime.Object) { f.addConfigMap(o.(*corev1.ConfigMap)) })
	// The workload templates share one interner, so one goroutine lists them.
	g.Go(func() error {
		in := newInterner()
		steps := []struct {
			kind string
			list lister
			add  func(runtime.Object)
		}{
			{"daemonsets", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().DaemonSets("").List(ctx, o)
			}, func(o runtime.Object) { f.addDaemonSet(in, o.(*appsv1.DaemonSet)) }},
			{"deployments", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().Deployments("").List(ctx, o)
			}, func(o runtime.Object) { f.addDeployment(in, o.(*appsv1.Deployment)) }},
			{"statefulsets", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().StatefulSets("").List(ctx, o)
			}, func(o runtime.Object) { f.addStatefulSet(in, o.(*appsv1.StatefulSet)) }},
			{"cronjobs", func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.BatchV1().CronJobs("").List(ctx, o)
			}, func(o runtime.Object) { f.addCronJob(in, o.(*batchv1.CronJob)) }},
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
