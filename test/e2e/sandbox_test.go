package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// TestSandboxNodesReady checks what every other test assumes: the simulated
// nodes exist, are managed by kwok, are Ready and run Docker.
func TestSandboxNodesReady(t *testing.T) {
	cs := Clientset(t)
	want := 3
	if n, err := strconv.Atoi(SandboxEnv("SANDBOX_NODES")); err == nil {
		want = n
	}
	for i := 1; i <= want; i++ {
		name := fmt.Sprintf("node-%d", i)
		node, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("node %s: %v", name, err)
		}
		if got := node.Annotations["kwok.x-k8s.io/node"]; got != "fake" {
			t.Errorf("node %s: annotation kwok.x-k8s.io/node = %q, want fake", name, got)
		}
		if !NodeReady(node) {
			t.Errorf("node %s is not Ready: %+v", name, node.Status.Conditions)
		}
		if rt := node.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(rt, "docker://") {
			t.Errorf("node %s: containerRuntimeVersion = %q, want docker://...", name, rt)
		}
	}
}

// TestSandboxDrainHonoursPDB drains a node holding all three web replicas
// with kubectl: evictions must respect minAvailable=2, and the replicas must
// come back Ready elsewhere.
func TestSandboxDrainHonoursPDB(t *testing.T) {
	cs := Clientset(t)
	t.Cleanup(func() { _, _ = TryKubectl(t, "uncordon", "node-1", "node-2", "node-3") })
	Kubectl(t, "cordon", "node-2", "node-3")
	ApplyWorkloads(t)
	Kubectl(t, "uncordon", "node-2", "node-3")

	initial, stop := watchReadyWeb(t)
	if initial != 3 {
		t.Fatalf("%d web replicas Ready before the drain, want 3", initial)
	}
	// The budget must have seen exactly the three Ready replicas, or it may
	// still allow more than one eviction (pods of an earlier test counted).
	WaitFor(t, workloadsTimeout, func() (bool, error) {
		pdb, err := cs.PolicyV1().PodDisruptionBudgets(WorkloadsNamespace).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := pdb.Status
		if st.ObservedGeneration != pdb.Generation || st.CurrentHealthy != 3 || st.DisruptionsAllowed != 1 {
			return false, fmt.Errorf("PDB web: healthy %d, allowed %d, observed generation %d of %d",
				st.CurrentHealthy, st.DisruptionsAllowed, st.ObservedGeneration, pdb.Generation)
		}
		return true, nil
	})
	start := time.Now()
	out, err := kubectlCommand(context.Background(), "drain", "node-1",
		"--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=120s").CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("kubectl drain node-1: %v\n%s", err, out)
	}
	t.Logf("drain of node-1 took %s", elapsed.Round(100*time.Millisecond))
	if !strings.Contains(string(out), "disruption budget") {
		t.Errorf("expected at least one eviction refused by the PDB, drain output:\n%s", out)
	}
	WaitFor(t, workloadsTimeout, func() (bool, error) {
		return webReadyOffNode(cs, "node-1")
	})
	if got := stop(); got < 2 {
		t.Errorf("ready web replicas dropped to %d during the drain, PDB requires 2", got)
	}
	Kubectl(t, "uncordon", "node-1")
}

// webReadyOffNode reports whether three web pods are Ready and none of them
// is on node.
func webReadyOffNode(cs kubernetes.Interface, node string) (bool, error) {
	pods, err := cs.CoreV1().Pods(WorkloadsNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		return false, err
	}
	ready := 0
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.Spec.NodeName == node && pod.DeletionTimestamp == nil {
			return false, fmt.Errorf("web pod %s is still on %s", pod.Name, node)
		}
		if PodReady(pod) {
			ready++
		}
	}
	if ready != 3 {
		return false, fmt.Errorf("%d web pods Ready, want 3", ready)
	}
	return true, nil
}

// watchReadyWeb follows the web pods and records the lowest number of Ready
// replicas seen; stop ends the watch and returns that number.
func watchReadyWeb(t testing.TB) (ready int, stop func() int) {
	t.Helper()
	cs := Clientset(t)
	ctx, cancel := context.WithCancel(context.Background())
	opts := metav1.ListOptions{LabelSelector: "app=web"}
	list, err := cs.CoreV1().Pods(WorkloadsNamespace).List(ctx, opts)
	if err != nil {
		t.Fatalf("listing web pods: %v", err)
	}
	state := map[string]bool{}
	for i := range list.Items {
		state[list.Items[i].Name] = PodReady(&list.Items[i])
	}
	opts.ResourceVersion = list.ResourceVersion
	w, err := cs.CoreV1().Pods(WorkloadsNamespace).Watch(ctx, opts)
	if err != nil {
		t.Fatalf("watching web pods: %v", err)
	}
	var mu sync.Mutex
	lowest := countTrue(state)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			state[pod.Name] = ev.Type != watch.Deleted && PodReady(pod)
			lowest = min(lowest, countTrue(state))
			mu.Unlock()
		}
	}()
	return lowest, func() int {
		cancel()
		w.Stop()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return lowest
	}
}

func countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}
