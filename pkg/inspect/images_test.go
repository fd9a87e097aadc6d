package inspect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
)

func TestNodeImages(t *testing.T) {
	cf := fixtureCluster()
	cf.Pods = append(cf.Pods,
		// A static pod's mirror, with an init container.
		pod("kube-system", "etcd-node-1", "node-1", func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "abc"}
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "registry.k8s.io/busybox:1.36"}}
			p.Spec.Containers[0].Image = "registry.k8s.io/etcd:3.5.12-0"
		}),
		// A second DaemonSet pod with the same image: listed once.
		pod("logging", "fluentd-y", "node-1", func(p *corev1.Pod) {
			p.OwnerReferences = ctrl("DaemonSet", "fluentd-extra")
			p.Spec.Containers[0].Image = "fluent/fluentd:v1.16"
		}),
		// A finished DaemonSet pod holds nothing on the node.
		pod("logging", "old-1", "node-1", func(p *corev1.Pod) {
			p.OwnerReferences = ctrl("DaemonSet", "old")
			p.Spec.Containers[0].Image = "quay.io/old/agent:1"
			p.Status.Phase = corev1.PodFailed
		}),
		// Another node's DaemonSet pod.
		pod("logging", "fluentd-z", "node-2", func(p *corev1.Pod) {
			p.OwnerReferences = ctrl("DaemonSet", "fluentd")
			p.Spec.Containers[0].Image = "quay.io/elsewhere/agent:2"
		}),
	)
	hosts := map[string]HostResult{"node-1": fixtureHost()}
	p, err := BuildPlan(cf, hosts, Options{Target: hostconf.TargetCRIO, Nodes: []string{"node-1"}})
	if err != nil {
		t.Fatal(err)
	}
	// Deployment, Job and bare pods are evicted and may land anywhere; the
	// pause image is the one the translation gives the new runtime.
	want := []string{
		"fluent/fluentd:v1.16",
		"registry.corp.example:5000/pause:3.6",
		"registry.k8s.io/busybox:1.36",
		"registry.k8s.io/etcd:3.5.12-0",
		"registry.k8s.io/pause:3.9", // the builder DaemonSet's image
	}
	if diff := cmp.Diff(want, p.Nodes[0].Images); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}

	// Without host facts there is no pause image to name.
	p, err = BuildPlan(cf, nil, Options{Target: hostconf.TargetContainerd, Nodes: []string{"node-2"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"quay.io/elsewhere/agent:2"}, p.Nodes[0].Images); diff != "" {
		t.Errorf("node-2 images (-want +got):\n%s", diff)
	}
	// A node that is not migrated needs nothing carried.
	p, err = BuildPlan(cf, nil, Options{Target: hostconf.TargetCRIO, Nodes: []string{"node-3"}})
	if err != nil {
		t.Fatal(err)
	}
	if imgs := p.Nodes[0].Images; imgs != nil {
		t.Errorf("node-3 (already on CRI-O) images: %v", imgs)
	}
}

// An image reference that starts with '-' would reach `docker save` on the
// host as an option: it is left out of the images to carry, with a finding.
func TestNodeImagesRejectsOptionLikeReferences(t *testing.T) {
	cf := fixtureCluster()
	cf.Pods = append(cf.Pods, pod("logging", "evil-1", "node-1", func(p *corev1.Pod) {
		p.OwnerReferences = ctrl("DaemonSet", "evil")
		p.Spec.Containers[0].Image = "--output=/etc/cron.d/x"
	}))
	p, err := BuildPlan(cf, map[string]HostResult{"node-1": fixtureHost()}, Options{Target: hostconf.TargetCRIO, Nodes: []string{"node-1"}})
	if err != nil {
		t.Fatal(err)
	}
	np := p.Nodes[0]
	for _, img := range np.Images {
		if img[0] == '-' {
			t.Errorf("images to carry hold %q", img)
		}
	}
	var f *Finding
	for i := range np.Findings {
		if np.Findings[i].ID == IDBadImageRef {
			f = &np.Findings[i]
		}
	}
	if f == nil || f.Severity != Warning || !strings.Contains(f.Message, `"--output=/etc/cron.d/x"`) || !strings.Contains(f.Message, "option") {
		t.Fatalf("finding = %+v", f)
	}
}
