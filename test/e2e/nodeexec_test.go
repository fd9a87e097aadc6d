package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// newNodeExec returns an Executor on the sandbox that is closed when the test
// ends, and a log of its events.
func newNodeExec(t testing.TB, opts nodeexec.Options) (*nodeexec.Executor, *eventLog) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", Kubeconfig())
	if err != nil {
		t.Fatalf("loading %s: %v", Kubeconfig(), err)
	}
	log := &eventLog{}
	opts.OnEvent = log.add
	e, err := nodeexec.New(cfg, Clientset(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Errorf("closing the executor: %v", err)
		}
	})
	return e, log
}

type eventLog struct {
	mu     sync.Mutex
	events []nodeexec.Event
}

func (l *eventLog) add(ev nodeexec.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *eventLog) count(kind nodeexec.EventKind, node string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.events {
		if ev.Kind == kind && ev.Node == node {
			n++
		}
	}
	return n
}

// simHost is the part of a fixture's var/lib/sim/host.json the tests compare.
type simHost struct {
	Fixture        string `json:"fixture"`
	DockerVersion  string `json:"dockerVersion"`
	PackageManager string `json:"packageManager"`
	CgroupVersion  int    `json:"cgroupVersion"`
	KubeletEnvFile string `json:"kubeletEnvFile"`
}

func readSimHost(t *testing.T, node string) simHost {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(HostRoot(node), "var/lib/sim/host.json"))
	if err != nil {
		t.Fatalf("reading the simulated host of %s: %v", node, err)
	}
	var h simHost
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// simNodes lists the simulated nodes by fixture.
func simNodes(t testing.TB, cs kubernetes.Interface) map[string]string {
	t.Helper()
	nodes, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: "sim.crimig.io/fixture"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range nodes.Items {
		out[n.Labels["sim.crimig.io/fixture"]] = n.Name
	}
	for _, f := range []string{"centos7", "rocky9", "ubuntu22"} {
		if out[f] == "" {
			t.Fatalf("no sandbox node with fixture %s (nodes: %v)", f, out)
		}
	}
	return out
}

// credentials returns every auth value in a host's docker config, encoded and decoded.
func credentials(t *testing.T, node string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(HostRoot(node), "root/.docker/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range cfg.Auths {
		out = append(out, a.Auth)
		if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
			_, pass, _ := strings.Cut(string(dec), ":")
			out = append(out, pass)
		}
	}
	if len(out) == 0 {
		t.Fatalf("the fixture of %s has no credentials to look for", node)
	}
	return out
}

func TestNodeExecFactsOnEveryFixture(t *testing.T) {
	cs := Clientset(t)
	e, events := newNodeExec(t, nodeexec.Options{})
	nodes := simNodes(t, cs)
	names := make([]string, 0, len(nodes))
	for _, n := range nodes {
		names = append(names, n)
	}
	slices.Sort(names)

	var mu sync.Mutex
	err := e.ForEachNode(context.Background(), names, func(ctx context.Context, node string) error {
		start := time.Now()
		if _, err := e.Run(ctx, node, "true", nil); err != nil {
			return err
		}
		cold := time.Since(start)
		start = time.Now()
		if _, err := e.Run(ctx, node, "true", nil); err != nil {
			return err
		}
		warm := time.Since(start)
		start = time.Now()
		res, err := e.Run(ctx, node, hostscripts.Get(hostscripts.Facts), nil)
		if err != nil {
			return err
		}
		facts := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		t.Logf("%s: pod create to first exec done %v; next exec %v; facts.sh %v (%d bytes); SPDY fallbacks %d",
			node, cold.Round(time.Millisecond), warm.Round(time.Millisecond), facts.Round(time.Millisecond),
			len(res.Stdout), events.count(nodeexec.EventSPDYFallback, node))
		checkFixtureFacts(t, node, res)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkFixtureFacts(t *testing.T, node string, res nodeexec.Result) {
	t.Helper()
	if res.ExitCode != 0 {
		t.Errorf("%s: facts.sh exited %d: %s", node, res.ExitCode, res.Stderr)
		return
	}
	for _, secret := range credentials(t, node) {
		if strings.Contains(string(res.Stdout), secret) || strings.Contains(string(res.Stderr), secret) {
			t.Errorf("%s: facts output contains the registry credential %q", node, secret)
		}
	}
	f, err := hostscripts.ParseFacts(res.Stdout)
	if err != nil {
		t.Errorf("%s: %v", node, err)
		return
	}
	want := readSimHost(t, node)
	osIDs := map[string]string{"centos7": "centos", "rocky9": "rocky", "ubuntu22": "ubuntu"}
	pms := map[string]string{"yum": "yum", "dnf": "dnf", "apt": "apt"}
	daemon, _ := os.ReadFile(filepath.Join(HostRoot(node), "etc/docker/daemon.json"))
	checks := []struct {
		what      string
		got, want any
	}{
		{"os id", f.OS.ID, osIDs[want.Fixture]},
		{"package manager", f.PackageManager, pms[want.PackageManager]},
		{"systemd", f.Systemd, true},
		{"docker version", f.Docker.Version, want.DockerVersion},
		{"cgroup version", f.Cgroup.Version, want.CgroupVersion},
		{"daemon.json", deref(f.Docker.DaemonJSON), string(daemon)},
		{"registries", len(f.Docker.Registries), 2},
		{"kubelet found", len(f.Kubelet.Cmdline) > 0 && strings.HasSuffix(f.Kubelet.Cmdline[0], "kubelet"), true},
		{"kubelet flags file", f.Kubelet.FlagsFiles["/var/lib/kubelet/kubeadm-flags.env"] != "", true},
		{"extra args file", hasKey(f.Kubelet.FlagsFiles, want.KubeletEnvFile), true},
		{"config.yaml", f.Kubelet.ConfigYAML != nil, true},
		{"overlay module", f.Kernel.Modules["overlay"], moduleLoaded(node, "overlay")},
		{"br_netfilter module", f.Kernel.Modules["br_netfilter"], moduleLoaded(node, "br_netfilter")},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s (%s): %s = %v, want %v", node, want.Fixture, c.what, c.got, c.want)
		}
	}
	var callers []string
	for _, c := range f.DockerCallers {
		callers = append(callers, c.Path)
	}
	for _, p := range []string{"/etc/cron.d/docker-prune", "/usr/local/bin/pull-base-images.sh"} {
		if !slices.Contains(callers, p) {
			t.Errorf("%s: docker callers %v lack %s", node, callers, p)
		}
	}
}

// moduleLoaded reads the simulated host's /proc/modules.
func moduleLoaded(node, module string) bool {
	raw, _ := os.ReadFile(filepath.Join(HostRoot(node), "proc/modules"))
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, module+" ") {
			return true
		}
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// patternReader yields n pseudo-random bytes without holding them.
type patternReader struct {
	rng  *rand.ChaCha8
	left int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, _ := r.rng.Read(p)
	r.left -= int64(n)
	return n, nil
}

func TestNodeExecUpload50MB(t *testing.T) {
	const size = 50 << 20
	node := simNodes(t, Clientset(t))["rocky9"]
	e, _ := newNodeExec(t, nodeexec.Options{})
	if _, err := e.Run(context.Background(), node, "true", nil); err != nil {
		t.Fatal(err)
	}
	seed := [32]byte{'c', 'r', 'i', 'm', 'i', 'g'}
	want := sha256.New()
	if _, err := io.Copy(want, &patternReader{rng: rand.NewChaCha8(seed), left: size}); err != nil {
		t.Fatal(err)
	}
	dest := "/var/tmp/crimig-e2e/upload-" + e.RunID() + ".bin"
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Join(HostRoot(node), "var/tmp/crimig-e2e")) })

	start := time.Now()
	err := e.Upload(context.Background(), node, dest, &patternReader{rng: rand.NewChaCha8(seed), left: size}, size, 0o600)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("50 MiB upload to %s: %v (%.1f MiB/s)", node, took.Round(time.Millisecond), 50/took.Seconds())

	f, err := os.Open(filepath.Join(HostRoot(node), dest))
	if err != nil {
		t.Fatalf("the upload is not on the host: %v", err)
	}
	defer f.Close()
	got := sha256.New()
	if _, err := io.Copy(got, f); err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got.Sum(nil)) != hex.EncodeToString(want.Sum(nil)) {
		t.Error("the file on the host has a different sha256")
	}
	if st, _ := f.Stat(); st.Size() != size || st.Mode().Perm() != 0o600 {
		t.Errorf("size %d mode %v, want %d and 0600", st.Size(), st.Mode().Perm(), size)
	}
}

// dockerNode picks a Ready node whose pods run on docker, preferring ubuntu22.
func dockerNode(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	nodes := simNodes(t, cs)
	for _, f := range []string{"ubuntu22", "rocky9", "centos7"} {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), nodes[f], metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rt, _ := os.ReadFile(filepath.Join(HostRoot(n.Name), "var/lib/sim/pods-runtime"))
		if NodeReady(n) && strings.TrimSpace(string(rt)) == "docker" {
			return n.Name
		}
	}
	t.Fatal("no Ready sandbox node runs its pods on docker")
	return ""
}

// The job stops docker, which kills the exec pod and every process exec'd
// through it, then starts docker again. The job must survive, an inline exec
// must not, and the journal is read back through a new pod.
const survivorJob = `crimig_journal stop-docker started
systemctl stop docker
crimig_journal stop-docker done
sleep 2
systemctl start docker
if systemctl cat cri-docker.service >/dev/null 2>&1; then systemctl start cri-docker; fi
crimig_journal start-docker done "$NOTE"
`

func TestNodeExecDetachedJobSurvivesDockerStop(t *testing.T) {
	t.Run("systemd-run", func(t *testing.T) { detachedJobSurvives(t, "systemd") })
	t.Run("setsid", func(t *testing.T) { detachedJobSurvives(t, "setsid") })
}

// detachedJobSurvives runs survivorJob; mode setsid hides the host's
// /run/systemd/system for the test, as on a host without systemd.
func detachedJobSurvives(t *testing.T, mode string) {
	cs := Clientset(t)
	node := dockerNode(t, cs)
	if mode == "setsid" {
		dir := filepath.Join(HostRoot(node), "run/systemd/system")
		if err := os.Rename(dir, dir+".e2e-hidden"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Rename(dir+".e2e-hidden", dir) })
	}
	e, events := newNodeExec(t, nodeexec.Options{})
	ctx := context.Background()
	if _, err := e.Run(ctx, node, "true", nil); err != nil {
		t.Fatal(err)
	}
	inline := make(chan error, 1)
	go func() {
		res, err := e.Run(ctx, node, "sleep 60; echo survived", nil)
		if err == nil {
			err = fmt.Errorf("the inline exec survived docker stopping: exit %d, %q", res.ExitCode, res.Stdout)
		}
		inline <- err
	}()
	time.Sleep(500 * time.Millisecond)
	runID := e.RunID()
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Join(HostRoot(node), "var/lib/crimig", runID)) })
	if err := e.StartDetached(ctx, node, runID, "survivor", survivorJob, map[string]string{"NOTE": "it's back"}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-inline:
		if !errors.Is(err, nodeexec.ErrStreamBroken) {
			t.Errorf("inline exec: %v, want ErrStreamBroken", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the inline exec did not end when docker stopped")
	}
	WaitFor(t, 90*time.Second, func() (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil && NodeReady(n), nil
	})
	var st nodeexec.JobStatus
	WaitFor(t, 60*time.Second, func() (bool, error) {
		var err error
		st, err = e.JobStatus(ctx, node, runID, "survivor")
		return err == nil && st.State != nodeexec.JobRunning, err
	})
	if st.State != nodeexec.JobSucceeded {
		t.Fatalf("job ended %s (exit %d): %+v", st.State, st.ExitCode, st.Entries)
	}
	entries, err := e.JobLog(ctx, node, runID)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, en := range entries {
		steps = append(steps, en.Step+"/"+en.Phase)
	}
	want := "/started stop-docker/started stop-docker/done start-docker/done /exited"
	if got := strings.Join(steps, " "); got != want {
		t.Errorf("journal %s, want %s", got, want)
	}
	if n := events.count(nodeexec.EventPodCreating, node); n != 2 {
		t.Errorf("%d pods created on %s, want 2 (the journal is read through a new pod)", n, node)
	}
	if len(entries) > 0 && !strings.Contains(entries[0].Message, "("+mode+")") {
		t.Errorf("the job did not run under %s: %q", mode, entries[0].Message)
	}
}

func TestNodeExecCancelLeavesNoPod(t *testing.T) {
	cs := Clientset(t)
	node := simNodes(t, cs)["rocky9"]
	e, _ := newNodeExec(t, nodeexec.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.Run(ctx, node, "sleep 120", nil)
		done <- err
	}()
	WaitFor(t, 60*time.Second, func() (bool, error) { return len(runPods(t, cs, e.RunID())) == 1, nil })
	time.Sleep(time.Second)
	cancel() // what Ctrl-C does
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 30*time.Second, func() (bool, error) { return len(runPods(t, cs, e.RunID())) == 0, nil })
}

func runPods(t *testing.T, cs kubernetes.Interface, runID string) []corev1.Pod {
	t.Helper()
	pods, err := cs.CoreV1().Pods(nodeexec.DefaultNamespace).List(context.Background(),
		metav1.ListOptions{LabelSelector: nodeexec.LabelRunID + "=" + runID})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return pods.Items
}

func TestNodeExecRestrictedNamespace(t *testing.T) {
	cs := Clientset(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   "crimig-e2e-restricted",
		Labels: map[string]string{nodeexec.LabelPodSecurityEnforce: "restricted", nodeexec.LabelManagedBy: nodeexec.ManagedBy},
	}}
	freshNamespace(t, cs, ns)

	e, events := newNodeExec(t, nodeexec.Options{Namespace: ns.Name})
	node := simNodes(t, cs)["rocky9"]
	_, err := e.Run(ctx, node, "true", nil)
	var pe *nodeexec.NamespacePolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a NamespacePolicyError", err)
	}
	if !strings.Contains(err.Error(), "kubectl label ns crimig-e2e-restricted pod-security.kubernetes.io/enforce=privileged --overwrite") {
		t.Errorf("the error does not say how to fix it: %v", err)
	}
	t.Logf("user sees: %v", err)
	if n := events.count(nodeexec.EventPodCreating, node); n != 0 {
		t.Errorf("%d pods were attempted in a restricted namespace", n)
	}
}

func TestNodeExecCleanupOrphans(t *testing.T) {
	cs := Clientset(t)
	node := simNodes(t, cs)["centos7"]
	cfg, err := clientcmd.BuildConfigFromFlags("", Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	// An executor that "dies" without Close, with a 1s pod deadline.
	dead, err := nodeexec.New(cfg, cs, nodeexec.Options{Deadline: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Run(context.Background(), node, "true", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	deleted, err := nodeexec.CleanupOrphans(context.Background(), cs, nodeexec.DefaultNamespace)
	if err != nil {
		t.Fatal(err)
	}
	pods := runPods(t, cs, dead.RunID())
	if len(pods) != 0 && pods[0].DeletionTimestamp == nil {
		t.Errorf("the expired pod %s was not cleaned up (deleted %v)", pods[0].Name, deleted)
	}
}

// A policy engine other than PodSecurity says no: the error names it and
// carries its message. A ValidatingAdmissionPolicy stands in for Kyverno or
// Gatekeeper, which answer through the same API status.
func TestNodeExecAdmissionPolicyDenial(t *testing.T) {
	cs := Clientset(t)
	ctx := context.Background()
	const name = "crimig-e2e-no-hostpid"
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"crimig-e2e": "vap", nodeexec.LabelManagedBy: nodeexec.ManagedBy}}}
	freshNamespace(t, cs, ns)
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptrTo(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
				},
			}}},
			Validations: []admissionv1.Validation{{
				Expression: "!has(object.spec.hostPID) || !object.spec.hostPID",
				Message:    "hostPID pods are not allowed in this namespace",
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"crimig-e2e": "vap"},
			}},
		},
	}
	vap := cs.AdmissionregistrationV1()
	if _, err := vap.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := vap.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bg := context.Background()
		_ = vap.ValidatingAdmissionPolicyBindings().Delete(bg, name, metav1.DeleteOptions{})
		_ = vap.ValidatingAdmissionPolicies().Delete(bg, name, metav1.DeleteOptions{})
	})

	node := simNodes(t, cs)["rocky9"]
	var last error
	// The API server needs a moment to load a new policy.
	WaitFor(t, 30*time.Second, func() (bool, error) {
		e, _ := newNodeExec(t, nodeexec.Options{Namespace: name})
		_, last = e.Run(ctx, node, "true", nil)
		var ae *nodeexec.AdmissionError
		return errors.As(last, &ae), nil
	})
	var ae *nodeexec.AdmissionError
	errors.As(last, &ae)
	t.Logf("user sees: %v", last)
	if !strings.Contains(ae.Admission, name) || !strings.Contains(ae.Message, "hostPID pods are not allowed") {
		t.Errorf("admission %q message %q", ae.Admission, ae.Message)
	}
}

func ptrTo[T any](v T) *T { return &v }

// freshNamespace creates ns, after a left-over one of the same name is gone,
// and deletes it when the test ends.
func freshNamespace(t *testing.T, cs kubernetes.Interface, ns *corev1.Namespace) {
	t.Helper()
	waitNamespaceGone(t, ns.Name)
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		waitNamespaceGone(t, ns.Name)
	})
}

// PodSecurity itself says no when a namespace is tightened after crimig
// checked it: the error names PodSecurity and its level.
func TestNodeExecPodSecurityRejection(t *testing.T) {
	cs := Clientset(t)
	ctx := context.Background()
	const name = "crimig-e2e-tightened"
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{nodeexec.LabelManagedBy: nodeexec.ManagedBy}}}
	freshNamespace(t, cs, ns)
	nodes := simNodes(t, cs)
	e, _ := newNodeExec(t, nodeexec.Options{Namespace: name})
	if _, err := e.Run(ctx, nodes["rocky9"], "true", nil); err != nil {
		t.Fatal(err)
	}
	Kubectl(t, "label", "ns", name, nodeexec.LabelPodSecurityEnforce+"=baseline", "--overwrite")
	_, err := e.Run(ctx, nodes["ubuntu22"], "true", nil)
	var ae *nodeexec.AdmissionError
	if !errors.As(err, &ae) || !strings.HasPrefix(ae.Admission, "PodSecurity (baseline") {
		t.Fatalf("err = %v, want a PodSecurity AdmissionError", err)
	}
	t.Logf("user sees: %v", err)
	if !strings.Contains(err.Error(), "kubectl label ns "+name+" pod-security.kubernetes.io/enforce=privileged --overwrite") {
		t.Errorf("the error does not say how to fix it")
	}
}

// A pod deleted behind crimig's back (someone ran kubectl delete, or a
// reboot took it) is replaced on the next call; the script never ran, so
// running it on a fresh pod is safe.
func TestNodeExecReplacesADeletedPod(t *testing.T) {
	cs := Clientset(t)
	node := simNodes(t, cs)["ubuntu22"]
	e, events := newNodeExec(t, nodeexec.Options{})
	ctx := context.Background()
	if _, err := e.Run(ctx, node, "true", nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range runPods(t, cs, e.RunID()) {
		if err := cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
			t.Fatal(err)
		}
	}
	WaitFor(t, 30*time.Second, func() (bool, error) { return len(runPods(t, cs, e.RunID())) == 0, nil })
	res, err := e.Run(ctx, node, "echo fresh", nil)
	if err != nil || string(res.Stdout) != "fresh\n" {
		t.Fatalf("Run after the pod was deleted: %q, %v", res.Stdout, err)
	}
	if n := events.count(nodeexec.EventPodCreating, node); n != 2 {
		t.Errorf("%d pods created, want 2", n)
	}
}

// Benchmarks for the figures in the nodeexec notes; run with
// go test ./test/e2e -run '^$' -bench NodeExec -benchtime 5x

func BenchmarkNodeExecPodStartToExec(b *testing.B) {
	cfg, err := clientcmd.BuildConfigFromFlags("", Kubeconfig())
	if err != nil {
		b.Fatal(err)
	}
	cs := Clientset(b)
	node := simNodes(b, cs)["rocky9"]
	for b.Loop() {
		e, err := nodeexec.New(cfg, cs, nodeexec.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Run(context.Background(), node, "true", nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := e.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func BenchmarkNodeExecWarmRun(b *testing.B) {
	node := simNodes(b, Clientset(b))["rocky9"]
	e, _ := newNodeExec(b, nodeexec.Options{})
	if _, err := e.Run(context.Background(), node, "true", nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.Run(context.Background(), node, "true", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNodeExecUpload50MB(b *testing.B) {
	const size = 50 << 20
	node := simNodes(b, Clientset(b))["rocky9"]
	e, _ := newNodeExec(b, nodeexec.Options{})
	if _, err := e.Run(context.Background(), node, "true", nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(filepath.Join(HostRoot(node), "var/tmp/crimig-e2e")) })
	b.SetBytes(size)
	for b.Loop() {
		src := &patternReader{rng: rand.NewChaCha8([32]byte{}), left: size}
		if err := e.Upload(context.Background(), node, "/var/tmp/crimig-e2e/bench.bin", src, size, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}
