package host

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// CrioCgroupManager is the cgroup manager CRI-O runs with (default systemd).
func (h *Host) CrioCgroupManager() string {
	var cfg crioConfig
	for _, f := range h.CrioFiles() {
		_, _ = toml.DecodeFile(h.P(f), &cfg)
	}
	if cfg.Crio.Runtime.CgroupManager == "" {
		return "systemd"
	}
	return cfg.Crio.Runtime.CgroupManager
}

// DockerCgroupDriver is docker's native.cgroupdriver (default cgroupfs).
func (h *Host) DockerCgroupDriver() string {
	var cfg struct {
		ExecOpts []string `json:"exec-opts"`
	}
	data, _ := os.ReadFile(h.P("/etc/docker/daemon.json"))
	_ = json.Unmarshal(data, &cfg)
	for _, o := range cfg.ExecOpts {
		if v, ok := strings.CutPrefix(o, "native.cgroupdriver="); ok {
			return v
		}
	}
	return "cgroupfs"
}

func (h *Host) dockerLiveRestore() bool {
	var cfg struct {
		LiveRestore bool `json:"live-restore"`
	}
	data, _ := os.ReadFile(h.P("/etc/docker/daemon.json"))
	_ = json.Unmarshal(data, &cfg)
	return cfg.LiveRestore
}

// ContainerdCgroupDriver is systemd when runc's SystemdCgroup is true.
func (h *Host) ContainerdCgroupDriver() string {
	cfg, err := h.containerdConfig()
	if err != nil {
		return "cgroupfs"
	}
	for _, plugin := range []string{"io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime"} {
		v, _ := dig(cfg, "plugins", plugin, "containerd", "runtimes", "runc", "options", "SystemdCgroup")
		if b, ok := v.(bool); ok && b {
			return "systemd"
		}
	}
	return "cgroupfs"
}

// SandboxError says why the kubelet cannot create pod sandboxes, "" if it
// can. Before 1.28 (KubeletCgroupDriverFromCRI) a kubelet uses its own
// cgroupDriver, and a runtime on the other driver fails every sandbox.
func (h *Host) SandboxError() string {
	k := h.Kubelet()
	m, _ := h.Meta()
	if k == nil || m == nil || Minor(m.KubeletVersion) >= 28 {
		return ""
	}
	var rt string
	switch k.Runtime {
	case "crio":
		rt = h.Read("/var/lib/sim/run/crio.cgroup_manager") // what the running crio loaded
	case "containerd":
		rt = h.Read("/var/lib/sim/run/containerd.cgroup_driver")
	default:
		return ""
	}
	if kd := h.Read(filepath.Join(RunDir, "kubelet-cgroup-driver")); kd != rt {
		return fmt.Sprintf("failed to create pod sandbox: expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups: kubelet uses cgroup driver %q, %s uses %q", kd, k.Runtime, rt)
	}
	return ""
}

// crioVersionOf is the version of the crio binary a unit starts: the
// package's when it is the stub, else what the binary says.
func (h *Host) crioVersionOf(cmd []string) string {
	if len(cmd) > 0 {
		if t, err := os.Readlink(h.P(cmd[0])); err == nil && t == PersistLib {
			if v := h.PkgVersion("cri-o"); v != "" {
				return v
			}
		}
		if v := h.BinaryVersion(cmd[0]); v != "" {
			return v
		}
	}
	_ = h.Remove("/var/lib/sim/run/crio.version")
	return h.CrioVersion()
}
