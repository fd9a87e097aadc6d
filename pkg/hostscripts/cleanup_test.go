package hostscripts

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cleanupReport is what cleanup.sh prints.
type cleanupReport struct {
	Packages []string `json:"packages"`
	Data     []string `json:"data"`
	Removed  []string `json:"removed"`
	Left     []string `json:"left"`
}

func (s *simHost) cleanup(target string) cleanupReport {
	s.t.Helper()
	out := s.mustSh(Get(Cleanup), "CRIMIG_TARGET="+target)
	var r cleanupReport
	if err := json.Unmarshal(lastJSONLine([]byte(out)), &r); err != nil {
		s.t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// onCrio leaves the host as a migration to CRI-O does: crio runs, docker and
// cri-dockerd are stopped.
func (s *simHost) onCrio() {
	s.t.Helper()
	if _, out, err := s.install("CRIMIG_SOURCE=pkgs", "CRIMIG_TARGET_VERSION=1.33"); err != nil {
		s.t.Fatalf("%v\n%s", err, out)
	}
	s.mustSh("systemctl stop cri-docker.socket cri-docker.service docker.socket docker.service && systemctl start crio")
}

// cri-dockerd as its README installs it: units in /etc/systemd/system, the
// binary in /usr/local/bin, no package.
func TestCleanupRemovesAHandInstalledCriDockerd(t *testing.T) {
	s := newSimHost(t, "ubuntu22")
	s.mustSh(`set -e
rm /var/lib/sim/pkgs/cri-dockerd
cp /usr/bin/cri-dockerd /usr/local/bin/cri-dockerd && rm /usr/bin/cri-dockerd
for u in cri-docker.service cri-docker.socket; do
  sed 's,/usr/bin/cri-dockerd,/usr/local/bin/cri-dockerd,' /usr/lib/systemd/system/$u >/etc/systemd/system/$u
  rm /usr/lib/systemd/system/$u
done
mkdir -p /etc/systemd/system/cri-docker.service.d
printf '[Service]\nEnvironment=X=1\n' >/etc/systemd/system/cri-docker.service.d/10-local.conf
systemctl daemon-reload && systemctl enable cri-docker.socket cri-docker.service`)
	s.onCrio()
	r := s.cleanup("cri-o")
	want := []string{"/etc/systemd/system/cri-docker.service", "/etc/systemd/system/cri-docker.service.d",
		"/etc/systemd/system/cri-docker.socket", "/usr/local/bin/cri-dockerd", "containerd.service (stopped and disabled)"}
	if diff := cmp.Diff(want, r.Removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	for _, p := range want[:4] {
		if _, ok := s.read(p); ok || s.H.Exists(p) {
			t.Errorf("%s is still there", p)
		}
	}
	if active, enabled := s.unit("containerd.service"); active == "active" || enabled == "enabled" {
		t.Errorf("docker's containerd is %s and %s after the cleanup", active, enabled)
	}
	if len(r.Left) != 1 || !strings.HasPrefix(r.Left[0], "package containerd.io: it also ships /usr/bin/runc") {
		t.Errorf("left %q", r.Left)
	}
	if !s.H.Exists("/usr/bin/runc") {
		t.Error("the runc that CRI-O may run is gone")
	}
}

func TestCleanupLeavesAContainerdInUse(t *testing.T) {
	t.Run("target", func(t *testing.T) {
		s := newSimHost(t, "rocky9")
		s.mustSh("systemctl stop cri-docker.socket cri-docker.service docker.socket docker.service")
		r := s.cleanup("containerd")
		if diff := cmp.Diff([]string{"containerd: it is the node's container runtime now"}, r.Left); diff != "" {
			t.Errorf("left (-want +got):\n%s", diff)
		}
		if !strings.Contains(strings.Join(r.Packages, " "), "cri-dockerd") || s.H.PkgVersion("cri-dockerd") != "" {
			t.Errorf("the cri-dockerd package was not removed: %v", r.Packages)
		}
		if active, _ := s.unit("containerd.service"); active != "active" {
			t.Errorf("the node's runtime is %s", active)
		}
	})
	t.Run("another unit", func(t *testing.T) {
		s := newSimHost(t, "ubuntu22")
		s.write("/etc/systemd/system/buildkit.service", "[Unit]\nRequires=containerd.service\n[Service]\nExecStart=/usr/local/bin/buildkitd\n", 0o644)
		s.onCrio()
		r := s.cleanup("cri-o")
		if diff := cmp.Diff([]string{"containerd: buildkit.service needs it"}, r.Left); diff != "" {
			t.Errorf("left (-want +got):\n%s", diff)
		}
		if active, _ := s.unit("containerd.service"); active != "active" {
			t.Errorf("containerd is %s although buildkit needs it", active)
		}
	})
}
