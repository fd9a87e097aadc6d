package sim_test

import (
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

func TestDockerImageStore(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	h := host.New(root)
	// The fixture's store holds its kubelet's pause image and the test workloads' images.
	for _, img := range []string{"registry.k8s.io/pause:3.9", "busybox:1.36", "quay.io/prometheus/node-exporter:v1.8.2"} {
		if !h.HasImage(host.StoreDocker, img) {
			t.Errorf("the rocky9 docker store lacks %s: %v", img, h.Images(host.StoreDocker))
		}
	}
	out := simtest.Sh(t, root, `docker images --format '{{.Repository}}:{{.Tag}}' | sort | head -n 2; docker image inspect --format '{{.Size}}' busybox:1.36`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != "busybox:1.36" || lines[1] != "docker:24.0-cli" || lines[2] == "" {
		t.Errorf("docker images / image inspect: %q", out)
	}
	if _, errOut, code := simtest.Exec(t, root, "", "docker", "image", "inspect", "quay.io/nope:1"); code != 1 || !strings.Contains(errOut, "No such image: quay.io/nope:1") {
		t.Errorf("inspect of a missing image: exit %d, %q", code, errOut)
	}

	// docker save writes an archive of present images only.
	if _, errOut, code := simtest.Exec(t, root, "", "docker", "save", "-o", "/tmp/x.tar", "busybox:1.36", "quay.io/nope:1"); code != 1 || !strings.Contains(errOut, "quay.io/nope:1") {
		t.Errorf("save with a missing image: exit %d, %q", code, errOut)
	}
	if h.Exists("/tmp/x.tar") {
		t.Error("a failed save left an archive")
	}
	simtest.Sh(t, root, "docker save -o /tmp/x.tar busybox:1.36 registry.k8s.io/pause:3.9")

	// podman load fills containers-storage, which CRI-O shares.
	simtest.Sh(t, root, "dnf install -y podman >/dev/null")
	if _, _, code := simtest.Exec(t, root, "", "podman", "image", "exists", "busybox:1.36"); code != 1 {
		t.Errorf("podman image exists before the load: exit %d", code)
	}
	out = simtest.Sh(t, root, "podman load -i /tmp/x.tar && podman image exists busybox:1.36 && podman images --format '{{.Repository}}:{{.Tag}}'")
	if out != "Loaded image: docker.io/library/busybox:1.36\nLoaded image: registry.k8s.io/pause:3.9\ndocker.io/library/busybox:1.36\nregistry.k8s.io/pause:3.9\n" {
		t.Errorf("podman load: %q", out)
	}
	if _, errOut, code := simtest.Exec(t, root, "", "podman", "load", "-i", "/etc/os-release"); code != 125 || !strings.Contains(errOut, "payload does not match") {
		t.Errorf("podman load of a non-archive: exit %d, %q", code, errOut)
	}

	// ctr imports into the namespace it is given; the kubelet's is k8s.io.
	simtest.Sh(t, root, "ctr images import /tmp/x.tar >/dev/null && ctr -n k8s.io images import /tmp/x.tar >/dev/null")
	if got := h.Images(host.StoreContainerd); len(got) != 2 || !h.HasImage(host.ContainerdStore("default"), "busybox:1.36") {
		t.Errorf("containerd stores: k8s.io %v, default %v", got, h.Images(host.ContainerdStore("default")))
	}
	if out := simtest.Sh(t, root, "ctr --namespace=k8s.io i ls -q"); out != "docker.io/library/busybox:1.36\nregistry.k8s.io/pause:3.9\n" {
		t.Errorf("ctr images ls -q: %q", out)
	}
	out = simtest.Console(t, root, "systemctl stop docker.socket docker containerd; ctr -n k8s.io images import /tmp/x.tar; echo exit $?")
	if !strings.Contains(out, "connection error") || !strings.HasSuffix(out, "exit 1\n") {
		t.Errorf("ctr import without containerd: %q", out)
	}
}

func TestCrictlImagesAndPullsFollowTheRuntime(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	h := host.New(root)
	// crictl talks to cri-dockerd: docker's store.
	out := simtest.Sh(t, root, "crictl images | awk 'NR>1 {print $1\":\"$2}' | grep pause")
	if out != "registry.k8s.io/pause:3.10\n" {
		t.Errorf("crictl images on cri-dockerd: %q", out)
	}
	// Online, a pull lands in the runtime's store.
	simtest.Sh(t, root, "crictl pull quay.io/app/web:2 >/dev/null && docker pull alpine:3.20 >/dev/null")
	if !h.HasImage(host.StoreDocker, "quay.io/app/web:2") || !h.HasImage(host.StoreDocker, "docker.io/library/alpine:3.20") {
		t.Errorf("pulled images missing: %v", h.Images(host.StoreDocker))
	}
	// Air-gapped, every pull fails, even of an image that is there.
	writeFile(t, root, host.OfflineFile, "")
	for _, cmd := range []string{"docker pull alpine:3.20", "crictl pull quay.io/app/web:2"} {
		if _, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c", cmd); code == 0 || !strings.Contains(errOut, "no such host") {
			t.Errorf("%s offline: exit %d, %q", cmd, code, errOut)
		}
	}
	if err := h.Pull("docker", "alpine:3.20", false); err != nil {
		t.Errorf("an image in the store needs no pull: %v", err)
	}
	if err := h.Pull("crio", "busybox:1.36", false); err == nil || !strings.Contains(err.Error(), "pinging container registry docker.io") {
		t.Errorf("CRI-O pull offline: %v", err)
	}
}

func TestSandboxImage(t *testing.T) {
	for fixture, want := range map[string]string{
		"centos7":  "registry.corp.example:5000/k8s/pause:3.6", // dockershim: the kubelet's flag
		"rocky9":   "registry.k8s.io/pause:3.9",                // cri-dockerd's flag
		"ubuntu22": "registry.k8s.io/pause:3.10",
	} {
		t.Run(fixture, func(t *testing.T) {
			t.Parallel()
			h := host.New(simtest.Root(t, fixture, "node-1"))
			if got := h.SandboxImage(); got != want {
				t.Errorf("sandbox image %q, want %q", got, want)
			}
		})
	}
}

func TestNormalizeImage(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                           "docker.io/library/busybox:latest",
		"nginx:1.25":                        "docker.io/library/nginx:1.25",
		"fluent/fluentd:v1":                 "docker.io/fluent/fluentd:v1",
		"docker.io/nginx:1":                 "docker.io/library/nginx:1",
		"index.docker.io/library/nginx:1":   "docker.io/library/nginx:1",
		"registry.corp.example:5000/a/b":    "registry.corp.example:5000/a/b:latest",
		"quay.io/x/y@sha256:0123456789abcd": "quay.io/x/y@sha256:0123456789abcd",
		"localhost/app:1":                   "localhost/app:1",
	} {
		if got := host.NormalizeImage(in); got != want {
			t.Errorf("NormalizeImage(%q) = %q, want %q", in, got, want)
		}
	}
	if got := host.FamiliarImage("docker.io/library/nginx:1.25"); got != "nginx:1.25" {
		t.Errorf("familiar name %q", got)
	}
}
