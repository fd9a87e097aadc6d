package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
)

// runtimesNow maps node names to their container runtime string.
func runtimesNow(t *testing.T) map[string]string {
	t.Helper()
	nodes, err := Clientset(t).CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range nodes.Items {
		out[n.Name] = n.Status.NodeInfo.ContainerRuntimeVersion
	}
	return out
}

// TestStatusJSON: status -o json reports every node with the runtime the
// API shows. Other tests change nodes meanwhile, so a node may match the
// list taken before or the one taken after.
func TestStatusJSON(t *testing.T) {
	before := runtimesNow(t)
	stdout, stderr, code := RunCrimig(t, "status", "-o", "json")
	after := runtimesNow(t)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	var st fleetstatus.Status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if st.Kind != "NodeStatusList" {
		t.Errorf("kind %q, want NodeStatusList", st.Kind)
	}
	seen := map[string]bool{}
	for _, n := range st.Items {
		seen[n.Name] = true
		got := n.Runtime + "://" + n.RuntimeVersion
		if got != before[n.Name] && got != after[n.Name] {
			t.Errorf("node %s: runtime %s, the API says %q then %q", n.Name, got, before[n.Name], after[n.Name])
		}
		if n.StepsTotal != len(fleetstatus.StepNames()) {
			t.Errorf("node %s: stepsTotal %d", n.Name, n.StepsTotal)
		}
	}
	for name := range before {
		if _, still := after[name]; still && !seen[name] {
			t.Errorf("node %s is missing from the output", name)
		}
	}
	if len(st.Counts) < 2 {
		t.Errorf("counts: %+v", st.Counts)
	}
}

// TestStatusJSONPath: -o jsonpath and -o custom-columns work as in kubectl
// get: every node the API lists, once.
func TestStatusJSONPath(t *testing.T) {
	before := runtimesNow(t)
	stdout, stderr, code := RunCrimig(t, "status", "-o", "jsonpath={range .items[*]}{.metadata.name}={.runtime}://{.runtimeVersion}{\"\\n\"}{end}")
	after := runtimesNow(t)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		name, rt, ok := strings.Cut(line, "=")
		if !ok || seen[name] {
			t.Fatalf("line %q in\n%s", line, stdout)
		}
		seen[name] = true
		if rt != before[name] && rt != after[name] {
			t.Errorf("node %s: runtime %s, the API says %q then %q", name, rt, before[name], after[name])
		}
	}
	for name := range before {
		if _, still := after[name]; still && !seen[name] {
			t.Errorf("node %s is missing from the output", name)
		}
	}

	stdout, stderr, code = RunCrimig(t, "status", "-o", "custom-columns=NODE:.metadata.name,STEPS:.stepsTotal")
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if strings.Join(strings.Fields(lines[0]), " ") != "NODE STEPS" || len(lines) < 2 {
		t.Fatalf("custom-columns:\n%s", stdout)
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) != 2 || f[1] != fmt.Sprint(len(fleetstatus.StepNames())) {
			t.Errorf("custom-columns row %q", l)
		}
	}

	_, stderr, code = RunCrimig(t, "status", "-o", "x")
	if code == 0 || !strings.HasPrefix(stderr, `error: unable to match a printer suitable for the output format "x", allowed formats are: `) {
		t.Errorf("-o x: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestStatusWide(t *testing.T) {
	stdout, stderr, code := RunCrimig(t, "status", "-o", "wide")
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	header := strings.Fields(lines[0])
	want := []string{"NAME", "ROLE", "RUNTIME", "KUBELET", "READY", "CORDONED", "PHASE", "STEP", "PROGRESS", "ELAPSED", "RUN", "TO", "LOCK-HOLDER", "LAST-ERROR"}
	if strings.Join(header, " ") != strings.Join(want, " ") {
		t.Fatalf("header %v, want %v", header, want)
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) < len(want) {
			t.Errorf("short row %q", l)
		}
	}
	if len(lines) < 2 {
		t.Errorf("no rows:\n%s", stdout)
	}
}

// TestStatusWatch: --watch prints a node again when its lock changes (how
// soon is logged; the fleetstatus benchmarks measure the update path). The
// Lease lives in a namespace of this test's own (--pod-namespace), so no
// other test sees it.
func TestStatusWatch(t *testing.T) {
	cs := Clientset(t)
	ctx := context.Background()
	ns := fmt.Sprintf("e2e-status-%d", time.Now().UnixNano()%100000)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var node string
	for name := range runtimesNow(t) {
		node = name
		break
	}

	lines := startWatch(t, "status", node, "--watch", "-o", "wide", "--pod-namespace", ns)
	lines.waitFor(t, node)

	holder := "e2e-status-watch"
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "crimig-node-" + node, Namespace: ns}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
	start := time.Now()
	if _, err := cs.CoordinationV1().Leases(ns).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lines.waitFor(t, holder)
	latency := time.Since(start)
	t.Logf("the Lease showed up in --watch output %s after it was created", latency)
}

// watchLines collects the stdout lines of a running binary.
type watchLines struct {
	mu    sync.Mutex
	lines []string
}

func startWatch(t *testing.T, args ...string) *watchLines {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, CrimigBinary(t), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+Kubeconfig())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &watchLines{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = cmd.Wait()
	})
	return w
}

func (w *watchLines) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		all := strings.Join(w.lines, "\n")
		w.mu.Unlock()
		if strings.Contains(all, text) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Fatalf("no %q in the --watch output within 30s:\n%s", text, strings.Join(w.lines, "\n"))
}
