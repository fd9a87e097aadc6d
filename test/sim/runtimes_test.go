package sim_test

import (
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

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
