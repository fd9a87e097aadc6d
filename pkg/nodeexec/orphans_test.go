package nodeexec

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func TestCleanupOrphans(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	old := nowFunc
	nowFunc = func() time.Time { return now }
	t.Cleanup(func() { nowFunc = old })

	pod := func(name, node string, age time.Duration, phase corev1.PodPhase, managed bool) *corev1.Pod {
		p := BuildPod(PodSpecInput{Node: node})
		p.Name = name
		p.CreationTimestamp = metav1.NewTime(now.Add(-age))
		p.Status.Phase = phase
		if !managed {
			p.Labels = map[string]string{"app": "other"}
		}
		return p
	}
	objs := []runtime.Object{
		readyNode("node-1"),
		pod("fresh", "node-1", 10*time.Minute, corev1.PodRunning, true),
		pod("expired", "node-1", 61*time.Minute, corev1.PodRunning, true),
		pod("ended", "node-1", time.Minute, corev1.PodFailed, true),
		pod("node-gone", "node-9", time.Minute, corev1.PodRunning, true),
		pod("not-ours", "node-9", 5*time.Hour, corev1.PodRunning, false),
	}
	custom := pod("custom-deadline", "node-1", 11*time.Minute, corev1.PodRunning, true)
	custom.Spec.ActiveDeadlineSeconds = ptr.To(int64(600))
	objs = append(objs, custom)

	client := fake.NewClientset(objs...)
	deleted, err := CleanupOrphans(context.Background(), client, "")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(deleted)
	if got := strings.Join(deleted, ","); got != "custom-deadline,ended,expired,node-gone" {
		t.Errorf("deleted %s", got)
	}
	lists := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "list" {
			lists++
		}
	}
	if lists != 2 {
		t.Errorf("%d list calls, want one for pods and one for nodes", lists)
	}
	left, _ := client.CoreV1().Pods(DefaultNamespace).List(context.Background(), metav1.ListOptions{})
	var names []string
	for _, p := range left.Items {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "fresh,not-ours" {
		t.Errorf("left %s", got)
	}
}

func TestCloseDeletesEveryPodEvenAfterCancel(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("a"), readyNode("b"))
	e := newTestExecutor(t, client, localStreams(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	err := e.ForEachNode(ctx, []string{"a", "b"}, func(ctx context.Context, node string) error {
		_, err := e.Run(ctx, node, "true", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	pods, _ := client.CoreV1().Pods(DefaultNamespace).List(context.Background(), metav1.ListOptions{})
	if len(pods.Items) != 2 {
		t.Fatalf("%d pods, want 2", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Labels[LabelRunID] != e.RunID() {
			t.Errorf("pod %s has run id %q, want %q", p.Name, p.Labels[LabelRunID], e.RunID())
		}
	}
	cancel() // Ctrl-C
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	pods, _ = client.CoreV1().Pods(DefaultNamespace).List(context.Background(), metav1.ListOptions{})
	if len(pods.Items) != 0 {
		t.Errorf("Close left %d pods", len(pods.Items))
	}
}
