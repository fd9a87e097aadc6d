package controller_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/crimig/kubectl-crimig/test/sim/controller"
	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

type harness struct {
	root string
	h    *host.Host
	cs   *fake.Clientset
	dyn  *dynamicfake.FakeDynamicClient
}

// start builds a root for node-1, fakes the API with the Node and the given
// pods on it, and runs the controller until the test ends.
func start(t *testing.T, fixture string, pods ...*corev1.Pod) *harness {
	t.Helper()
	root := simtest.Root(t, fixture, "node-1")
	h := host.New(root)
	m, err := h.Meta()
	if err != nil {
		t.Fatal(err)
	}
	objs := []runtime.Object{controller.NodeObject("node-1", m)}
	for _, p := range pods {
		objs = append(objs, p)
	}
	cs := fake.NewClientset(objs...)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{controller.ExecGVR: "ExecList"})
	c := &controller.Controller{Client: cs, Dynamic: dyn, Hosts: filepath.Dir(root), KubeletPort: 10247,
		Interval: 50 * time.Millisecond, Log: testWriter{t}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &harness{root: root, h: h, cs: cs, dyn: dyn}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (hs *harness) node(t *testing.T) *corev1.Node {
	t.Helper()
	n, err := hs.cs.CoreV1().Nodes().Get(context.Background(), "node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func ready(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

func (hs *harness) waitNode(t *testing.T, what string, cond func(*corev1.Node) bool) *corev1.Node {
	t.Helper()
	var n *corev1.Node
	simtest.Eventually(t, 10*time.Second, what, func() bool { n = hs.node(t); return cond(n) })
	return n
}

func pod(name string, crimig bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: k8stypes.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	if crimig {
		p.Namespace = "kube-system"
		p.Labels = map[string]string{controller.ManagedByLabel: controller.ManagedByValue}
	}
	return p
}

func TestStatusMirrorsTheHost(t *testing.T) {
	hs := start(t, "ubuntu22")
	n := hs.waitNode(t, "Ready", func(n *corev1.Node) bool { return ready(n) == corev1.ConditionTrue })
	info := n.Status.NodeInfo
	if info.ContainerRuntimeVersion != "docker://27.5.1" || info.KubeletVersion != "v1.33.4" || info.OSImage != "Ubuntu 22.04.5 LTS" {
		t.Errorf("nodeInfo = %+v", info)
	}
	if info.BootID != hs.h.BootID() || n.Status.DaemonEndpoints.KubeletEndpoint.Port != 10247 {
		t.Errorf("bootID %q (host %q), kubelet port %d", info.BootID, hs.h.BootID(), n.Status.DaemonEndpoints.KubeletEndpoint.Port)
	}
	if len(n.Status.Addresses) == 0 || n.Status.Addresses[0].Address != "127.0.0.1" || n.Status.Capacity.Pods().Value() != 110 {
		t.Errorf("addresses %v capacity %v", n.Status.Addresses, n.Status.Capacity)
	}

	hs.h.Stop("kubelet")
	hs.waitNode(t, "kubelet down", func(n *corev1.Node) bool { return ready(n) == corev1.ConditionUnknown })

	// Swap to CRI-O: the runtime version follows the runtime the kubelet uses.
	writeFile(t, hs.root, "/etc/apt/sources.list.d/cri-o.list", "deb https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.33/deb/ /\n")
	hs.h.AptUpdate()
	if _, err := hs.h.Install("apt", []string{"cri-o"}); err != nil {
		t.Fatal(err)
	}
	if _, err := hs.h.Enable("crio"); err != nil {
		t.Fatal(err)
	}
	if err := hs.h.Start("crio"); err != nil {
		t.Fatal(err)
	}
	cfg := readFile(t, hs.root, "/var/lib/kubelet/config.yaml")
	writeFile(t, hs.root, "/var/lib/kubelet/config.yaml", strings.Replace(cfg, "unix:///var/run/cri-dockerd.sock", "unix:///var/run/crio/crio.sock", 1))
	if err := hs.h.Start("kubelet"); err != nil {
		t.Fatal(err)
	}
	hs.waitNode(t, "NotReady while the kubelet warms up", func(n *corev1.Node) bool {
		return ready(n) == corev1.ConditionFalse && n.Status.NodeInfo.ContainerRuntimeVersion == "cri-o://1.33.2"
	})
	hs.waitNode(t, "Ready on cri-o", func(n *corev1.Node) bool {
		return ready(n) == corev1.ConditionTrue && n.Status.NodeInfo.ContainerRuntimeVersion == "cri-o://1.33.2"
	})

	// A reboot: NotReady, then Ready with a new boot id.
	before := hs.h.BootID()
	go hs.h.Reboot(os.Getpid(), 500*time.Millisecond)
	hs.waitNode(t, "NotReady during the reboot", func(n *corev1.Node) bool { return ready(n) != corev1.ConditionTrue })
	n = hs.waitNode(t, "Ready after the reboot", func(n *corev1.Node) bool {
		return ready(n) == corev1.ConditionTrue && n.Status.NodeInfo.BootID != before
	})
	if n.Status.NodeInfo.ContainerRuntimeVersion != "cri-o://1.33.2" {
		t.Errorf("after reboot the node runs %s (crio was enabled? %v)", n.Status.NodeInfo.ContainerRuntimeVersion, hs.h.IsEnabled("crio.service"))
	}
}

// processes starts, in the root, one exec'd process and two detached ones.
func processes(t *testing.T, root string) (execd, unit, setsid []int) {
	t.Helper()
	simtest.Start(t, root, "/bin/sh", "-c", "sleep 301; echo unreachable")
	simtest.Sh(t, root, "systemd-run --unit crimig-run1-swap --collect /bin/sleep 302")
	simtest.Sh(t, root, "setsid sleep 303 </dev/null >/dev/null 2>&1 &")
	simtest.Eventually(t, 5*time.Second, "the processes", func() bool {
		return len(simtest.PidsMatching(root, "sleep 301")) > 0 && len(simtest.PidsMatching(root, "sleep 302")) > 0 &&
			len(simtest.PidsMatching(root, "sleep 303")) > 0
	})
	return simtest.PidsMatching(root, "sleep 301"), simtest.PidsMatching(root, "sleep 302"), simtest.PidsMatching(root, "sleep 303")
}

func allDead(pids []int) bool {
	for _, p := range pids {
		if simtest.Alive(p) {
			return false
		}
	}
	return true
}

func (hs *harness) podGone(name, ns string) bool {
	_, err := hs.cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

func TestRuntimeCrashKillsExecsButNotDetachedJobs(t *testing.T) {
	hs := start(t, "rocky9", pod("web-1", false), pod("crimig-node-1-abcde", true))
	hs.waitNode(t, "Ready", func(n *corev1.Node) bool { return ready(n) == corev1.ConditionTrue })
	execd, unit, setsid := processes(t, hs.root)

	// docker dies without systemctl: only the controller can kill the pod's processes.
	hs.h.Crash("docker.service")
	simtest.Eventually(t, 5*time.Second, "the exec'd process to die", func() bool { return allDead(execd) })
	simtest.Eventually(t, 5*time.Second, "the pods to be deleted", func() bool {
		return hs.podGone("web-1", "default") && hs.podGone("crimig-node-1-abcde", "kube-system")
	})
	if allDead(unit) || allDead(setsid) {
		t.Errorf("a detached process died: systemd-run alive=%v, setsid alive=%v", !allDead(unit), !allDead(setsid))
	}
	n := hs.waitNode(t, "NotReady", func(n *corev1.Node) bool { return ready(n) == corev1.ConditionFalse })
	if n.Status.NodeInfo.ContainerRuntimeVersion != "docker://24.0.9" {
		t.Errorf("runtime version while docker is down: %q (want the last known one)", n.Status.NodeInfo.ContainerRuntimeVersion)
	}
}

func TestSystemctlStopDockerKillsTheExecThatRanIt(t *testing.T) {
	hs := start(t, "centos7", pod("web-1", false))
	hs.waitNode(t, "Ready", func(n *corev1.Node) bool { return ready(n) == corev1.ConditionTrue })
	execd, unit, setsid := processes(t, hs.root)

	// The swap run inline in an exec dies at `systemctl stop docker`.
	out, _, code := simtest.Exec(t, hs.root, "", "/bin/sh", "-c",
		"systemctl stop kubelet; systemctl stop docker; echo swapped; systemctl start kubelet")
	if code == 0 || strings.Contains(out, "swapped") {
		t.Fatalf("the inline swap survived stopping docker: exit %d, %q", code, out)
	}
	simtest.Eventually(t, 5*time.Second, "the other exec'd process to die", func() bool { return allDead(execd) })
	simtest.Eventually(t, 5*time.Second, "the pod to be deleted", func() bool { return hs.podGone("web-1", "default") })
	if allDead(unit) || allDead(setsid) {
		t.Errorf("a detached process died: systemd-run alive=%v, setsid alive=%v", !allDead(unit), !allDead(setsid))
	}
	if hs.h.State("crimig-run1-swap.service") != host.Active {
		t.Errorf("the transient unit is %s", hs.h.State("crimig-run1-swap.service"))
	}
}

func TestExecRoutingGatesCrimigPods(t *testing.T) {
	hs := start(t, "ubuntu22", pod("crimig-node-1-abcde", true), pod("web-1", false))
	var ex *unstructured.Unstructured
	simtest.Eventually(t, 5*time.Second, "the Exec object", func() bool {
		var err error
		ex, err = hs.dyn.Resource(controller.ExecGVR).Namespace("kube-system").Get(context.Background(), "crimig-node-1-abcde", metav1.GetOptions{})
		return err == nil
	})
	envs, _, _ := unstructured.NestedSlice(ex.Object, "spec", "execs")
	local := envs[0].(map[string]any)["local"].(map[string]any)
	got := map[string]string{}
	for _, e := range local["envs"].([]any) {
		m := e.(map[string]any)
		got[m["name"].(string)] = m["value"].(string)
	}
	if got["CRIMIG_SIM_ROOT"] != hs.root || got["CRIMIG_SIM_NODE"] != "node-1" || got["CRIMIG_SIM_POD"] != "crimig-node-1-abcde" {
		t.Errorf("exec envs = %v", got)
	}
	simtest.Eventually(t, 5*time.Second, "the exec-ready annotation", func() bool {
		p, err := hs.cs.CoreV1().Pods("kube-system").Get(context.Background(), "crimig-node-1-abcde", metav1.GetOptions{})
		return err == nil && p.Annotations[controller.ExecReadyAnno] == "true"
	})
	if _, err := hs.dyn.Resource(controller.ExecGVR).Namespace("default").Get(context.Background(), "web-1", metav1.GetOptions{}); err == nil {
		t.Error("an Exec was created for a pod that crimig does not manage")
	}
}

func TestShortImageNamesNeedDockerIOOnCrio(t *testing.T) {
	short := pod("web-1", false)
	short.Spec.Containers[0].Image = "nginx:1.25"
	hs := start(t, "ubuntu22", short)
	hs.waitPodAnnotated(t, "default", "web-1", controller.ImageOKAnno)

	// Swap to CRI-O with Ubuntu's registries.conf, which has no search registries.
	writeFile(t, hs.root, "/etc/apt/sources.list.d/cri-o.list", "deb https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.33/deb/ /\n")
	hs.h.AptUpdate()
	if _, err := hs.h.Install("apt", []string{"cri-o"}); err != nil {
		t.Fatal(err)
	}
	hs.h.Stop("kubelet")
	if err := hs.h.Start("crio"); err != nil {
		t.Fatal(err)
	}
	cfg := readFile(t, hs.root, "/var/lib/kubelet/config.yaml")
	writeFile(t, hs.root, "/var/lib/kubelet/config.yaml", strings.Replace(cfg, "unix:///var/run/cri-dockerd.sock", "unix:///var/run/crio/crio.sock", 1))
	if err := hs.h.Start("kubelet"); err != nil {
		t.Fatal(err)
	}
	hs.waitNode(t, "Ready on cri-o", func(n *corev1.Node) bool {
		return ready(n) == corev1.ConditionTrue && n.Status.NodeInfo.ContainerRuntimeVersion == "cri-o://1.33.2"
	})
	qualified := pod("web-2", false)
	qualified.Spec.Containers[0].Image = "registry.k8s.io/pause:3.10"
	again := pod("web-3", false)
	again.Spec.Containers[0].Image = "nginx:1.25"
	for _, p := range []*corev1.Pod{qualified, again} {
		if _, err := hs.cs.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	hs.waitPodAnnotated(t, "default", "web-2", controller.ImageOKAnno)
	time.Sleep(500 * time.Millisecond)
	p, _ := hs.cs.CoreV1().Pods("default").Get(context.Background(), "web-3", metav1.GetOptions{})
	if p.Annotations[controller.ImageOKAnno] != "" {
		t.Fatal("a short image name was resolved by CRI-O without unqualified-search registries")
	}
	if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Waiting == nil || cs[0].State.Waiting.Reason != "ImageInspectError" {
		t.Errorf("blocked pod's container statuses: %+v", cs)
	}
	writeFile(t, hs.root, "/etc/containers/registries.conf.d/90-crimig.conf", "unqualified-search-registries = [\"docker.io\"]\n")
	hs.waitPodAnnotated(t, "default", "web-3", controller.ImageOKAnno)
}

func (hs *harness) waitPodAnnotated(t *testing.T, ns, name, anno string) {
	t.Helper()
	simtest.Eventually(t, 10*time.Second, name+" "+anno, func() bool {
		p, err := hs.cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && p.Annotations[anno] == "true"
	})
}

func writeFile(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, root, p string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
