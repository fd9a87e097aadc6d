package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// fleetNodes is the fleet sandbox: five workers on the three fixtures and
// one control-plane node with kubeadm's static pods, the cluster's only one.
const fleetNodes = "node-1:centos7 node-2:rocky9 node-3:ubuntu22 node-4:rocky9 node-5:centos7 node-6:ubuntu22:control-plane"

// fleetEnv runs the fleet sandbox next to the shared one: its own directory
// and ports, and the API server reached through the control-plane node (the
// simulator's proxy), so the API goes away while node-6 swaps its runtime.
var fleetEnv = map[string]string{
	"SANDBOX_DIR":                  ".sandbox-fleet",
	"SANDBOX_NODES":                fleetNodes,
	"SANDBOX_APISERVER_PORT":       "17443",
	"SANDBOX_APISERVER_PROXY_PORT": "17444",
	"SANDBOX_ETCD_PORT":            "17379",
	"SANDBOX_ETCD_PEER_PORT":       "17380",
	"SANDBOX_KWOK_PORT":            "17247",
	"SANDBOX_KCM_PORT":             "17257",
	"SANDBOX_SCHEDULER_PORT":       "17259",
}

type fleetSandbox struct {
	dir        string
	kubeconfig string // through the control-plane node's API server
	direct     string // straight to the API server, for observers
}

func (f *fleetSandbox) node(name string) *SimNode {
	return &SimNode{Name: name, root: filepath.Join(f.dir, "hosts", name)}
}

func fleetScript(timeout time.Duration, script string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(), script))
	cmd.Dir = RepoRoot()
	cmd.Env = os.Environ()
	for k, v := range fleetEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	return cmd.Run()
}

// startFleetSandbox brings up a fresh fleet sandbox and stops it when the
// test ends (unless CRIMIG_E2E_KEEP=1).
func startFleetSandbox(t *testing.T) *fleetSandbox {
	t.Helper()
	f := &fleetSandbox{dir: filepath.Join(RepoRoot(), fleetEnv["SANDBOX_DIR"])}
	f.kubeconfig, f.direct = filepath.Join(f.dir, "kubeconfig"), filepath.Join(f.dir, "kubeconfig-direct")
	_ = fleetScript(2*time.Minute, "hack/sandbox-down.sh") // leftovers of an aborted run
	start := time.Now()
	if err := fleetScript(sandboxUpTimeout, "hack/sandbox-up.sh"); err != nil {
		t.Fatalf("starting the fleet sandbox: %v (logs in %s)", err, filepath.Join(f.dir, "logs"))
	}
	t.Logf("TIMING fleet sandbox up (6 nodes, 1 control plane) in %s", time.Since(start).Round(100*time.Millisecond))
	t.Cleanup(func() {
		if os.Getenv("CRIMIG_E2E_KEEP") == "1" {
			t.Logf("CRIMIG_E2E_KEEP=1: the fleet sandbox stays in %s", f.dir)
			return
		}
		if err := fleetScript(2*time.Minute, "hack/sandbox-down.sh"); err != nil {
			t.Errorf("stopping the fleet sandbox: %v", err)
		}
	})
	return f
}

// fleetWorkloads adds a Deployment spread over the workers, and a pair of
// replicas bound to node-4 and node-5 under a PodDisruptionBudget that
// allows one of them down at a time: the waves must never drain both (and
// a replica evicted from one of them waits, Pending, until its node is
// back: the pair's nodes are the only ones it may run on).
func fleetWorkloads(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	ns := "fleet"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	small := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}}
	deploy := func(name string, replicas int32, spec corev1.PodSpec) {
		labels := map[string]string{"app": name}
		spec.Containers = []corev1.Container{{Name: "app", Image: "docker.io/library/nginx:1.25.5", Resources: small}}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}},
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deploy("web", 5, corev1.PodSpec{})
	deploy("pair", 2, corev1.PodSpec{Affinity: &corev1.Affinity{
		NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-4", "node-5"}}}}}}},
		PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pair"}}, TopologyKey: "kubernetes.io/hostname"}}},
	}})
	one := intstr.FromInt32(1)
	for _, app := range []string{"pair"} {
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns},
			Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
		if _, err := cs.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	WaitFor(t, 90*time.Second, func() (bool, error) {
		for _, app := range []string{"pair"} {
			p, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, app, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if p.Status.ExpectedPods == 0 || p.Status.CurrentHealthy != p.Status.ExpectedPods || p.Status.DisruptionsAllowed != 1 {
				return false, fmt.Errorf("pdb %s: %+v", app, p.Status)
			}
		}
		return true, nil
	})
}

// timeline watches, straight at the API server, which nodes are unavailable
// (cordoned or not Ready) and whether a PodDisruptionBudget ever has fewer
// healthy pods than it wants.
type timeline struct {
	mu             sync.Mutex
	maxUnavailable int
	atMax          []string
	violations     []string
	nodes          map[string]*corev1.Node
}

func watchTimeline(t *testing.T, cs kubernetes.Interface) *timeline {
	tl := &timeline{nodes: map[string]*corev1.Node{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			if nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
				tl.observeNodes(nodes.Items)
			}
			if pdbs, err := cs.PolicyV1().PodDisruptionBudgets("fleet").List(ctx, metav1.ListOptions{}); err == nil {
				tl.observePDBs(pdbs.Items)
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return tl
}

func (tl *timeline) observeNodes(nodes []corev1.Node) {
	var down []string
	for i := range nodes {
		n := &nodes[i]
		if n.Spec.Unschedulable || !NodeReady(n) {
			down = append(down, n.Name)
		}
	}
	sort.Strings(down)
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if len(down) > tl.maxUnavailable {
		tl.maxUnavailable, tl.atMax = len(down), down
	}
}

func (tl *timeline) observePDBs(pdbs []policyv1.PodDisruptionBudget) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, p := range pdbs {
		// The disruption controller counts after it observed the pods; a
		// PDB it has not counted yet (generation not observed) says nothing.
		if p.Status.ObservedGeneration == p.Generation && p.Status.CurrentHealthy < p.Status.DesiredHealthy {
			tl.violations = append(tl.violations, fmt.Sprintf("%s %s: %d healthy < %d desired",
				time.Now().Format("15:04:05.000"), p.Name, p.Status.CurrentHealthy, p.Status.DesiredHealthy))
		}
	}
}

func (tl *timeline) check(t *testing.T, wantMax int) {
	t.Helper()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.maxUnavailable > wantMax {
		t.Errorf("%d nodes were unavailable at once (%v); --max-unavailable is %d", tl.maxUnavailable, tl.atMax, wantMax)
	}
	if tl.maxUnavailable < 2 {
		t.Errorf("never more than %d node unavailable at once: the waves did not run nodes in parallel", tl.maxUnavailable)
	}
	if len(tl.violations) > 0 {
		t.Errorf("PodDisruptionBudgets violated:\n%s", strings.Join(tl.violations, "\n"))
	}
}

// fleetArgs is the fleet command of the issue: every node, two at a time,
// node-1 first, the single control plane accepted.
func fleetArgs(report string) []string {
	return []string{"migrate", "--all", "--max-unavailable", "2", "--canary", "node-1", "--allow-control-plane",
		"--accept", "CRIMIG005", "--yes", "--report", report, "-o", "json"}
}

func runFleet(t *testing.T, f *fleetSandbox, args ...string) ([]StampedEvent, string, int, time.Duration) {
	t.Helper()
	CrimigBinary(t)
	start := time.Now()
	p := StartCrimigAs(t, f.kubeconfig, args...)
	code, stderr := p.Wait(t, crimigTimeout)
	return p.Events(t), stderr, code, time.Since(start)
}

// waves returns the nodes of each "wave i/n" event, in order.
func waves(events []StampedEvent) []string {
	var out []string
	for _, ev := range events {
		if ev.Step == migrate.StepFleet && strings.HasPrefix(ev.Message, "wave ") {
			if i := strings.LastIndex(ev.Message, "["); i >= 0 {
				out = append(out, strings.Trim(ev.Message[i:], "[]"))
			}
		}
	}
	return out
}

func nodeRuntime(t *testing.T, cs kubernetes.Interface, name string) (*corev1.Node, string) {
	t.Helper()
	n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt, _, _ := strings.Cut(n.Status.NodeInfo.ContainerRuntimeVersion, "://")
	return n, rt
}

func stateOf(t *testing.T, n *corev1.Node) *migrate.State {
	t.Helper()
	st, err := migrate.ReadState(n)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestFleet migrates a 6-node cluster with one control-plane node in waves.
// It is not parallel: it runs alone, before the parallel tests, on its own
// sandbox. Its subtests are the checks, in order, on one cluster:
// the single control plane is refused without --accept; a failure injected
// on node-4 stops the run with node-4 back on docker and nodes 5 and 6
// untouched; the same command run again finishes every node, never with more
// than 2 nodes unavailable nor a PodDisruptionBudget violated; and each
// run's --report folder holds the evidence.
func TestFleet(t *testing.T) {
	f := startFleetSandbox(t)
	cs := ClientsetAs(t, f.direct)
	fleetWorkloads(t, cs)
	fleetKubeletConfigMap(t, cs)
	tl := watchTimeline(t, cs)
	workers := []string{"node-1", "node-2", "node-3", "node-4", "node-5"}
	all := append(append([]string{}, workers...), "node-6")

	t.Run("single control plane needs --accept", func(t *testing.T) {
		_, stderr, code := RunCrimigAs(t, f.kubeconfig, "migrate", "--all", "--allow-control-plane", "--yes")
		if code != 1 || !strings.Contains(stderr, "error: node node-6 is the cluster's only control-plane node (CRIMIG005)") ||
			!strings.Contains(stderr, "--accept CRIMIG005") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
		for _, name := range all {
			if n, rt := nodeRuntime(t, cs, name); rt != "docker" || n.Spec.Unschedulable || stateOf(t, n) != nil {
				t.Errorf("%s changed: runtime %s, cordoned %v", name, rt, n.Spec.Unschedulable)
			}
		}
	})

	report1 := filepath.Join(t.TempDir(), "report-1")
	t.Run("failure on node-4 stops the run", func(t *testing.T) {
		node4 := f.node("node-4")
		node4.WriteHostFile(t, "/etc/crio/crio.conf.d/10-local.conf", "[crio.runtime\ncgroup_manager = systemd\n")
		events, stderr, code, elapsed := runFleet(t, f, fleetArgs(report1)...)
		t.Logf("TIMING fleet run stopped by node-4 after %s; waves %q", elapsed.Round(100*time.Millisecond), waves(events))
		if code == 0 {
			t.Fatalf("the fleet run succeeded although crio cannot start on node-4\nstderr:\n%s", stderr)
		}
		if !strings.Contains(stderr, "node-4") || !strings.Contains(stderr, "runs docker again") {
			t.Errorf("stderr does not explain node-4's failure:\n%s", stderr)
		}
		if w := waves(events); len(w) < 3 || w[0] != "node-1" || !strings.Contains(strings.Join(w, ";"), "node-4") {
			t.Errorf("waves %q: want node-1 alone first, then the others", w)
		}
		n4 := WaitNodeOnAs(t, cs, "node-4", "docker://", 60*time.Second)
		if st := stateOf(t, n4); st == nil || st.Phase != migrate.StateFailed {
			t.Errorf("node-4 state %+v, want Failed", st)
		}
		for _, name := range []string{"node-5", "node-6"} {
			n, rt := nodeRuntime(t, cs, name)
			if rt != "docker" || n.Spec.Unschedulable || stateOf(t, n) != nil || len(RunIDs(f.node(name))) != 0 {
				t.Errorf("%s was touched: runtime %s, cordoned %v, state %v, runs on the host %v", name, rt, n.Spec.Unschedulable, stateOf(t, n), RunIDs(f.node(name)))
			}
		}
		for _, name := range []string{"node-1", "node-2", "node-3"} {
			if _, rt := nodeRuntime(t, cs, name); rt != "cri-o" {
				t.Errorf("%s runs %s; the waves before node-4's should have finished", name, rt)
			}
		}
		if err := os.Remove(node4.Path("/etc/crio/crio.conf.d/10-local.conf")); err != nil {
			t.Fatal(err)
		}
		// The ConfigMap took the other edits at the canary, but kept its
		// cgroupDriver: node-2 and node-3 use systemd while docker nodes
		// on cgroupfs remain.
		cm := kubeletConfigData(t, cs)
		for _, want := range []string{"# kubeadm init, 2021", "cgroupDriver: cgroupfs", "runtimeRequestTimeout: 5m", "containerLogMaxSize: ", "containerLogMaxFiles: "} {
			if !strings.Contains(cm, want) {
				t.Errorf("kube-system/kubelet-config lacks %q:\n%s", want, cm)
			}
		}
		if !saidOn(events, "node-2", "kubelet-config left as it is: it changes to systemd once the last docker node is migrated") {
			t.Error("no event on node-2 says why the ConfigMap's cgroupDriver stays while docker nodes remain")
		}
	})

	report2 := filepath.Join(t.TempDir(), "report-2")
	t.Run("re-running finishes the job", func(t *testing.T) {
		n4 := stateOf(t, func() *corev1.Node { n, _ := nodeRuntime(t, cs, "node-4"); return n }())
		events, stderr, code, elapsed := runFleet(t, f, fleetArgs(report2)...)
		if code != 0 {
			t.Fatalf("the re-run exited %d\nstderr:\n%s", code, stderr)
		}
		for _, name := range all {
			n, rt := nodeRuntime(t, cs, name)
			st := stateOf(t, n)
			if rt != "cri-o" || !NodeReady(n) || n.Spec.Unschedulable || st == nil || st.Phase != migrate.StateSucceeded {
				t.Errorf("%s: runtime %s, ready %v, cordoned %v, state %+v", name, rt, NodeReady(n), n.Spec.Unschedulable, st)
			}
		}
		// node-1..3 finished in the first run: not selected again, the
		// canary included.
		for _, ev := range events {
			if ev.Node == "node-1" || ev.Node == "node-2" || ev.Node == "node-3" {
				t.Errorf("the re-run touched %s: %+v", ev.Node, ev.Event)
				break
			}
		}
		if st := stateOf(t, func() *corev1.Node { n, _ := nodeRuntime(t, cs, "node-4"); return n }()); n4 == nil || st == nil || st.RunID != n4.RunID {
			t.Errorf("node-4 did not resume its run %v: now %v", n4, st)
		}
		w := waves(events)
		if len(w) == 0 || w[len(w)-1] != "node-6" {
			t.Errorf("waves %q: the control-plane node must come last, alone", w)
		}
		if !saidOn(events, "node-6", "the API server does not answer") {
			t.Error("no event shows the API server going away while node-6 swapped its runtime")
		}
		// No docker node is left, but node-1 and node-5 run cgroupfs and the
		// last node systemd: the ConfigMap keeps a driver they can all use.
		if cm := kubeletConfigData(t, cs); !strings.Contains(cm, "cgroupDriver: cgroupfs") {
			t.Errorf("kube-system/kubelet-config changed its cgroupDriver although node-1 and node-5 use cgroupfs:\n%s", cm)
		}
		if !saidOn(events, "node-6", "node-1 (cgroupfs), node-5 (cgroupfs) use another driver") {
			t.Error("no event on node-6 says which nodes keep the ConfigMap's cgroupDriver")
		}
		d := StepDurations(events)
		t.Logf("TIMING fleet re-run of 3 nodes (node-4 resumed, node-5, control-plane node-6) in %s: %.2f nodes/min; waves %q; drain %s, swap %s",
			elapsed.Round(100*time.Millisecond), 3/elapsed.Minutes(), w, d["drain"].Round(10*time.Millisecond), d["swap"].Round(10*time.Millisecond))
	})

	t.Run("never more than 2 unavailable, no PDB violated", func(t *testing.T) {
		tl.check(t, 2)
	})

	t.Run("the report folder holds the evidence", func(t *testing.T) {
		perNode := []string{"plan.json", "events.jsonl", "timings.json", "journal.jsonl", "manifest.tsv", "files.diff",
			"files/before/var/lib/kubelet/kubeadm-flags.env", "files/after/var/lib/kubelet/kubeadm-flags.env"}
		// The first run: node-1..3 migrated, node-4 failed and rolled back.
		checkReport(t, report1, []string{"node-1", "node-2", "node-3", "node-4"}, perNode, []string{"node-1", "node-2", "node-3"})
		// The re-run: node-4 resumed (its plan was made by the first run),
		// node-5 and the control-plane node-6 migrated.
		checkReport(t, report2, []string{"node-4", "node-5", "node-6"}, perNode[1:], []string{"node-4", "node-5", "node-6"})
		md, _ := os.ReadFile(filepath.Join(report1, "summary.md"))
		if !strings.Contains(string(md), "| node-4 |") || !strings.Contains(string(md), "Failed") || !strings.Contains(string(md), "Outcome | failed") {
			t.Errorf("report-1 summary.md does not record node-4's failure:\n%s", md)
		}
		diff, _ := os.ReadFile(filepath.Join(report2, "node-6", "files.diff"))
		if !strings.Contains(string(diff), "+++ b/etc/crio/crio.conf.d/90-crimig.conf") {
			t.Errorf("node-6 files.diff lacks the CRI-O drop-in:\n%s", diff)
		}
	})
}

// fleetKubeletConfigMap creates the kubelet-config ConfigMap kubeadm keeps
// in kube-system, as an old cluster has it: cgroupfs, the kubelet's default
// runtime request timeout and no log rotation.
func fleetKubeletConfigMap(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubelet-config"},
		Data: map[string]string{"kubelet": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" +
			"# kubeadm init, 2021\ncgroupDriver: cgroupfs\nclusterDNS:\n- 10.96.0.10\nclusterDomain: cluster.local\n"}}
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func kubeletConfigData(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(context.Background(), "kubelet-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["kubelet"]
}

// saidOn tells whether an event on node says text.
func saidOn(events []StampedEvent, node, text string) bool {
	for _, ev := range events {
		if ev.Node == node && strings.Contains(ev.Message, text) {
			return true
		}
	}
	return false
}

// checkReport checks that dir holds summary.md, summary.json and, for each
// node, the files listed (verification.json for the verified nodes).
func checkReport(t *testing.T, dir string, nodes, files, verified []string) {
	t.Helper()
	for _, f := range []string{"summary.md", "summary.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	for _, n := range nodes {
		if !strings.Contains(string(md), "### "+n) {
			t.Errorf("%s/summary.md has no section for %s", filepath.Base(dir), n)
		}
		for _, f := range files {
			if fi, err := os.Stat(filepath.Join(dir, n, f)); err != nil || (fi.Size() == 0 && f != "files.diff") {
				t.Errorf("%s/%s/%s: missing or empty (%v)", filepath.Base(dir), n, f, err)
			}
		}
	}
	for _, n := range verified {
		if _, err := os.Stat(filepath.Join(dir, n, "verification.json")); err != nil {
			t.Errorf("%s/%s/verification.json: %v", filepath.Base(dir), n, err)
		}
	}
}
