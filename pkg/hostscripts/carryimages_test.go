package hostscripts

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

func carry(t *testing.T, s *simHost, target string, images ...string) (*CarryResult, string, error) {
	t.Helper()
	out, err := s.sh(Get(CarryImages), "CRIMIG_RUN_ID=r1", "CRIMIG_TARGET="+target, "CRIMIG_IMAGES="+strings.Join(images, "\n"))
	if err != nil {
		return nil, out, err
	}
	r, perr := ParseCarryResult([]byte(out))
	if perr != nil {
		t.Fatalf("%v\n%s", perr, out)
	}
	return r, out, nil
}

func TestCarryImagesToCRIO(t *testing.T) {
	s := newSimHost(t, "rocky9")
	images := []string{"registry.k8s.io/pause:3.9", "quay.io/prometheus/node-exporter:v1.8.2", "nginx:1.25",
		"quay.io/gone/agent:1", "registry.k8s.io/pause:3.9"}

	// CRI-O's store is written with podman, which a bundle does not bring.
	if _, out, err := carry(t, s, "cri-o", images...); err == nil || exitCode(err) != 1 || !strings.Contains(out, "podman is not installed") {
		t.Fatalf("without podman: %v\n%s", err, out)
	}
	s.mustSh("dnf install -y podman >/dev/null")
	r, out, err := carry(t, s, "cri-o", images...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := &CarryResult{Carried: []string{"registry.k8s.io/pause:3.9", "quay.io/prometheus/node-exporter:v1.8.2", "nginx:1.25"},
		Missing: []string{"quay.io/gone/agent:1"}}
	if diff := cmp.Diff(want, r, emptyIsNil); diff != "" {
		t.Errorf("first run (-want +got):\n%s\n%s", diff, out)
	}
	if !strings.Contains(out, "warning: quay.io/gone/agent:1 is not in docker's image store") {
		t.Errorf("no warning about the missing image:\n%s", out)
	}
	got := s.H.Images(host.StoreContainers)
	if diff := cmp.Diff([]string{"docker.io/library/nginx:1.25", "quay.io/prometheus/node-exporter:v1.8.2", "registry.k8s.io/pause:3.9"}, got); diff != "" {
		t.Errorf("containers-storage (-want +got):\n%s", diff)
	}
	if left, _ := filepath.Glob(filepath.Join(s.Root, "var/lib/crimig/r1/*")); len(left) > 0 {
		t.Errorf("left on the host: %v", left)
	}

	// A second run finds everything in place and saves nothing.
	r, out, err = carry(t, s, "cri-o", images...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want = &CarryResult{Present: want.Carried, Missing: want.Missing}
	if diff := cmp.Diff(want, r, emptyIsNil); diff != "" {
		t.Errorf("second run (-want +got):\n%s\n%s", diff, out)
	}

	// Bad input never reaches docker.
	for _, env := range [][]string{
		{"CRIMIG_RUN_ID=r1", "CRIMIG_TARGET=docker", "CRIMIG_IMAGES=busybox:1.36"},
		{"CRIMIG_RUN_ID=r1", "CRIMIG_TARGET=cri-o", "CRIMIG_IMAGES=busybox:1.36 $(reboot)"},
		{"CRIMIG_RUN_ID=../x", "CRIMIG_TARGET=cri-o", "CRIMIG_IMAGES=busybox:1.36"},
		{"CRIMIG_RUN_ID=r1", "CRIMIG_TARGET=cri-o", "CRIMIG_IMAGES=*"},
		// docker save would read these as options.
		{"CRIMIG_RUN_ID=r1", "CRIMIG_TARGET=cri-o", "CRIMIG_IMAGES=busybox:1.36\n--output=/etc/cron.d/x"},
		{"CRIMIG_RUN_ID=r1", "CRIMIG_TARGET=cri-o", "CRIMIG_IMAGES=-o/tmp/x"},
	} {
		if out, err := s.sh(Get(CarryImages), env...); exitCode(err) != 2 {
			t.Errorf("%q: %v\n%s", env, err, out)
		}
	}
}

// CRI-O's storage followed docker's data-root: podman loads into that root,
// which CRI-O reads, and not into its default store.
func TestCarryImagesToAMovedCRIORoot(t *testing.T) {
	s := newSimHost(t, "rocky9")
	s.mustSh("dnf install -y podman >/dev/null")
	env := []string{"CRIMIG_RUN_ID=r1", "CRIMIG_TARGET=cri-o", "CRIMIG_IMAGES=registry.k8s.io/pause:3.9", "CRIMIG_STORAGE_ROOT=/data/containers/storage"}
	out, err := s.sh(Get(CarryImages), env...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	r, err := ParseCarryResult([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&CarryResult{Carried: []string{"registry.k8s.io/pause:3.9"}}, r, emptyIsNil); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := s.H.Images(host.ContainersStore("/data/containers/storage")); !cmp.Equal(got, []string{"registry.k8s.io/pause:3.9"}) {
		t.Errorf("the store at /data/containers/storage holds %v", got)
	}
	if got := s.H.Images(host.StoreContainers); len(got) != 0 {
		t.Errorf("podman's default store got %v", got)
	}
	// Again: already there.
	if out, err = s.sh(Get(CarryImages), env...); err != nil || !strings.Contains(out, `"present":["registry.k8s.io/pause:3.9"]`) {
		t.Errorf("second run: %v\n%s", err, out)
	}
	for _, bad := range []string{"data/containers", "/data/../etc", "/data/$(reboot)", "/data/a b"} {
		env := []string{"CRIMIG_RUN_ID=r1", "CRIMIG_TARGET=cri-o", "CRIMIG_IMAGES=registry.k8s.io/pause:3.9", "CRIMIG_STORAGE_ROOT=" + bad}
		if out, err := s.sh(Get(CarryImages), env...); exitCode(err) != 2 || !strings.Contains(out, "bad storage root") {
			t.Errorf("root %q: %v\n%s", bad, err, out)
		}
	}
}

func TestCarryImagesToContainerd(t *testing.T) {
	s := newSimHost(t, "ubuntu22")
	// docker's containerd serves ctr even with its CRI plugin disabled.
	r, out, err := carry(t, s, "containerd", "registry.k8s.io/pause:3.10", "docker.io/library/busybox:1.36")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if diff := cmp.Diff(&CarryResult{Carried: []string{"registry.k8s.io/pause:3.10", "docker.io/library/busybox:1.36"}}, r, emptyIsNil); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := s.H.Images(host.StoreContainerd); len(got) != 2 {
		t.Errorf("containerd's k8s.io namespace: %v", got)
	}
	// Re-run: nothing to do.
	if r, out, err = carry(t, s, "containerd", "registry.k8s.io/pause:3.10", "busybox:1.36"); err != nil || len(r.Carried) != 0 || len(r.Present) != 2 {
		t.Errorf("second run: %+v %v\n%s", r, err, out)
	}

	// The import fails while containerd is down: a clear error, no archive left.
	s.mustSh("systemctl stop containerd")
	_, out, err = carry(t, s, "containerd", "quay.io/prometheus/node-exporter:v1.8.2")
	if exitCode(err) != 1 || !strings.Contains(out, "ctr -n k8s.io images import /var/lib/crimig/r1/images.tar failed") {
		t.Errorf("import with containerd down: %v\n%s", err, out)
	}
	if left, _ := filepath.Glob(filepath.Join(s.Root, "var/lib/crimig/r1/*")); len(left) > 0 {
		t.Errorf("left on the host: %v", left)
	}
	// Docker down: nothing can be carried.
	s.mustSh("systemctl stop docker.socket docker")
	if _, out, err = carry(t, s, "containerd", "busybox:1.36"); exitCode(err) != 1 || !strings.Contains(out, "docker is not running") {
		t.Errorf("docker down: %v\n%s", err, out)
	}
}

// emptyIsNil compares an empty list as equal to none.
var emptyIsNil = cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Comparer(func(_, _ []string) bool { return true }))
