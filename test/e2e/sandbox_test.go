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
//
// The refusal is made certain rather than left to timing: while node-2 and
// node-3 are cordoned the first evicted replica cannot be replaced, so the
// budget stays at zero and the API server must refuse the other two. (With
// every node open, kwok readies a replacement within milliseconds and the
// budget may allow the next eviction before kubectl asks for it.)
func TestSandboxDrainHonoursPDB(t *testing.T) {
	cs := Clientset(t)
	t.Cleanup(func() { _, _ = TryKubectl(t, "uncordon", "node-1", "node-2", "node-3") })
	Kubectl(t, "cordon", "node-2", "node-3")
	ApplyWorkloads(t)

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

	// Nowhere to go: one replica leaves, the budget refuses the others and
	// the drain gives up at its timeout.
	out, err := kubectlCommand(context.Background(), "drain", "node-1",
		"--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=7s").CombinedOutput()
	if err == nil {
		t.Fatalf("kubectl drain node-1 succeeded with nowhere for the web replicas to go, want a refusal:\n%s", out)
	}
	if !strings.Contains(string(out), "disruption budget") {
		t.Errorf("drain failed without an eviction refused by the PDB:\n%s", out)
	}
	if left := webOnNode(t, cs, "node-1"); left != 2 {
		t.Errorf("%d web replicas left on node-1 after the refused drain, want 2 (exactly one eviction allowed)", left)
	}

	// Room again: the replacement becomes Ready, the budget allows the next
	// eviction, and the drain completes.
	Kubectl(t, "uncordon", "node-2", "node-3")
	start := time.Now()
	out, err = kubectlCommand(context.Background(), "drain", "node-1",
		"--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=120s").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl drain node-1: %v\n%s", err, out)
	}
	t.Logf("second drain of node-1 took %s", time.Since(start).Round(100*time.Millisecond))
	WaitFor(t, workloadsTimeout, func() (bool, error) {
		return webReadyOffNode(cs, "node-1")
	})
	if got := stop(); got < 2 {
		t.Errorf("ready web replicas dropped to %d during the drain, PDB requires 2", got)
	}
	Kubectl(t, "uncordon", "node-1")
}

// webOnNode counts the web pods bound to node and not being deleted.
func webOnNode(t testing.TB, cs kubernetes.Interface, node string) int {
	t.Helper()
	pods, err := cs.CoreV1().Pods(WorkloadsNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatalf("listing web pods: %v", err)
	}
	n := 0
	for i := range pods.Items {
		if pods.Items[i].Spec.NodeName == node && pods.Items[i].DeletionTimestamp == nil {
			n++
		}
	}
	return n
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
