package sim_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/test/sim/bundle"
	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

const kubicRepo = `[devel_kubic_libcontainers_stable_cri-o_1.22]
name=devel:kubic:libcontainers:stable:cri-o:1.22 (CentOS_7)
type=rpm-md
baseurl=https://download.opensuse.org/repositories/devel:/kubic:/libcontainers:/stable:/cri-o:/1.22/CentOS_7/
gpgcheck=1
enabled=1
`

func TestYumNeedsACrioRepo(t *testing.T) {
	root := simtest.Root(t, "centos7", "node-1")
	out, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "yum install -y cri-o")
	if code == 0 || !strings.Contains(errOut, "No package cri-o available") {
		t.Fatalf("yum installed cri-o without a repo: %d %s %s", code, out, errOut)
	}
	writeFile(t, root, "/etc/yum.repos.d/devel:kubic:libcontainers:stable:cri-o:1.22.repo", kubicRepo)
	out = simtest.Sh(t, root, "yum install -y cri-o >/dev/null && rpm -q cri-o && test -x /usr/bin/crio && test -f /usr/lib/systemd/system/crio.service && echo ok")
	if out != "cri-o-1.22.3-1.x86_64\nok\n" {
		t.Errorf("after adding the repo: %q", out)
	}
}

func TestLocalRepoAndPackageFiles(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	writeFile(t, root, "/srv/crio-repo/cri-o-1.29.1-150500.1.1.x86_64.rpm", "not really an rpm")
	writeFile(t, root, "/etc/yum.repos.d/local-crio.repo", "[local-crio]\nname=local CRI-O\nbaseurl=file:///srv/crio-repo\nenabled=1\ngpgcheck=0\n")
	if out := simtest.Sh(t, root, "dnf install -y cri-o >/dev/null && rpm -q --qf '%{VERSION}' cri-o"); out != "1.29.1" {
		t.Errorf("cri-o from a file:// repo: %q", out)
	}
	root = simtest.Root(t, "ubuntu22", "node-2")
	writeFile(t, root, "/root/cri-o_1.30.4-1.1_amd64.deb", "not really a deb")
	if out := simtest.Sh(t, root, "apt-get install -y /root/cri-o_1.30.4-1.1_amd64.deb >/dev/null && dpkg-query -W -f='${Version}' cri-o"); out != "1.30.4" {
		t.Errorf("cri-o from a .deb file: %q", out)
	}
	if _, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "apt-get install -y /root/missing_1.0.0_amd64.deb"); code == 0 {
		t.Error("installed a .deb that does not exist")
	}
}

func TestSimulatedNetwork(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	out := simtest.Sh(t, root, `curl -fsSL -o /etc/apt/keyrings/cri-o.asc https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.33/deb/Release.key &&
		head -1 /etc/apt/keyrings/cri-o.asc &&
		wget -q -O /tmp/cri-o.tar.gz https://storage.googleapis.com/cri-o/artifacts/cri-o.amd64.v1.30.2.tar.gz &&
		tar xzf /tmp/cri-o.tar.gz -C /tmp && cat /tmp/cri-o/VERSION`)
	if out != "-----BEGIN PGP PUBLIC KEY BLOCK-----\n1.30.2\n" {
		t.Errorf("downloads from the simulated internet: %q", out)
	}
	if _, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "curl -fsSL https://example.org/"); code != 6 || !strings.Contains(errOut, "Could not resolve host") {
		t.Errorf("curl to an unknown host: %d %q", code, errOut)
	}
	if _, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "curl -fsSL https://pkgs.k8s.io/no/such/file"); code != 22 {
		t.Errorf("curl -f of a missing file: exit %d, want 22", code)
	}
	writeFile(t, root, "/var/lib/sim/offline", "")
	if _, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "wget -q -O /tmp/k https://pkgs.k8s.io/core:/stable:/v1.33/deb/Release.key"); code == 0 {
		t.Error("an air-gapped host downloaded a key")
	}
	if out := simtest.Sh(t, root, "type ping nc 2>&1 || true"); !strings.Contains(out, "ping: not found") {
		t.Errorf("busybox network applets are reachable: %q", out)
	}
}

func TestAptNeedsUpdateAfterAddingASource(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	writeFile(t, root, "/etc/apt/sources.list.d/cri-o.list",
		"deb [signed-by=/etc/apt/keyrings/cri-o-apt-keyring.gpg] https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.33/deb/ /\n")
	_, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "apt-get install -y cri-o")
	if code != 100 || !strings.Contains(errOut, "Unable to locate package cri-o") {
		t.Fatalf("apt installed from a source it never fetched: %d %s", code, errOut)
	}
	out := simtest.Sh(t, root, "apt-get update >/dev/null && apt-get install -y cri-o >/dev/null && dpkg-query -W -f='${Version}' cri-o")
	if out != "1.33.2" {
		t.Errorf("cri-o version from the v1.33 source: %q", out)
	}
}

func TestOfflineBundleInstalls(t *testing.T) {
	root := simtest.Root(t, "centos7", "node-1")
	f, err := os.Create(filepath.Join(root, "tmp/cri-o.amd64.v1.29.1.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := bundle.Write(f, "1.29.1"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// The bundle's default crio uses the systemd cgroup manager; this host's
	// kubelet (1.23, which predates KubeletCgroupDriverFromCRI) uses cgroupfs.
	writeFile(t, root, "/etc/crio/crio.conf.d/90-crimig.conf", "[crio.runtime]\ncgroup_manager = \"cgroupfs\"\nconmon_cgroup = \"pod\"\n")
	out := simtest.Sh(t, root, `cd /tmp && tar xzf cri-o.amd64.v1.29.1.tar.gz && bash ./cri-o/install >/dev/null &&
		command -v crio && crio --version && systemctl enable --now crio 2>/dev/null && systemctl is-active crio`)
	if out != "/usr/local/bin/crio\ncrio version 1.29.1\nactive\n" {
		t.Fatalf("bundle install: %q", out)
	}
	h := host.New(root)
	if v := h.RuntimeVersion("crio"); v != "cri-o://1.29.1" {
		t.Errorf("runtime version of the bundle's crio: %q", v)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/local/lib/systemd/system/crio.service")); err != nil {
		t.Error(err)
	}
}
