package migrate

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

func (h *fakeHost) ExecPod(_ context.Context, node, namespace, pod, _ string, cmd []string) ([]byte, []byte, error) {
	h.record("exec " + namespace + "/" + pod + " " + strings.Join(cmd, " "))
	return []byte(strings.Join(cmd[1:], " ") + "\n"), nil, nil
}

func TestSmokePodName(t *testing.T) {
	if got := smokePodName("node-1"); got != "crimig-smoke-node-1" {
		t.Errorf("got %q", got)
	}
	long := smokePodName(strings.Repeat("a", 60) + ".example.com")
	if len(long) > 63 || strings.HasSuffix(long, ".") || strings.HasSuffix(long, "-") {
		t.Errorf("bad name for a long node: %q", long)
	}
}

// An image the new runtime cannot resolve fails the smoke test at once,
// with the kubelet's reason, and the pod is removed.
func TestSmokeFailsFastOnImageInspectError(t *testing.T) {
	e, _, events := newTestEngine(t)
	e.Options.SmokeImage = "busybox:1.36"
	ctx := context.Background()
	r := &run{e: e, node: "node-1", state: &State{RunID: "run-1"}}
	pods := e.Client.CoreV1().Pods(e.LockNamespace)
	go func() {
		// The kubelet's report on a CRI-O node without docker.io among the
		// unqualified-search registries.
		for range 100 {
			p, err := pods.Get(ctx, "crimig-smoke-node-1", metav1.GetOptions{})
			if err == nil {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: smokeContainer, State: corev1.ContainerState{
					Waiting: &corev1.ContainerStateWaiting{Reason: "ImageInspectError", Message: "short name mode is enforcing"}}}}
				_, _ = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	err := r.smoke(ctx)
	if err == nil || !strings.Contains(err.Error(), "ImageInspectError: short name mode is enforcing") {
		t.Fatalf("err = %v", err)
	}
	if _, err := pods.Get(ctx, "crimig-smoke-node-1", metav1.GetOptions{}); err == nil {
		t.Error("the smoke pod was left behind")
	}
	found := false
	for _, ev := range *events {
		found = found || (ev.Step == inspect.StepSmoke && strings.Contains(ev.Message, "created with image busybox:1.36"))
	}
	if !found {
		t.Errorf("no creation event: %+v", *events)
	}
}

func TestSmokeSkippedWithoutImage(t *testing.T) {
	e, host, events := newTestEngine(t)
	r := &run{e: e, node: "node-1", state: &State{RunID: "run-1"}}
	if err := r.smoke(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(host.calls) != 0 || len(*events) != 1 || (*events)[0].Phase != PhaseSkipped {
		t.Errorf("calls %v, events %+v", host.calls, *events)
	}
}
