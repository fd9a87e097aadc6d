package sim_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim/bundle"
	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

func TestNsenterRunsInTheNodesRoot(t *testing.T) {
	for fixture, id := range map[string]string{"centos7": `ID="centos"`, "rocky9": `ID="rocky"`, "ubuntu22": "ID=ubuntu"} {
		t.Run(fixture, func(t *testing.T) {
			root := simtest.Root(t, fixture, "node-"+fixture)
			out, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "cat /etc/os-release; hostname")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, id+"\n") || !strings.Contains(out, "node-"+fixture+"\n") {
				t.Errorf("os-release/hostname of the wrong root:\n%s", out)
			}
		})
	}
}

func TestNsenterForwardsStdinAndExitCode(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	out, _, code := simtest.Exec(t, root, "read x; echo got:$x; exit 7\nhello\n", "/bin/sh", "-s")
	if code != 7 || !strings.HasPrefix(out, "got:") {
		t.Fatalf("want exit 7 and the script's output, got %d %q", code, out)
	}
	out, _, _ = simtest.Exec(t, root, "hello\n", "/bin/sh", "-c", "read x; echo got:$x")
	if out != "got:hello\n" {
		t.Errorf("stdin not forwarded: %q", out)
	}
	recs := host.New(root).ExecRecords()
	if len(recs) == 0 || recs[0].Pod != "crimig-test" {
		t.Errorf("exec not recorded: %+v", recs)
	}
}

func TestNsenterRefusesWhileKubeletIsDown(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	host.New(root).Stop("kubelet")
	_, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "true")
	if code == 0 || !strings.Contains(errOut, "connection refused") {
		t.Fatalf("exec reached a node whose kubelet is stopped: %d %q", code, errOut)
	}
}

func TestKubeletRemovedFlags(t *testing.T) {
	t.Run("1.23 accepts --network-plugin", func(t *testing.T) {
		root := simtest.Root(t, "centos7", "node-1")
		flags := simtest.Sh(t, root, "cat /var/lib/kubelet/kubeadm-flags.env")
		if !strings.Contains(flags, "--network-plugin=cni") {
			t.Fatalf("fixture lost its dockershim flags: %s", flags)
		}
		out := simtest.Sh(t, root, "systemctl restart kubelet && systemctl is-active kubelet")
		if out != "active\n" {
			t.Errorf("kubelet 1.23 with --network-plugin: %q", out)
		}
	})
	t.Run("1.29 refuses --network-plugin", func(t *testing.T) {
		root := simtest.Root(t, "rocky9", "node-1")
		out, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c",
			`echo 'KUBELET_EXTRA_ARGS="--network-plugin=cni"' > /etc/sysconfig/kubelet; systemctl restart kubelet && systemctl is-active --quiet kubelet`)
		if code == 0 {
			t.Fatalf("kubelet 1.29 started with --network-plugin: %s %s", out, errOut)
		}
		assertFailed(t, root, "kubelet", "unknown flag: --network-plugin")
	})
	t.Run("1.29 refuses --container-runtime=docker", func(t *testing.T) {
		root := simtest.Root(t, "rocky9", "node-1")
		_, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c",
			`echo 'KUBELET_EXTRA_ARGS="--container-runtime=docker"' > /etc/sysconfig/kubelet; systemctl restart kubelet && systemctl is-active --quiet kubelet`)
		if code == 0 {
			t.Fatal("kubelet 1.29 started with --container-runtime=docker")
		}
		assertFailed(t, root, "kubelet", "unknown flag: --container-runtime")
	})
}

func TestKubeletCrashLoopsUntilItsConfigIsFixed(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	writeFile(t, root, "/etc/systemd/system/kubelet.service.d/30-fast-restart.conf", "[Service]\nRestartSec=200ms\n")
	writeFile(t, root, "/etc/default/kubelet", "KUBELET_EXTRA_ARGS=\"--network-plugin=cni\"\n")
	out := simtest.Sh(t, root, "systemctl daemon-reload && systemctl restart kubelet && echo started; systemctl is-active kubelet || true")
	if out != "started\nactivating\n" {
		t.Fatalf("a kubelet with a removed flag: %q, want it started and then crash-looping", out)
	}
	writeFile(t, root, "/etc/default/kubelet", "KUBELET_EXTRA_ARGS=\n")
	h := host.New(root)
	simtest.Eventually(t, 5*time.Second, "systemd to restart the fixed kubelet", func() bool {
		h.Settle()
		return h.IsActive("kubelet.service")
	})
	if !strings.Contains(simtest.Sh(t, root, "journalctl -u kubelet"), "Scheduled restart job, restart counter is at 1.") {
		t.Error("no restart in the kubelet's journal")
	}
}

func TestKubeletConfigStrictDecoding(t *testing.T) {
	t.Run("unknown field", func(t *testing.T) {
		root := simtest.Root(t, "ubuntu22", "node-1")
		_, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c",
			`echo 'containerLogMaxSizee: 100Mi' >> /var/lib/kubelet/config.yaml; systemctl restart kubelet && systemctl is-active --quiet kubelet`)
		if code == 0 {
			t.Fatal("kubelet accepted an unknown config field")
		}
		assertFailed(t, root, "kubelet", `unknown field "containerLogMaxSizee"`)
	})
	t.Run("field newer than the kubelet", func(t *testing.T) {
		root := simtest.Root(t, "centos7", "node-1")
		_, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c",
			`echo 'containerRuntimeEndpoint: unix:///var/run/crio/crio.sock' >> /var/lib/kubelet/config.yaml; systemctl restart kubelet && systemctl is-active --quiet kubelet`)
		if code == 0 {
			t.Fatal("kubelet 1.23 accepted containerRuntimeEndpoint in config.yaml")
		}
		assertFailed(t, root, "kubelet", "containerRuntimeEndpoint")
	})
}

const crioRepo = `[isv_cri-o_stable_v1.29]
name=CRI-O v1.29
baseurl=https://download.opensuse.org/repositories/isv:/cri-o:/stable:/v1.29/rpm/
enabled=1
gpgcheck=1
`

func TestCrioDropInMustParse(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	writeFile(t, root, "/etc/yum.repos.d/cri-o.repo", crioRepo)
	simtest.Sh(t, root, "dnf install -y cri-o >/dev/null")

	writeFile(t, root, "/etc/crio/crio.conf.d/90-crimig.conf", "[crio.runtime]\ncgroup_manager = \"systemd\n")
	if _, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "systemctl start crio"); code == 0 {
		t.Fatal("crio started with a malformed drop-in")
	}
	assertFailed(t, root, "crio", "90-crimig.conf")

	writeFile(t, root, "/etc/crio/crio.conf.d/90-crimig.conf",
		"[crio.runtime]\ncgroup_manager = \"systemd\"\n\n[crio.image]\npause_image = \"registry.k8s.io/pause:3.9\"\n")
	writeFile(t, root, "/etc/containers/registries.conf.d/90-crimig.conf",
		"unqualified-search-registries = [\"docker.io\"]\n\n[[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n\n[[registry.mirror]]\nlocation = \"mirror.corp.example\"\n")
	out := simtest.Sh(t, root, "systemctl start crio && systemctl is-active crio && crio --version")
	if !strings.HasPrefix(out, "active\ncrio version 1.29.") {
		t.Errorf("crio with a good drop-in: %q", out)
	}

	writeFile(t, root, "/etc/containers/registries.conf.d/91-bad.conf", "[[registry]]\ninsecure = true\n")
	if _, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "systemctl restart crio"); code == 0 {
		t.Error("crio started with a registry that has neither prefix nor location")
	}
}

const kubicRepo = `[devel_kubic_libcontainers_stable_cri-o_1.22]
name=devel:kubic:libcontainers:stable:cri-o:1.22 (CentOS_7)
type=rpm-md
baseurl=https://download.opensuse.org/repositories/devel:/kubic:/libcontainers:/stable:/cri-o:/1.22/CentOS_7/
gpgcheck=1
enabled=1
`

func TestContainerdMustServeCRI(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	h := host.New(root)
	simtest.Console(t, root, `containerd config default | sed 's/SystemdCgroup = false/SystemdCgroup = true/' > /etc/containerd/config.toml
		sed -i 's#unix:///var/run/cri-dockerd.sock#unix:///run/containerd/containerd.sock#' /var/lib/kubelet/config.yaml
		systemctl restart kubelet`)
	assertFailed(t, root, "kubelet", "unknown service runtime.v1.RuntimeService")
	simtest.Console(t, root, "systemctl restart containerd && systemctl restart kubelet")
	if !h.IsActive("kubelet.service") {
		t.Fatalf("kubelet on containerd with CRI enabled: %s", simtest.Console(t, root, "journalctl -u kubelet -n 3"))
	}
	if v := h.RuntimeVersion(h.Kubelet().Runtime); v != "containerd://1.7.27" {
		t.Errorf("runtime version %q", v)
	}
	out := simtest.Console(t, root, `sed -i 's/^version = 2/version = 3/' /etc/containerd/config.toml
		systemctl restart containerd 2>&1 || journalctl -u containerd -n 3`)
	if !strings.Contains(out, "unsupported config version") {
		t.Errorf("containerd 1.7 with a version 3 config: %q", out)
	}
}

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

func TestDockerSocketReactivatesDocker(t *testing.T) {
	root := simtest.Root(t, "centos7", "node-1")
	h := host.New(root)
	h.Stop("kubelet")
	if w := h.Stop("docker"); !strings.Contains(w, "can still be activated by") {
		t.Errorf("no socket warning: %q", w)
	}
	if h.IsActive("docker.service") || !h.IsActive("docker.socket") {
		t.Fatal("want docker.service stopped and docker.socket active")
	}
	if _, err := h.Enable("kubelet"); err != nil {
		t.Fatal(err)
	}
	// A docker CLI call (here from the cron job's script) starts docker again.
	if !h.SocketActivate("docker.service") || !h.IsActive("docker.service") {
		t.Fatal("docker.socket did not re-activate docker")
	}
	h.Stop("docker.socket")
	if h.IsActive("docker.service") {
		t.Error("stopping docker.socket left docker.service (which requires it) running")
	}
	if h.SocketActivate("docker.service") {
		t.Error("docker re-activated without its socket")
	}
}

func TestSystemctlVerbs(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	out := simtest.Console(t, root, `systemctl stop kubelet cri-docker cri-docker.socket 2>/dev/null
		systemctl disable --now docker.socket docker 2>&1
		systemctl mask docker.socket 2>&1
		systemctl is-enabled docker.socket || true
		systemctl start docker.socket 2>&1 || echo "start rc=$?"
		systemctl show -p LoadState,ActiveState --value docker.socket
		systemctl is-active docker || echo "is-active rc=$?"
		docker ps 2>&1 || echo "docker rc=$?"
		systemctl unmask docker.socket 2>&1
		systemctl start crio 2>&1 || echo "crio rc=$?"`)
	want := `Removed /etc/systemd/system/sockets.target.wants/docker.socket.
Removed /etc/systemd/system/multi-user.target.wants/docker.service.
Created symlink /etc/systemd/system/docker.socket → /dev/null.
masked
Failed to start docker.socket: Unit docker.socket is masked.
start rc=1
masked
inactive
inactive
is-active rc=3
Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?
docker rc=1
Removed /etc/systemd/system/docker.socket.
Failed to start crio.service: Unit crio.service not found.
crio rc=5
`
	if out != want {
		t.Errorf("systemctl session:\n%s\nwant:\n%s", out, want)
	}
}

func TestSystemdRunTransientUnits(t *testing.T) {
	root := simtest.Root(t, "centos7", "node-1")
	out := simtest.Sh(t, root, `systemd-run --unit crimig-r1-prep /bin/sh -c 'echo hello from the job; exit 3' 2>&1
		sleep 1
		systemctl is-active crimig-r1-prep || true
		journalctl -u crimig-r1-prep | head -1
		systemd-run --unit crimig-r1-prep /bin/true 2>&1 || echo "rerun rc=$?"
		systemctl reset-failed crimig-r1-prep
		systemd-run --unit crimig-r1-prep --collect /bin/sh -c 'exit 3' 2>&1
		sleep 1
		systemctl is-active crimig-r1-prep || true
		systemd-run --scope --unit crimig-r1-scope /bin/sh -c 'echo in a scope; exit 4' || echo "scope rc=$?"`)
	want := `Running as unit: crimig-r1-prep.service
failed
hello from the job
Failed to start transient service unit: Unit crimig-r1-prep.service was already loaded or has a fragment file.
rerun rc=1
Running as unit: crimig-r1-prep.service
inactive
in a scope
scope rc=4
`
	if out != want {
		t.Errorf("systemd-run session:\n%s\nwant:\n%s", out, want)
	}
}

func TestRebootKeepsOnlyPersistedState(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	h := host.New(root)
	before := h.BootID()
	writeFile(t, root, "/etc/modules-load.d/ipvs.conf", "ip_vs_rr\n")
	writeFile(t, root, "/etc/sysctl.d/90-inotify.conf", "fs.inotify.max_user_watches = 524288\n")
	simtest.Sh(t, root, "sysctl -w vm.swappiness=10 >/dev/null && modprobe ip_vs && touch /run/runtime-only")
	simtest.Sh(t, root, "systemctl disable docker.service >/dev/null 2>&1; systemctl is-active docker")

	victim := simtest.Start(t, root, "/bin/sh", "-c", "sleep 300")
	simtest.Eventually(t, 5*time.Second, "exec'd sleep", func() bool { return len(simtest.PidsMatching(root, "sleep 300")) > 0 })
	victims := simtest.PidsMatching(root, "sleep 300")
	simtest.Sh(t, root, "reboot")
	simtest.Eventually(t, 15*time.Second, "the reboot", func() bool {
		return h.BootID() != before && h.BootID() != "" && !h.Rebooting()
	})
	_ = victim
	for _, pid := range victims {
		if simtest.Alive(pid) {
			t.Errorf("exec'd process %d survived the reboot", pid)
		}
	}
	checks := []struct{ cmd, want string }{
		{"sysctl -n vm.swappiness", "60"},                   // runtime-only: back to default
		{"sysctl -n fs.inotify.max_user_watches", "524288"}, // persisted in sysctl.d
		{"lsmod | grep -c '^ip_vs ' || true", "0"},
		{"lsmod | grep -c '^ip_vs_rr '", "1"},
		{"sysctl -n net.bridge.bridge-nf-call-iptables", "1"},
		{"systemctl is-active docker.socket", "active"},
		{"systemctl is-active containerd", "active"},
		{"test -e /run/runtime-only && echo kept || echo gone", "gone"},
		{"cat /proc/sys/kernel/random/boot_id", h.BootID()},
	}
	for _, c := range checks {
		if got := strings.TrimSpace(simtest.Sh(t, root, c.cmd)); got != c.want {
			t.Errorf("%s after reboot = %q, want %q", c.cmd, got, c.want)
		}
	}
	// docker.service was disabled: only socket activation (cri-dockerd) brings it back.
	if !h.IsActive("docker.service") {
		t.Error("cri-dockerd did not socket-activate docker after the reboot")
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
	out := simtest.Sh(t, root, `cd /tmp && tar xzf cri-o.amd64.v1.29.1.tar.gz && ./cri-o/install >/dev/null &&
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

func TestKubeletCgroupDriverMustMatchDocker(t *testing.T) {
	root := simtest.Root(t, "centos7", "node-1") // docker and kubelet on cgroupfs
	_, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c",
		"sed -i 's/^cgroupDriver: cgroupfs/cgroupDriver: systemd/' /var/lib/kubelet/config.yaml && systemctl restart kubelet && systemctl is-active --quiet kubelet")
	if code == 0 {
		t.Fatal("kubelet 1.23 started with a cgroup driver that differs from docker's")
	}
	assertFailed(t, root, "kubelet", "is different from docker cgroup driver")
}

func TestCrioCgroupMismatchBreaksSandboxesOnOldKubelets(t *testing.T) {
	root := simtest.Root(t, "centos7", "node-1")
	h := host.New(root)
	writeFile(t, root, "/etc/yum.repos.d/crio.repo", kubicRepo)
	simtest.Sh(t, root, "yum install -y cri-o >/dev/null && systemctl start crio")
	h.Stop("kubelet")
	writeFile(t, root, "/var/lib/kubelet/kubeadm-flags.env",
		"KUBELET_KUBEADM_ARGS=\"--container-runtime=remote --container-runtime-endpoint=unix:///var/run/crio/crio.sock\"\n")
	if err := h.Start("kubelet"); err != nil {
		t.Fatal(err)
	}
	if e := h.SandboxError(); !strings.Contains(e, "cgroup driver") {
		t.Errorf("kubelet on cgroupfs with crio on systemd: sandbox error %q", e)
	}
	writeFile(t, root, "/etc/crio/crio.conf.d/90-crimig.conf", "[crio.runtime]\ncgroup_manager = \"cgroupfs\"\nconmon_cgroup = \"pod\"\n")
	if e := h.SandboxError(); e == "" {
		t.Error("a config change applied without restarting crio")
	}
	h.Stop("crio")
	if err := h.Start("crio"); err != nil {
		t.Fatal(err)
	}
	if e := h.SandboxError(); e != "" {
		t.Errorf("matching drivers: %q", e)
	}
}

func TestCrioRestartKillsPodsOnlyOnCgroupfsWithoutKillModeProcess(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	h := host.New(root)
	writeFile(t, root, "/etc/yum.repos.d/cri-o.repo", crioRepo)
	simtest.Sh(t, root, "dnf install -y cri-o >/dev/null")
	writeFile(t, root, "/var/lib/kubelet/kubeadm-flags.env", "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/crio/crio.sock\"\n")
	h.Stop("kubelet")
	for _, step := range []struct {
		name, dropIn, killMode string
		kills                  bool
	}{
		{"systemd cgroup manager", "[crio.runtime]\ncgroup_manager = \"systemd\"\n", "", false},
		{"cgroupfs, default KillMode", "[crio.runtime]\ncgroup_manager = \"cgroupfs\"\nconmon_cgroup = \"pod\"\n", "", true},
		{"cgroupfs, KillMode=process", "[crio.runtime]\ncgroup_manager = \"cgroupfs\"\nconmon_cgroup = \"pod\"\n", "[Service]\nKillMode=process\n", false},
	} {
		writeFile(t, root, "/etc/crio/crio.conf.d/90-crimig.conf", step.dropIn)
		if step.killMode != "" {
			writeFile(t, root, "/etc/systemd/system/crio.service.d/10-killmode.conf", step.killMode)
			h.DaemonReload()
		}
		h.Stop("crio")
		h.Stop("kubelet")
		if err := h.Start("crio"); err != nil {
			t.Fatal(err)
		}
		if err := h.Start("kubelet"); err != nil {
			t.Fatal(err)
		}
		before := h.PodKills()
		h.Stop("crio")
		if got := h.PodKills() != before; got != step.kills {
			t.Errorf("%s: stopping crio killed the pods = %v, want %v", step.name, got, step.kills)
		}
	}
}

func TestDropInsNeedDaemonReload(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	writeFile(t, root, "/etc/systemd/system/kubelet.service.d/20-extra.conf",
		"[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS --network-plugin=cni\n")
	_, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "systemctl restart kubelet")
	if code != 0 || !strings.Contains(errOut, "Run 'systemctl daemon-reload'") {
		t.Fatalf("an unloaded drop-in applied, or no warning: exit %d %q", code, errOut)
	}
	if _, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "systemctl daemon-reload && systemctl restart kubelet && systemctl is-active --quiet kubelet"); code == 0 {
		t.Fatal("after daemon-reload, kubelet 1.33 accepted --network-plugin from the drop-in")
	}
	assertFailed(t, root, "kubelet", "unknown flag: --network-plugin")
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

// assertFailed checks that a unit is failed (or, for the kubelet, crash
// looping) and that its journal says why.
func assertFailed(t *testing.T, root, unit, reason string) {
	t.Helper()
	u := host.NormUnit(unit)
	want := host.Failed
	if u == "kubelet.service" {
		want = host.Activating
	}
	if s := host.New(root).State(u); s != want {
		t.Errorf("%s is %s, want %s", unit, s, want)
	}
	data, _ := os.ReadFile(filepath.Join(root, host.JournalDir, u+".log"))
	if !strings.Contains(string(data), reason) {
		t.Errorf("%s journal lacks %q:\n%s", unit, reason, data)
	}
}
