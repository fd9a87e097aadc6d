package controller_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/crimig/kubectl-crimig/test/sim/apiproxy"
	"github.com/crimig/kubectl-crimig/test/sim/controller"
	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

// startRoot runs the controller over an already built root named node-1,
// with gate as its API server (nil: none).
func startRoot(t *testing.T, root string, gate controller.APIServerGate) *harness {
	t.Helper()
	h := host.New(root)
	m, err := h.Meta()
	if err != nil {
		t.Fatal(err)
	}
	node := controller.NodeObject("node-1", m)
	node.UID = "uid-node-1"
	cs := fake.NewClientset(node)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{controller.ExecGVR: "ExecList", controller.LogsGVR: "LogsList"})
	c := &controller.Controller{Client: cs, Dynamic: dyn, Hosts: filepath.Dir(root), KubeletPort: 10247,
		Interval: 50 * time.Millisecond, Log: testWriter{t}, APIServer: gate}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &harness{root: root, h: h, cs: cs, dyn: dyn}
}

func (hs *harness) mirrorPods(t *testing.T) map[string]*corev1.Pod {
	t.Helper()
	list, err := hs.cs.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*corev1.Pod{}
	for i := range list.Items {
		p := &list.Items[i]
		if _, ok := p.Annotations[controller.ConfigMirrorAnno]; ok {
			out[p.Namespace+"/"+p.Name] = p
		}
	}
	return out
}

func keys(m map[string]*corev1.Pod) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

const allMirrors = "kube-system/etcd-node-1 kube-system/kube-apiserver-node-1 kube-system/kube-controller-manager-node-1 kube-system/kube-scheduler-node-1"

func (hs *harness) waitMirrors(t *testing.T, what, want string) map[string]*corev1.Pod {
	t.Helper()
	var got map[string]*corev1.Pod
	simtest.Eventually(t, 10*time.Second, what+" (mirror pods: "+want+")", func() bool {
		got = hs.mirrorPods(t)
		return keys(got) == want
	})
	return got
}

func TestControlPlaneMarksFollowKubeadm(t *testing.T) {
	for _, tc := range []struct {
		version, labels, taints string
	}{
		{"v1.23.3", "node-role.kubernetes.io/control-plane node-role.kubernetes.io/master node.kubernetes.io/exclude-from-external-load-balancers", "node-role.kubernetes.io/master:NoSchedule"},
		{"v1.24.17", "node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers", "node-role.kubernetes.io/master:NoSchedule node-role.kubernetes.io/control-plane:NoSchedule"},
		{"v1.33.4", "node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers", "node-role.kubernetes.io/control-plane:NoSchedule"},
	} {
		labels, taints := controller.ControlPlaneMarks(tc.version)
		var ls, ts []string
		for k, v := range labels {
			if v != "" {
				t.Errorf("%s: label %s=%q, want empty", tc.version, k, v)
			}
			ls = append(ls, k)
		}
		sort.Strings(ls)
		for _, x := range taints {
			ts = append(ts, x.Key+":"+string(x.Effect))
		}
		if strings.Join(ls, " ") != tc.labels || strings.Join(ts, " ") != tc.taints {
			t.Errorf("%s: labels %v taints %v, want %s / %s", tc.version, ls, ts, tc.labels, tc.taints)
		}
	}
}

func TestControlPlaneRootHasKubeadmStaticPods(t *testing.T) {
	root := simtest.ControlPlaneRoot(t, "centos7", "node-1")
	h := host.New(root)
	m, err := h.Meta()
	if err != nil || !m.ControlPlane {
		t.Fatalf("host.json: controlPlane not recorded (%v)", err)
	}
	if got := h.StaticPodPath(); got != "/etc/kubernetes/manifests" {
		t.Fatalf("running kubelet's staticPodPath = %q", got)
	}
	images := map[string]string{}
	for _, sp := range h.StaticPods(h.StaticPodPath(), "node-1") {
		if sp.Err != nil {
			t.Fatal(sp.Err)
		}
		images[filepath.Base(sp.File)] = sp.Pod.Spec.Containers[0].Image
	}
	want := map[string]string{
		"etcd.yaml":                    "registry.k8s.io/etcd:3.5.1-0",
		"kube-apiserver.yaml":          "registry.k8s.io/kube-apiserver:v1.23.3",
		"kube-controller-manager.yaml": "registry.k8s.io/kube-controller-manager:v1.23.3",
		"kube-scheduler.yaml":          "registry.k8s.io/kube-scheduler:v1.23.3",
	}
	for f, img := range want {
		if images[f] != img {
			t.Errorf("%s: image %q, want %q", f, images[f], img)
		}
	}
	for _, f := range []string{"/etc/kubernetes/admin.conf", "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/etcd/ca.crt"} {
		if !h.Exists(f) {
			t.Errorf("%s is missing", f)
		}
	}
	n := controller.NodeObject("node-1", m)
	if _, ok := n.Labels[controller.MasterLabel]; !ok || len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != controller.MasterLabel {
		t.Errorf("a 1.23 control-plane Node: labels %v taints %v", n.Labels, n.Spec.Taints)
	}
	// A worker root has the directory, but no manifests.
	worker := host.New(simtest.Root(t, "centos7", "node-2"))
	if got := worker.StaticPods(worker.StaticPodPath(), "node-2"); len(got) != 0 {
		t.Errorf("a worker has static pods: %v", got)
	}
}

func TestMirrorPodsFollowTheKubeletAndRuntime(t *testing.T) {
	hs := startRoot(t, simtest.ControlPlaneRoot(t, "ubuntu22", "node-1"), nil)
	n := hs.node(t)
	if _, ok := n.Labels[controller.ControlPlaneLabel]; !ok || len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != controller.ControlPlaneLabel {
		t.Errorf("control-plane Node: labels %v taints %v", n.Labels, n.Spec.Taints)
	}
	mirrors := hs.waitMirrors(t, "the kubelet's mirror pods", allMirrors)
	api := mirrors["kube-system/kube-apiserver-node-1"]
	a := api.Annotations
	if a[controller.ConfigMirrorAnno] == "" || a[controller.ConfigMirrorAnno] != a[controller.ConfigHashAnno] || a[controller.ConfigSourceAnno] != "file" {
		t.Errorf("mirror pod annotations: %v", a)
	}
	if a["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] == "" || api.Labels["component"] != "kube-apiserver" {
		t.Errorf("the manifest's labels and annotations were not kept: %v %v", api.Labels, a)
	}
	refs := api.OwnerReferences
	if len(refs) != 1 || refs[0].Kind != "Node" || refs[0].Name != "node-1" || refs[0].UID != "uid-node-1" || refs[0].Controller == nil || !*refs[0].Controller {
		t.Errorf("ownerReferences: %+v", refs)
	}
	if api.Spec.NodeName != "node-1" || api.Spec.Containers[0].Image != "registry.k8s.io/kube-apiserver:v1.33.4" {
		t.Errorf("spec: nodeName %q image %q", api.Spec.NodeName, api.Spec.Containers[0].Image)
	}
	tolerates := false
	for _, tol := range api.Spec.Tolerations {
		tolerates = tolerates || (tol.Operator == corev1.TolerationOpExists && tol.Effect == corev1.TaintEffectNoExecute && tol.Key == "")
	}
	if !tolerates {
		t.Errorf("tolerations %+v lack the static pods' NoExecute toleration", api.Spec.Tolerations)
	}
	if etcd := mirrors["kube-system/etcd-node-1"]; etcd.Spec.Containers[0].Image != "registry.k8s.io/etcd:3.5.21-0" {
		t.Errorf("etcd image %s", etcd.Spec.Containers[0].Image)
	}
	for name := range mirrors {
		ns, pod, _ := strings.Cut(name, "/")
		hs.waitPodAnnotated(t, ns, pod, controller.ImageOKAnno)
	}

	// A stopped kubelet leaves its mirror pods alone.
	hs.h.Stop("kubelet")
	time.Sleep(300 * time.Millisecond)
	if got := keys(hs.mirrorPods(t)); got != allMirrors {
		t.Errorf("mirror pods after a kubelet stop: %s", got)
	}
	if err := hs.h.Start("kubelet"); err != nil {
		t.Fatal(err)
	}

	// The runtime stops: every pod dies, the mirror pods with them, and
	// none comes back until the runtime runs again.
	hs.h.Stop("docker")
	hs.waitMirrors(t, "mirror pods deleted with the runtime", "")
	time.Sleep(500 * time.Millisecond)
	if got := keys(hs.mirrorPods(t)); got != "" {
		t.Fatalf("mirror pods came back while docker is down: %s", got)
	}
	for _, u := range []string{"docker", "cri-docker"} {
		if err := hs.h.Start(u); err != nil {
			t.Fatal(err)
		}
	}
	hs.waitMirrors(t, "mirror pods back with the runtime", allMirrors)

	// A changed manifest replaces its mirror pod; a removed one deletes it.
	before := hs.mirrorPods(t)["kube-system/kube-scheduler-node-1"].Annotations[controller.ConfigHashAnno]
	sched := readFile(t, hs.root, "/etc/kubernetes/manifests/kube-scheduler.yaml")
	writeFile(t, hs.root, "/etc/kubernetes/manifests/kube-scheduler.yaml", strings.Replace(sched, "    - --leader-elect=true\n", "    - --leader-elect=true\n    - --v=2\n", 1))
	simtest.Eventually(t, 10*time.Second, "a new kube-scheduler mirror pod", func() bool {
		p := hs.mirrorPods(t)["kube-system/kube-scheduler-node-1"]
		return p != nil && p.Annotations[controller.ConfigHashAnno] != before && strings.Contains(strings.Join(p.Spec.Containers[0].Command, " "), "--v=2")
	})
	if err := os.Remove(filepath.Join(hs.root, "etc/kubernetes/manifests/etcd.yaml")); err != nil {
		t.Fatal(err)
	}
	hs.waitMirrors(t, "the etcd mirror pod deleted", "kube-system/kube-apiserver-node-1 kube-system/kube-controller-manager-node-1 kube-system/kube-scheduler-node-1")
}

// upstream is a stand-in API server: it accepts connections and echoes.
func upstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// answers dials addr: true when it connects, false when refused. A dial
// that lands in the listen backlog just as the proxy closes its port is
// reset instead of refused: the port is closing, so that counts as refused.
func answers(t *testing.T, addr string) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		_ = c.Close()
		return true
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("dial %s: %v, want success, ECONNREFUSED or (port closing) ECONNRESET", addr, err)
	}
	return false
}

func waitAnswers(t *testing.T, addr, what string, want bool) {
	t.Helper()
	simtest.Eventually(t, 10*time.Second, what, func() bool { return answers(t, addr) == want })
}

func TestAPIServerRunsWhileTheControlPlaneKubeletDoes(t *testing.T) {
	p := &apiproxy.Proxy{Listen: freeAddr(t), Upstream: upstream(t)}
	t.Cleanup(func() { _ = p.Close() })
	hs := startRoot(t, simtest.ControlPlaneRoot(t, "ubuntu22", "node-1"), p)
	waitAnswers(t, p.Listen, "the API server up", true)
	c, err := net.Dial("tcp", p.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// kubelet stop: the port is refused and the open connection is cut.
	hs.h.Stop("kubelet")
	waitAnswers(t, p.Listen, "the API server down with the kubelet", false)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("a proxied connection survived the API server's stop: read %v", err)
	}
	// The restarted kubelet starts the static pod, which takes about a second.
	if err := hs.h.Start("kubelet"); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if answers(t, p.Listen) {
		t.Error("the API server answered at once after the kubelet start")
	}
	waitAnswers(t, p.Listen, "the API server back with the kubelet", true)
	if d := time.Since(started); d < 800*time.Millisecond {
		t.Errorf("the API server came back %s after the kubelet, want about 1s", d)
	}

	// The runtime the static pods run on.
	hs.h.Stop("docker")
	waitAnswers(t, p.Listen, "the API server down with docker", false)
	for _, u := range []string{"docker", "cri-docker"} {
		if err := hs.h.Start(u); err != nil {
			t.Fatal(err)
		}
	}
	waitAnswers(t, p.Listen, "the API server back with docker", true)

	// The manifest.
	manifest := filepath.Join(hs.root, "etc/kubernetes/manifests/kube-apiserver.yaml")
	aside := filepath.Join(hs.root, "etc/kubernetes/kube-apiserver.yaml")
	if err := os.Rename(manifest, aside); err != nil {
		t.Fatal(err)
	}
	waitAnswers(t, p.Listen, "the API server down without its manifest", false)
	if err := os.Rename(aside, manifest); err != nil {
		t.Fatal(err)
	}
	started = time.Now()
	waitAnswers(t, p.Listen, "the API server back with its manifest", true)
	if d := time.Since(started); d < 800*time.Millisecond {
		t.Errorf("the API server came back %s after its manifest, want about 1s", d)
	}

	// A reboot.
	go hs.h.Reboot(os.Getpid(), 500*time.Millisecond)
	waitAnswers(t, p.Listen, "the API server down during the reboot", false)
	waitAnswers(t, p.Listen, "the API server back after the reboot", true)
}

func TestAPIServerAlwaysRunsWithoutControlPlaneNodes(t *testing.T) {
	p := &apiproxy.Proxy{Listen: freeAddr(t), Upstream: upstream(t)}
	t.Cleanup(func() { _ = p.Close() })
	hs := startRoot(t, simtest.Root(t, "rocky9", "node-1"), p)
	waitAnswers(t, p.Listen, "the API server up", true)
	hs.h.Stop("kubelet")
	hs.waitNode(t, "kubelet down", func(n *corev1.Node) bool { return ready(n) == corev1.ConditionUnknown })
	if !answers(t, p.Listen) {
		t.Error("a worker's kubelet stop took the API server down")
	}
	if len(hs.mirrorPods(t)) != 0 {
		t.Errorf("a worker has mirror pods: %s", keys(hs.mirrorPods(t)))
	}
}
