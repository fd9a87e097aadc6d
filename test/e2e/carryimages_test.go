package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// agentImage is the DaemonSet's image; the fixtures' docker stores hold it.
const agentImage = "quay.io/prometheus/node-exporter:v1.8.2"

// TestCarryImages migrates air-gapped rocky9 nodes to CRI-O from the offline
// bundle. The host has podman (from the site's mirror) but reaches no
// registry: after the swap CRI-O's store holds only what was put there.
// With --carry-images the DaemonSet pod runs again on CRI-O; without it,
// and with only crimig's image and the pause image loaded by hand, the
// migration succeeds but the DaemonSet pod cannot pull its image.
func TestCarryImages(t *testing.T) {
	t.Parallel()
	bundle := filepath.Join(t.TempDir(), "cri-o.amd64.v1.29.1.tar.gz")
	sim := filepath.Join(SandboxDir(), "bin", "crimig-sim")
	if out, err := exec.Command(sim, "make-bundle", "--version", "1.29.1", "--out", bundle).CombinedOutput(); err != nil {
		t.Fatalf("crimig-sim make-bundle: %v\n%s", err, out)
	}
	t.Run("carried", func(t *testing.T) {
		t.Parallel()
		n, ns, before := airGappedNode(t)
		plan, _, _, _ := PlanJSON(t, n.Name, "--to", "cri-o", "--source", "bundle="+bundle)
		np := NodePlanOf(t, plan, n.Name)
		for _, want := range []string{"registry.k8s.io/pause:3.9", agentImage} {
			if !slices.Contains(np.Images, want) {
				t.Errorf("the plan's images %v lack %s", np.Images, want)
			}
		}

		events, stderr, code, elapsed := RunMigration(t, migrateArgs(n.Name, "--to", "cri-o", "--source", "bundle="+bundle, "--carry-images")...)
		if code != 0 {
			t.Fatalf("migrate exited %d\nstderr:\n%s", code, stderr)
		}
		LogTimings(t, "air-gapped rocky9 --carry-images", events, elapsed)
		t.Logf("TIMING carry-images step: %s", StepDurations(events)[inspect.StepCarryImages].Round(10*time.Millisecond))
		WaitNodeOn(t, n.Name, "cri-o://", 10*time.Second)
		if msg := stepInfo(events, inspect.StepCarryImages); !strings.Contains(msg, "image(s) copied from docker into the cri-o image store, 0 already there") ||
			strings.Contains(msg, "not in docker's store") {
			t.Errorf("carry-images reported %q", msg)
		}
		// The pause image, the DaemonSet's and crimig's own (node pods and
		// smoke test) are in the store CRI-O shares with podman.
		store := n.ReadHostFile(t, "/var/lib/sim/images/containers-storage")
		for _, want := range []string{"registry.k8s.io/pause:3.9", agentImage, "docker.io/library/busybox:1.36"} {
			if !strings.Contains(store, want+"\n") {
				t.Errorf("containers-storage lacks %s:\n%s", want, store)
			}
		}
		if _, err := os.Stat(n.Path("/var/lib/crimig/" + NodeState(t, n.Name).RunID + "/images.tar")); err == nil {
			t.Error("the image archive is left on the host")
		}
		// The DaemonSet's pod came back on CRI-O, from the carried image.
		waitAgentBack(t, ns, n.Name, before)
	})
	// ubuntu22's docker keeps its data in /data/docker, so CRI-O's root is
	// /data/containers/storage: podman must load the images there, not
	// into its default store, which CRI-O does not read.
	t.Run("carried-to-a-moved-root", func(t *testing.T) {
		t.Parallel()
		bundle133 := filepath.Join(t.TempDir(), "cri-o.amd64.v1.33.2.tar.gz")
		if out, err := exec.Command(sim, "make-bundle", "--version", "1.33.2", "--out", bundle133).CombinedOutput(); err != nil {
			t.Fatalf("crimig-sim make-bundle: %v\n%s", err, out)
		}
		n, ns, before := airGappedNodeOf(t, "ubuntu22", "apt-get")
		_, stderr, code, _ := RunMigration(t, migrateArgs(n.Name, "--to", "cri-o", "--source", "bundle="+bundle133, "--carry-images")...)
		if code != 0 {
			t.Fatalf("migrate exited %d\nstderr:\n%s", code, stderr)
		}
		WaitNodeOn(t, n.Name, "cri-o://", 10*time.Second)
		if conf := n.ReadHostFile(t, "/etc/crio/crio.conf.d/90-crimig.conf"); !strings.Contains(conf, `root = "/data/containers/storage"`) {
			t.Fatalf("the CRI-O drop-in does not move the root:\n%s", conf)
		}
		store := n.ReadHostFile(t, "/var/lib/sim/images/containers-storage@data_containers_storage")
		for _, want := range []string{"registry.k8s.io/pause:3.10", agentImage, "docker.io/library/busybox:1.36"} {
			if !strings.Contains(store, want+"\n") {
				t.Errorf("the store at /data/containers/storage lacks %s:\n%s", want, store)
			}
		}
		if def, err := os.ReadFile(n.Path("/var/lib/sim/images/containers-storage")); err == nil && strings.Contains(string(def), agentImage) {
			t.Errorf("the images went to podman's default store, which CRI-O does not read:\n%s", def)
		}
		waitAgentBack(t, ns, n.Name, before)
	})
	t.Run("not-carried", func(t *testing.T) {
		t.Parallel()
		n, ns, before := airGappedNode(t)
		// The operator loaded crimig's own image and the pause image by
		// hand, but not the DaemonSet's.
		simConsole(t, n, "docker save -o /tmp/crimig.tar docker.io/library/busybox:1.36 registry.k8s.io/pause:3.9 && podman load -i /tmp/crimig.tar >/dev/null && rm /tmp/crimig.tar")

		events, stderr, code, _ := RunMigration(t, migrateArgs(n.Name, "--to", "cri-o", "--source", "bundle="+bundle)...)
		if code != 0 {
			t.Fatalf("migrate exited %d\nstderr:\n%s", code, stderr)
		}
		WaitNodeOn(t, n.Name, "cri-o://", 10*time.Second)
		if !hasPhase(events, inspect.StepCarryImages, migrate.PhaseSkipped) {
			t.Errorf("carry-images was not skipped without --carry-images")
		}
		// The DaemonSet's new pod cannot pull its image: it stays Pending.
		var msg string
		cs := Clientset(t)
		WaitFor(t, 60*time.Second, func() (bool, error) {
			p, err := agentPod(cs, ns, n.Name)
			if err != nil {
				return false, err
			}
			if string(p.UID) == before {
				return false, fmt.Errorf("agent pod %s not recreated yet", p.Name)
			}
			if PodReady(p) {
				t.Fatalf("the DaemonSet pod runs on an air-gapped node without its image")
			}
			msg = podWaiting(p)
			if !strings.HasPrefix(msg, "ErrImagePull: ") {
				return false, fmt.Errorf("agent pod %s: %q", p.Name, msg)
			}
			return true, nil
		})
		if !strings.Contains(msg, agentImage) {
			t.Errorf("ErrImagePull message does not name the image: %s", msg)
		}
		if store := n.ReadHostFile(t, "/var/lib/sim/images/containers-storage"); strings.Contains(store, agentImage) {
			t.Errorf("the DaemonSet's image reached containers-storage:\n%s", store)
		}
	})
	t.Run("no-podman", func(t *testing.T) {
		t.Parallel()
		_, stderr, code := RunCrimig(t, "migrate", "x", "--yes", "--carry-images", "--no-podman")
		if code == 0 || !strings.Contains(stderr, "error: --carry-images loads images with podman; drop --no-podman") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
	})
}

// airGappedNode adds a rocky9 node with podman installed, a DaemonSet pod
// running on it, and then cuts it off from every registry. It returns the
// node, the DaemonSet's namespace and its pod's UID.
func airGappedNode(t *testing.T) (*SimNode, string, string) {
	t.Helper()
	return airGappedNodeOf(t, "rocky9", "dnf")
}

// airGappedNodeOf is airGappedNode on another fixture, whose package
// manager is pm.
func airGappedNodeOf(t *testing.T, fixture, pm string) (*SimNode, string, string) {
	t.Helper()
	n := AddSimNode(t, fixture, "carry")
	simConsole(t, n, pm+" install -y podman >/dev/null")
	n.WriteHostFile(t, "/var/lib/sim/offline", "")
	ns := NewNamespace(t, "carry")
	cs := Clientset(t)
	labels := map[string]string{"app": "agent"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/hostname": n.Name},
					Containers:   []corev1.Container{{Name: "agent", Image: agentImage, ImagePullPolicy: corev1.PullIfNotPresent}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().DaemonSets(ns).Create(context.Background(), ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var uid string
	WaitFor(t, workloadsTimeout, func() (bool, error) {
		p, err := agentPod(cs, ns, n.Name)
		if err != nil {
			return false, err
		}
		if !PodReady(p) {
			return false, fmt.Errorf("agent pod %s: %s", p.Name, podWaiting(p))
		}
		uid = string(p.UID)
		return true, nil
	})
	return n, ns, uid
}

// waitAgentBack waits until the DaemonSet's pod on node is a new one (not
// the pod with UID before) and Ready.
func waitAgentBack(t *testing.T, ns, node, before string) {
	t.Helper()
	cs := Clientset(t)
	WaitFor(t, 60*time.Second, func() (bool, error) {
		p, err := agentPod(cs, ns, node)
		if err != nil {
			return false, err
		}
		if string(p.UID) == before || !PodReady(p) {
			return false, fmt.Errorf("agent pod %s (uid %s): %s", p.Name, p.UID, podWaiting(p))
		}
		return true, nil
	})
}

// agentPod returns the DaemonSet's live pod on node.
func agentPod(cs kubernetes.Interface, ns, node string) (*corev1.Pod, error) {
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=agent", FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return nil, err
	}
	for i := range pods.Items {
		if pods.Items[i].DeletionTimestamp == nil {
			return &pods.Items[i], nil
		}
	}
	return nil, fmt.Errorf("no agent pod on %s in %s", node, ns)
}

// podWaiting is "Reason: message" of the pod's first waiting container.
func podWaiting(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			return w.Reason + ": " + w.Message
		}
	}
	return string(p.Status.Phase)
}

// simConsole runs a script on the node's console (crimig-sim console).
func simConsole(t *testing.T, n *SimNode, script string) {
	t.Helper()
	sim := filepath.Join(SandboxDir(), "bin", "crimig-sim")
	if out, err := exec.Command(sim, "console", n.Root(), "/bin/sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("node %s console: %s: %v\n%s", n.Name, script, err, out)
	}
}

// stepInfo joins the info messages of a step.
func stepInfo(events []StampedEvent, step string) string {
	var out []string
	for _, ev := range events {
		if ev.Step == step && ev.Phase == migrate.PhaseInfo {
			out = append(out, ev.Message)
		}
	}
	return strings.Join(out, "; ")
}

func hasPhase(events []StampedEvent, step string, phase migrate.Phase) bool {
	for _, ev := range events {
		if ev.Step == step && ev.Phase == phase {
			return true
		}
	}
	return false
}
