package inspect

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	metadatafake "k8s.io/client-go/metadata/fake"
)

// fakeListers serves objs the way the API server would to CollectFacts:
// ReplicaSets and Jobs also as metadata.
func fakeListers(t testing.TB, objs []runtime.Object) (Listers, *fake.Clientset, *metadatafake.FakeMetadataClient) {
	t.Helper()
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	var metas []runtime.Object
	for _, o := range objs {
		var m *metav1.PartialObjectMetadata
		switch o := o.(type) {
		case *appsv1.ReplicaSet:
			m = &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"}, ObjectMeta: o.ObjectMeta}
		case *batchv1.Job:
			m = &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: o.ObjectMeta}
		}
		if m != nil {
			metas = append(metas, m)
		}
	}
	typed := fake.NewClientset(objs...)
	meta := metadatafake.NewSimpleMetadataClient(scheme, metas...)
	return Listers{Typed: typed, Metadata: meta}, typed, meta
}

// TestCollectFactsPlanGolden: the streamed, reduced facts give the very plan
// CollectCluster and BuildPlan gave before they existed (plan-rich.json).
func TestCollectFactsPlanGolden(t *testing.T) {
	l, _, _ := fakeListers(t, richCluster())
	f, err := CollectFacts(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "plan-rich.json", goldenPlans(t, f.Plan))
}

// TestCollectFactsListsOncePerKind guards the "no request per node or pod"
// rule, and that ReplicaSets and Jobs are read as metadata only.
func TestCollectFactsListsOncePerKind(t *testing.T) {
	l, typed, meta := fakeListers(t, richCluster())
	if _, err := CollectFacts(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	typedLists := map[string]int{}
	for _, a := range typed.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("unexpected %s %s", a.GetVerb(), a.GetResource().Resource)
		}
		typedLists[a.GetResource().Resource]++
	}
	metaLists := map[string]int{}
	for _, a := range meta.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("unexpected metadata %s %s", a.GetVerb(), a.GetResource().Resource)
		}
		metaLists[a.GetResource().Resource]++
	}
	wantTyped := map[string]int{"nodes": 1, "pods": 1, "poddisruptionbudgets": 1, "configmaps": 1,
		"daemonsets": 1, "deployments": 1, "statefulsets": 1, "cronjobs": 1}
	if diff := cmp.Diff(wantTyped, typedLists); diff != "" {
		t.Errorf("typed lists (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"replicasets": 1, "jobs": 1}, metaLists); diff != "" {
		t.Errorf("metadata lists (-want +got):\n%s", diff)
	}
}

func TestReducePod(t *testing.T) {
	in := newInterner()
	ds := pod("kube-system", "agent-1", "node-1", func(p *corev1.Pod) {
		p.OwnerReferences = append([]metav1.OwnerReference{{Kind: "Node", Name: "node-1"}}, ctrl("DaemonSet", "agent")...)
		p.Labels = map[string]string{"app": "agent", "rev": "1"}
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Env: []corev1.EnvVar{{Name: "DOCKER_HOST", Value: "tcp://a"}}}}
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "fluent-bit", Image: "cr.fluentbit.io/fluent/fluent-bit:2.2",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500u"), corev1.ResourceMemory: resource.MustParse("1Mi")}}})
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500u")}
		p.Spec.Volumes = []corev1.Volume{
			{Name: "a", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}},
			{Name: "b", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/run/"}}},
			{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
			{Name: "d", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "e", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "f", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock"}}},
		}
	})
	got := in.reducePod(&ds)
	want := podFacts{
		namespace: "kube-system", name: "agent-1", node: "node-1", phase: corev1.PodRunning,
		labels: map[string]string{"app": "agent", "rev": "1"}, ctrl: &ownerRef{kind: "DaemonSet", name: "agent"},
		// 1.5m twice is 3m; each rounded up alone would make 4m.
		cpuMilli: 3, memBytes: 1 << 20,
		podExtra: &podExtra{
			hits:     []specHit{{IDRunMount, "/run/"}, {IDDockerSocket, "/var/run/docker.sock"}, {IDDockerHost, "tcp://a"}, {IDShortImageName, "busybox"}},
			emptyDir: "d", hasEmptyDir: true,
			images:   []string{"busybox", "registry.k8s.io/pause:3.9", "cr.fluentbit.io/fluent/fluent-bit:2.2"},
			logAgent: "fluent-bit", configMaps: []string{"cfg"},
		},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(podFacts{}, podExtra{}, ownerRef{}, specHit{})); diff != "" {
		t.Errorf("reducePod (-want +got):\n%s", diff)
	}
	if got.evicted() || !got.returnsToNode() {
		t.Errorf("a DaemonSet pod: evicted %v, returns to the node %v; want false, true", got.evicted(), got.returnsToNode())
	}

	// An evicted pod keeps no images; equal label sets are shared.
	web := func(name string) corev1.Pod {
		return pod("shop", name, "node-2", func(p *corev1.Pod) {
			p.OwnerReferences = ctrl("ReplicaSet", "web-1")
			p.Labels = map[string]string{"app": "web", "pod-template-hash": "1"}
		})
	}
	a, b := web("web-1-a"), web("web-1-b")
	ra, rb := in.reducePod(&a), in.reducePod(&b)
	if ra.podExtra != nil {
		t.Errorf("an evicted pod without docker dependencies keeps %+v", *ra.podExtra)
	}
	if !ra.evicted() || ra.returnsToNode() {
		t.Errorf("a ReplicaSet pod: evicted %v, returns to the node %v; want true, false", ra.evicted(), ra.returnsToNode())
	}
	ra.labels["probe"] = "x"
	if rb.labels["probe"] != "x" {
		t.Error("two pods with the same labels do not share one label set")
	}

	bare := pod("default", "bare", "", func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "h"} })
	rbare := in.reducePod(&bare)
	if rbare.ctrl != nil || !rbare.mirror || rbare.evicted() || !rbare.returnsToNode() || rbare.labels != nil {
		t.Errorf("a mirror pod without controller or labels reduced to %+v", rbare)
	}
}

func TestFactsOwner(t *testing.T) {
	f := NewFacts(fixtureCluster())
	for _, c := range []struct {
		pod  podFacts
		want string
	}{
		{podFacts{namespace: "shop", name: "web-abc-1", ctrl: &ownerRef{"ReplicaSet", "web-abc"}}, "Deployment/shop/web"},
		{podFacts{namespace: "shop", name: "x", ctrl: &ownerRef{"ReplicaSet", "gone"}}, "ReplicaSet/shop/gone"},
		{podFacts{namespace: "ci", name: "cleanup-1-abc", ctrl: &ownerRef{"Job", "cleanup-1"}}, "CronJob/ci/cleanup"},
		{podFacts{namespace: "db", name: "pg-0", ctrl: &ownerRef{"StatefulSet", "pg"}}, "StatefulSet/db/pg"},
		{podFacts{namespace: "default", name: "bare"}, "Pod/default/bare"},
	} {
		if got := f.owner(&c.pod); got != c.want {
			t.Errorf("owner of %s/%s = %q, want %q", c.pod.namespace, c.pod.name, got, c.want)
		}
	}
}

// protobufPodList encodes the pods among objs as the API server sends
// GET /api/v1/pods in protobuf.
func protobufPodList(t testing.TB, objs []runtime.Object) []byte {
	t.Helper()
	list := &corev1.PodList{}
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			list.Items = append(list.Items, *p)
		}
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		return a.Namespace < b.Namespace || (a.Namespace == b.Namespace && a.Name < b.Name)
	})
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		t.Fatal("no protobuf serializer")
	}
	var buf bytes.Buffer
	if err := scheme.Codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion).Encode(list, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCollectFactsPodStreamGolden: pods read one by one from a protobuf
// stream give the same plan as pods listed page by page.
func TestCollectFactsPodStreamGolden(t *testing.T) {
	objs := richCluster()
	l, typed, _ := fakeListers(t, objs)
	body := protobufPodList(t, objs)
	l.PodStream = func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	f, err := CollectFacts(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range typed.Actions() {
		if a.GetResource().Resource == "pods" {
			t.Errorf("pods listed page by page although streamed: %v", a)
		}
	}
	checkGolden(t, "plan-rich.json", goldenPlans(t, f.Plan))
}

// TestCollectFactsPodStreamFallback: an answer that is no protobuf list
// (a proxy that rewrote it) falls back to paged lists; a cut one fails.
func TestCollectFactsPodStreamFallback(t *testing.T) {
	objs := richCluster()
	l, typed, _ := fakeListers(t, objs)
	l.PodStream = func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(`{"kind":"PodList","items":[]}`)), nil
	}
	f, err := CollectFacts(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, a := range typed.Actions() {
		if a.GetResource().Resource == "pods" {
			listed++
		}
	}
	if listed != 1 {
		t.Errorf("pods listed %d times after a JSON answer, want 1", listed)
	}
	checkGolden(t, "plan-rich.json", goldenPlans(t, f.Plan))

	body := protobufPodList(t, objs)
	l.PodStream = func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(body[:len(body)*2/3])), nil
	}
	if _, err := CollectFacts(context.Background(), l); err == nil || !strings.Contains(err.Error(), "listing pods") {
		t.Errorf("a cut stream: err = %v, want a pod list error", err)
	}
}
