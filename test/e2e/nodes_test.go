package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// crimigNamespace holds crimig's node pods and per-node Leases.
const crimigNamespace = nodeexec.DefaultNamespace

// simNodeTimeout covers add-node and the controller's first status.
const simNodeTimeout = 60 * time.Second

// SimNode is a simulated Docker node that belongs to one test.
type SimNode struct {
	Name    string
	Fixture string
	// root overrides the shared sandbox's host root (another sandbox).
	root string
}

// Root is the node's host root.
func (n *SimNode) Root() string {
	if n.root != "" {
		return n.root
	}
	return HostRoot(n.Name)
}

// Path is a host path inside the node's root.
func (n *SimNode) Path(hostPath string) string {
	return filepath.Join(n.Root(), filepath.FromSlash(hostPath))
}

// ReadHostFile reads a host file of the node, failing the test if it cannot.
func (n *SimNode) ReadHostFile(t testing.TB, hostPath string) string {
	t.Helper()
	b, err := os.ReadFile(n.Path(hostPath))
	if err != nil {
		t.Fatalf("node %s: %v", n.Name, err)
	}
	return string(b)
}

// WriteHostFile replaces a host file of the node.
func (n *SimNode) WriteHostFile(t testing.TB, hostPath, content string) {
	t.Helper()
	p := n.Path(hostPath)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// uniqueName returns e2e-<prefix>-<6 hex digits>, a valid node and
// namespace name that no other test (or test run) uses.
func uniqueName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "e2e-" + prefix + "-" + hex.EncodeToString(b)
}

// fixtureShort abbreviates a fixture name for node names.
func fixtureShort(fixture string) string {
	switch fixture {
	case "centos7":
		return "c7"
	case "rocky9":
		return "r9"
	case "ubuntu22":
		return "u22"
	}
	return fixture
}

// AddSimNode creates a fresh simulated node from a fixture (centos7, rocky9
// or ubuntu22) with crimig-sim add-node, waits until it is Ready on docker,
// and removes it (Node, Lease, host root) when the test ends.
func AddSimNode(t *testing.T, fixture, prefix string) *SimNode {
	t.Helper()
	n := &SimNode{Name: uniqueName(prefix + "-" + fixtureShort(fixture)), Fixture: fixture}
	sim := filepath.Join(SandboxDir(), "bin", "crimig-sim")
	cmd := exec.Command(sim, "add-node", "--kubeconfig", Kubeconfig(), "--hosts", filepath.Join(SandboxDir(), "hosts"),
		"--name", n.Name, "--fixture", fixture)
	t.Cleanup(func() { removeSimNode(t, n) })
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("crimig-sim add-node %s: %v\n%s", n.Name, err, out)
	}
	cs := Clientset(t)
	WaitFor(t, simNodeTimeout, func() (bool, error) {
		node, err := cs.CoreV1().Nodes().Get(context.Background(), n.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if !NodeReady(node) || !strings.HasPrefix(node.Status.NodeInfo.ContainerRuntimeVersion, "docker://") {
			return false, fmt.Errorf("node %s: ready=%v runtime=%q", n.Name, NodeReady(node), node.Status.NodeInfo.ContainerRuntimeVersion)
		}
		return true, nil
	})
	return n
}

// removeSimNode deletes what AddSimNode and crimig created for the node. On
// failure it first logs the node's crimig state and host journals.
func removeSimNode(t *testing.T, n *SimNode) {
	ctx := context.Background()
	cs := Clientset(t)
	if t.Failed() {
		if node, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{}); err == nil {
			t.Logf("node %s at the end: runtime=%s ready=%v unschedulable=%v state=%s", n.Name,
				node.Status.NodeInfo.ContainerRuntimeVersion, NodeReady(node), node.Spec.Unschedulable, node.Annotations[migrate.AnnotationState])
		}
		journals, _ := filepath.Glob(n.Path("/var/lib/crimig/*/journal.jsonl"))
		for _, j := range journals {
			b, _ := os.ReadFile(j)
			t.Logf("%s:\n%s", strings.TrimPrefix(j, n.Root()), b)
		}
	}
	err := cs.CoordinationV1().Leases(crimigNamespace).Delete(ctx, migrate.LeaseName(n.Name), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Logf("deleting the lease of %s: %v", n.Name, err)
	}
	killRootProcesses(t, n.Root())
	if err := cs.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Logf("deleting node %s: %v", n.Name, err)
	}
	if err := os.RemoveAll(n.Root()); err != nil {
		t.Logf("removing the host root of %s: %v", n.Name, err)
	}
}

// killRootProcesses kills, by pid, the processes still running chrooted in
// root: detached jobs or reboot helpers that the test's migration started.
func killRootProcesses(t *testing.T, root string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		r, err := os.Readlink(filepath.Join("/proc", e.Name(), "root"))
		if err != nil || (r != root && !strings.HasPrefix(r, root+"/")) {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			t.Logf("killed pid %d left running in %s", pid, root)
		}
	}
}

// NewNamespace creates a namespace for the test's own workloads and deletes
// it when the test ends.
func NewNamespace(t *testing.T, prefix string) string {
	t.Helper()
	cs := Clientset(t)
	name := uniqueName(prefix)
	_, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// PinnedWorkloads puts workloads on node: a Deployment "app" with two
// replicas that may only run there, a bare pod, a pod with an emptyDir and,
// with dockerSock, a pod that mounts /var/run/docker.sock (CRIMIG010). It
// waits until they are Ready.
func PinnedWorkloads(t *testing.T, ns, node string, dockerSock bool) {
	t.Helper()
	cs := Clientset(t)
	ctx := context.Background()
	labels := map[string]string{"app": "app"}
	dep := &appsDeployment{name: "app", ns: ns, node: node, replicas: 2, labels: labels}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep.object(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := []*corev1.Pod{
		pinnedPod(ns, "bare", node, nil),
		pinnedPod(ns, "scratch", node, []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}),
	}
	if dockerSock {
		pods = append(pods, pinnedPod(ns, "ci-runner", node, []corev1.Volume{{Name: "sock", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock"}}}}))
	}
	for _, p := range pods {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	WaitFor(t, workloadsTimeout, func() (bool, error) { return namespaceReady(cs, ns, 2+len(pods)) })
}

// namespaceReady reports whether want pods of ns are Ready.
func namespaceReady(cs kubernetes.Interface, ns string, want int) (bool, error) {
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	ready := 0
	var waiting []string
	for i := range pods.Items {
		p := &pods.Items[i]
		if PodReady(p) {
			ready++
		} else {
			waiting = append(waiting, fmt.Sprintf("%s (%s on %q)", p.Name, p.Status.Phase, p.Spec.NodeName))
		}
	}
	if ready != want {
		return false, fmt.Errorf("%d/%d pods Ready in %s; not ready: %v", ready, want, ns, waiting)
	}
	return true, nil
}

func pinnedPod(ns, name, node string, vols []corev1.Volume) *corev1.Pod {
	c := corev1.Container{Name: "main", Image: "docker.io/library/busybox:1.36", Command: []string{"sleep", "infinity"}}
	for _, v := range vols {
		path := "/data"
		if v.HostPath != nil {
			path = v.HostPath.Path
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: path})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{c}, Volumes: vols},
	}
}

// DeploymentAvailableOn waits until every replica of the Deployment is
// available and runs on node.
func DeploymentAvailableOn(t *testing.T, ns, name, node string, timeout time.Duration) {
	t.Helper()
	cs := Clientset(t)
	WaitFor(t, timeout, func() (bool, error) {
		d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if d.Status.AvailableReplicas != *d.Spec.Replicas || d.Status.UpdatedReplicas != *d.Spec.Replicas {
			return false, fmt.Errorf("deployment %s/%s: %d/%d available", ns, name, d.Status.AvailableReplicas, *d.Spec.Replicas)
		}
		pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			return false, err
		}
		ready := 0
		for i := range pods.Items {
			if PodReady(&pods.Items[i]) && pods.Items[i].Spec.NodeName == node {
				ready++
			}
		}
		if ready != int(*d.Spec.Replicas) {
			return false, fmt.Errorf("%d ready pods of %s on %s", ready, name, node)
		}
		return true, nil
	})
}

// GetNode reads a node, failing the test on error.
func GetNode(t testing.TB, name string) *corev1.Node {
	t.Helper()
	n, err := Clientset(t).CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading node %s: %v", name, err)
	}
	return n
}

// NodeState decodes the node's crimig.io/state annotation (nil if absent).
func NodeState(t testing.TB, name string) *migrate.State {
	t.Helper()
	st, err := migrate.ReadState(GetNode(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// WaitNodeOn waits until the node runs a runtime with prefix (e.g.
// "cri-o://") and is Ready.
func WaitNodeOn(t testing.TB, name, prefix string, timeout time.Duration) *corev1.Node {
	t.Helper()
	return WaitNodeOnAs(t, Clientset(t), name, prefix, timeout)
}

// WaitNodeOnAs is WaitNodeOn with another client (another sandbox).
func WaitNodeOnAs(t testing.TB, cs kubernetes.Interface, name, prefix string, timeout time.Duration) *corev1.Node {
	t.Helper()
	var node *corev1.Node
	WaitFor(t, timeout, func() (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		node = n
		if !strings.HasPrefix(n.Status.NodeInfo.ContainerRuntimeVersion, prefix) || !NodeReady(n) {
			return false, fmt.Errorf("node %s: runtime %q ready=%v", name, n.Status.NodeInfo.ContainerRuntimeVersion, NodeReady(n))
		}
		return true, nil
	})
	return node
}

// CrimigPodsOn lists crimig's node pods on node that are not being deleted.
func CrimigPodsOn(t testing.TB, node string) []string {
	t.Helper()
	pods, err := Clientset(t).CoreV1().Pods(crimigNamespace).List(context.Background(), metav1.ListOptions{
		LabelSelector: nodeexec.LabelManagedBy + "=" + nodeexec.ManagedBy, FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pods.Items {
		out = append(out, p.Name)
	}
	return out
}

// SetUnschedulable cordons or uncordons a node directly.
func SetUnschedulable(t testing.TB, name string, on bool) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%v}}`, on)
	if _, err := Clientset(t).CoreV1().Nodes().Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// SnapshotFiles records the content of every regular file under the node's
// root, keyed by host path, leaving out the simulator's volatile state and
// crimig's own state directory.
func SnapshotFiles(t testing.TB, n *SimNode) map[string][]byte {
	t.Helper()
	// Runtime state is not configuration: container logs (/var/log/pods,
	// and docker's json-file logs under its data-root's containers/) come
	// and go with every pod, crimig's node pods included.
	skip := []string{"/proc", "/dev", "/sys", "/run", "/var/run", "/var/lib/sim", "/var/lib/crimig", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/var/log",
		"/var/lib/docker/containers", "/data/docker/containers"}
	out := map[string][]byte{}
	root := n.Root()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hostPath := "/" + filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		for _, s := range skip {
			if hostPath == s || strings.HasPrefix(hostPath, s+"/") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[hostPath] = b
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot of %s: %v", root, err)
	}
	return out
}

// RunIDs lists the run directories crimig created on the node's host.
func RunIDs(n *SimNode) []string {
	dirs, _ := filepath.Glob(n.Path("/var/lib/crimig/*"))
	var out []string
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, filepath.Base(d))
		}
	}
	return out
}

// JournalEntries reads a run's host journal.
func JournalEntries(t testing.TB, n *SimNode, runID string) []nodeexec.JournalEntry {
	t.Helper()
	b, err := os.ReadFile(n.Path(nodeexec.JournalPath(runID)))
	if err != nil {
		t.Fatalf("node %s: %v", n.Name, err)
	}
	var out []nodeexec.JournalEntry
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e nodeexec.JournalEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("journal line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// PlanJSON runs plan -o json with args and decodes it; it returns the raw
// document too, and the exit code.
func PlanJSON(t testing.TB, args ...string) (*inspect.Plan, []byte, string, int) {
	t.Helper()
	stdout, stderr, code := RunCrimig(t, append([]string{"plan", "-o", "json"}, args...)...)
	if code != 0 && code != 2 {
		t.Fatalf("plan %v exited %d\nstderr:\n%s", args, code, stderr)
	}
	var p inspect.Plan
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatalf("plan -o json is not JSON: %v\n%s", err, stdout)
	}
	return &p, []byte(stdout), stderr, code
}

// NodePlanOf returns the plan's entry for node.
func NodePlanOf(t testing.TB, p *inspect.Plan, node string) *inspect.NodePlan {
	t.Helper()
	for i := range p.Nodes {
		if p.Nodes[i].Name == node {
			return &p.Nodes[i]
		}
	}
	t.Fatalf("the plan has no node %s", node)
	return nil
}

// CrimigProc is a running kubectl crimig whose stdout lines are stamped
// with their arrival time, so a test can follow -o json events live.
type CrimigProc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
	code   int

	mu    sync.Mutex
	lines []StampedLine
}

// StampedLine is one stdout line and when it arrived.
type StampedLine struct {
	At   time.Time
	Text string
}

// StartCrimig starts the plugin against the sandbox as admin.
func StartCrimig(t testing.TB, args ...string) *CrimigProc {
	t.Helper()
	return StartCrimigAs(t, Kubeconfig(), args...)
}

// StartCrimigAs starts the plugin with another kubeconfig (another user,
// or another sandbox).
func StartCrimigAs(t testing.TB, kubeconfig string, args ...string) *CrimigProc {
	t.Helper()
	p := &CrimigProc{cmd: exec.Command(CrimigBinary(t), args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting kubectl crimig: %v", err)
	}
	go func() {
		defer close(p.done)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				p.mu.Lock()
				p.lines = append(p.lines, StampedLine{At: time.Now(), Text: strings.TrimRight(line, "\n")})
				p.mu.Unlock()
			}
			if err != nil {
				break
			}
		}
		err := p.cmd.Wait()
		var exitErr *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exitErr):
			p.code = exitErr.ExitCode()
		default:
			p.code = -1
		}
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Kill sends SIGKILL to the plugin process and waits for it to end.
func (p *CrimigProc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Wait waits for the plugin to exit (failing the test after timeout) and
// returns its exit code and stderr.
func (p *CrimigProc) Wait(t testing.TB, timeout time.Duration) (int, string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
		t.Fatalf("kubectl crimig %v did not finish within %s\nstderr:\n%s", p.cmd.Args[1:], timeout, p.stderr.String())
	}
	return p.code, p.stderr.String()
}

// Lines returns the stdout lines so far.
func (p *CrimigProc) Lines() []StampedLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]StampedLine{}, p.lines...)
}

// StampedEvent is a migrate -o json event with the time it reached us.
type StampedEvent struct {
	At time.Time
	migrate.Event
}

// Events decodes the -o json event lines so far.
func (p *CrimigProc) Events(t testing.TB) []StampedEvent {
	t.Helper()
	var out []StampedEvent
	for _, l := range p.Lines() {
		var ev migrate.Event
		if err := json.Unmarshal([]byte(l.Text), &ev); err != nil {
			t.Errorf("stdout line is not an event: %q: %v", l.Text, err)
			continue
		}
		out = append(out, StampedEvent{At: l.At, Event: ev})
	}
	return out
}

// RunMigration runs the plugin to completion with -o json events.
func RunMigration(t testing.TB, args ...string) (events []StampedEvent, stderr string, code int, elapsed time.Duration) {
	t.Helper()
	CrimigBinary(t) // build outside the measured time
	start := time.Now()
	p := StartCrimig(t, append(args, "-o", "json")...)
	code, stderr = p.Wait(t, crimigTimeout)
	return p.Events(t), stderr, code, time.Since(start)
}

// StepDurations measures, from event arrival times, how long each step
// ran (first "started" to its "done", "failed" or "skipped").
func StepDurations(events []StampedEvent) map[string]time.Duration {
	start := map[string]time.Time{}
	out := map[string]time.Duration{}
	for _, ev := range events {
		switch ev.Phase {
		case migrate.PhaseStarted:
			if _, ok := start[ev.Step]; !ok {
				start[ev.Step] = ev.At
			}
		case migrate.PhaseDone, migrate.PhaseFailed:
			if s, ok := start[ev.Step]; ok && ev.Step != "" {
				out[ev.Step] += ev.At.Sub(s)
				delete(start, ev.Step)
			}
		}
	}
	return out
}

// LogTimings logs a migration's total time, its per-step times and the
// crimig overhead: the total minus the drain, the install and the swap
// (the host job, including the reboot), which wait on the cluster or host.
func LogTimings(t testing.TB, label string, events []StampedEvent, total time.Duration) time.Duration {
	t.Helper()
	d := StepDurations(events)
	var parts []string
	for _, s := range []string{"lock", "preflight", "drain", "backup", "kernel", "install", "configure", "swap", "verify", "annotate", "uncordon"} {
		parts = append(parts, fmt.Sprintf("%s=%s", s, d[s].Round(10*time.Millisecond)))
	}
	overhead := total - d["drain"] - d["install"] - d["swap"]
	t.Logf("TIMING %s: total %s, crimig overhead %s (total minus drain, install and swap/reboot waits); steps: %s",
		label, total.Round(10*time.Millisecond), overhead.Round(10*time.Millisecond), strings.Join(parts, " "))
	return overhead
}

// appsDeployment builds a small Deployment pinned to one node.
type appsDeployment struct {
	name, ns, node string
	replicas       int32
	labels         map[string]string
}

func (d *appsDeployment) object() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: d.name, Namespace: d.ns, Labels: d.labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &d.replicas,
			Selector: &metav1.LabelSelector{MatchLabels: d.labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: d.labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/hostname": d.node},
					Containers: []corev1.Container{{Name: "app", Image: "docker.io/library/nginx:1.25.5",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}}}},
				},
			},
		},
	}
}
