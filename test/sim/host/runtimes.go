package host

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// check runs the start-time validation of a unit; "" means it starts.
func (h *Host) check(unit string, u *UnitFile) string {
	cmd := h.Command(u)
	if len(cmd) > 0 && strings.HasPrefix(cmd[0], "/") && !h.Exists(cmd[0]) {
		return fmt.Sprintf("Failed at step EXEC spawning %s: No such file or directory", cmd[0])
	}
	switch unit {
	case "containerd.service":
		if err := h.CheckContainerd(); err != nil {
			return err.Error()
		}
		// containerd loads its config at start: record what the kubelet will find.
		_ = h.Write("/var/lib/sim/run/containerd.cri", fmt.Sprint(h.containerdCRIInConfig()))
		_ = h.Write("/var/lib/sim/run/containerd.cgroup_driver", h.ContainerdCgroupDriver())
	case "docker.service":
		_ = h.Start("containerd.service") // Wants=containerd.service
		return errString(h.CheckDaemonJSON())
	case "cri-docker.service":
		if !h.IsActive("docker.service") && !h.SocketActivate("docker.service") {
			return "Unable to connect to docker daemon at unix:///var/run/docker.sock: docker.service is not running"
		}
	case "crio.service":
		if err := h.CheckCrio(); err != nil {
			return err.Error()
		}
		_ = h.Write("/var/lib/sim/run/crio.version", h.crioVersionOf(cmd))
		_ = h.Write("/var/lib/sim/run/crio.cgroup_manager", h.CrioCgroupManager())
	case "kubelet.service":
		return errString(h.StartKubelet(cmd))
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TOMLCheck parses each file with a real TOML parser.
func TOMLCheck(files ...string) error {
	for _, f := range files {
		var v map[string]any
		if _, err := toml.DecodeFile(f, &v); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// crioConfig holds the CRI-O settings that the simulator validates.
type crioConfig struct {
	Crio struct {
		Root    string          `toml:"root"`
		Runtime crioRuntimeConf `toml:"runtime"`
		Image   struct {
			PauseImage         string   `toml:"pause_image"`
			InsecureRegistries []string `toml:"insecure_registries"`
		} `toml:"image"`
	} `toml:"crio"`
}

type crioRuntimeConf struct {
	CgroupManager  string                 `toml:"cgroup_manager"`
	ConmonCgroup   string                 `toml:"conmon_cgroup"`
	Conmon         string                 `toml:"conmon"`
	DefaultRuntime string                 `toml:"default_runtime"`
	DefaultUlimits []string               `toml:"default_ulimits"`
	Runtimes       map[string]crioRuntime `toml:"runtimes"`
}

type crioRuntime struct {
	RuntimePath string `toml:"runtime_path"`
	RuntimeType string `toml:"runtime_type"`
	MonitorPath string `toml:"monitor_path"`
}

// servicePath is the $PATH systemd gives a service such as crio.service.
var servicePath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// lookPath finds name in the services' $PATH, as exec.LookPath in crio does.
func (h *Host) lookPath(name string) (string, bool) {
	for _, d := range servicePath {
		if p := d + "/" + name; h.Exists(p) {
			return p, true
		}
	}
	return "", false
}

// checkCrioMonitors is CRI-O's TranslateMonitorFields at start: every "oci"
// handler, the built-in default included, needs conmon, from the global
// conmon, its monitor_path, or else $PATH. A drop-in's handler table
// replaces an earlier one whole (the decoder keeps nothing of it).
func (h *Host) checkCrioMonitors(rt crioRuntimeConf) error {
	handlers := map[string]crioRuntime{}
	for name, r := range rt.Runtimes {
		handlers[name] = r
	}
	def := rt.DefaultRuntime
	if def == "" {
		def = "crun"
	}
	if _, ok := handlers[def]; !ok {
		handlers[def] = crioRuntime{} // CRI-O's built-in handler
	}
	names := make([]string, 0, len(handlers))
	for name := range handlers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r := handlers[name]
		if r.RuntimeType != "" && r.RuntimeType != "oci" {
			continue
		}
		monitor := r.MonitorPath
		if rt.Conmon != "" {
			monitor = rt.Conmon
		}
		switch {
		case monitor == "":
			if _, ok := h.lookPath("conmon"); !ok {
				return fmt.Errorf("failed to translate monitor fields for runtime %s: exec: \"conmon\": executable file not found in $PATH", name)
			}
		case !h.Exists(monitor):
			return fmt.Errorf("failed to translate monitor fields for runtime %s: invalid conmon path: stat %s: no such file or directory", name, monitor)
		}
	}
	return nil
}

// CrioFiles lists CRI-O's config files in the order CRI-O reads them.
func (h *Host) CrioFiles() []string {
	var files []string
	if h.Exists("/etc/crio/crio.conf") {
		files = append(files, "/etc/crio/crio.conf")
	}
	return append(files, h.Glob("/etc/crio/crio.conf.d/*")...)
}

// CrioRoot is CRI-O's storage root as its configuration sets it, "" for
// the default (or a configuration that does not decode: CRI-O would not
// start then).
func (h *Host) CrioRoot() string {
	cfg, err := h.crioConfig()
	if err != nil {
		return ""
	}
	return cfg.Crio.Root
}

// crioConfig reads CRI-O's config files in order, later ones overriding.
func (h *Host) crioConfig() (crioConfig, error) {
	var cfg crioConfig
	for _, f := range h.CrioFiles() {
		if st, err := os.Stat(h.P(f)); err != nil || st.IsDir() {
			continue
		}
		if _, err := toml.DecodeFile(h.P(f), &cfg); err != nil {
			return cfg, fmt.Errorf("validating configuration: decode %s: %w", f, err)
		}
	}
	return cfg, nil
}

// CheckCrio validates the CRI-O and containers-registries configuration.
func (h *Host) CheckCrio() error {
	cfg, err := h.crioConfig()
	if err != nil {
		return err
	}
	rt := cfg.Crio.Runtime
	switch rt.CgroupManager {
	case "", "systemd":
	case "cgroupfs":
		if rt.ConmonCgroup != "" && rt.ConmonCgroup != "pod" {
			return fmt.Errorf("validating runtime config: cgroupfs manager conmon cgroup should be 'pod' or empty, got %q", rt.ConmonCgroup)
		}
	default:
		return fmt.Errorf("validating runtime config: invalid cgroup manager: %s", rt.CgroupManager)
	}
	if def := rt.DefaultRuntime; def != "" && def != "crun" && def != "runc" {
		if _, ok := rt.Runtimes[def]; !ok {
			return fmt.Errorf("validating runtime config: default_runtime set to %q, but no runtime entry was found for it", def)
		}
	}
	for name, r := range rt.Runtimes {
		if r.RuntimePath != "" && !h.Exists(r.RuntimePath) {
			return fmt.Errorf("validating runtime config: invalid runtime_path for runtime '%s': %q: stat %s: no such file or directory", name, r.RuntimePath, r.RuntimePath)
		}
	}
	if rt.Conmon != "" && !h.Exists(rt.Conmon) {
		return fmt.Errorf("validating runtime config: invalid conmon path: stat %s: no such file or directory", rt.Conmon)
	}
	if err := h.checkCrioMonitors(rt); err != nil {
		return err
	}
	return h.CheckRegistries()
}

// registriesConf is containers-registries.conf(5), v2 plus the v1 tables.
type registriesConf struct {
	Unqualified []string   `toml:"unqualified-search-registries"`
	Registry    []registry `toml:"registry"`
	V1          *struct {
		Search   map[string]any `toml:"search"`
		Insecure map[string]any `toml:"insecure"`
		Block    map[string]any `toml:"block"`
	} `toml:"registries"`
	ShortNameMode string            `toml:"short-name-mode"`
	Aliases       map[string]string `toml:"aliases"`
}

type registry struct {
	Prefix   string `toml:"prefix"`
	Location string `toml:"location"`
	Insecure bool   `toml:"insecure"`
	Blocked  bool   `toml:"blocked"`
	Mirror   []struct {
		Location string `toml:"location"`
		Insecure bool   `toml:"insecure"`
	} `toml:"mirror"`
}

// CheckRegistries validates registries.conf and its drop-ins.
func (h *Host) CheckRegistries() error {
	files := h.Glob("/etc/containers/registries.conf.d/*.conf")
	if h.Exists("/etc/containers/registries.conf") {
		files = append([]string{"/etc/containers/registries.conf"}, files...)
	}
	for _, f := range files {
		var rc registriesConf
		if _, err := toml.DecodeFile(h.P(f), &rc); err != nil {
			return fmt.Errorf("loading registries configuration %q: %w", f, err)
		}
		if rc.V1 != nil && (len(rc.Registry) > 0 || len(rc.Unqualified) > 0) {
			return fmt.Errorf("loading registries configuration %q: mixing sysregistry v1/v2 is not supported", f)
		}
		for _, r := range rc.Registry {
			if r.Prefix == "" && r.Location == "" {
				return fmt.Errorf("loading registries configuration %q: invalid condition: both location and prefix are unset", f)
			}
			for _, m := range r.Mirror {
				if m.Location == "" {
					return fmt.Errorf("loading registries configuration %q: invalid condition: mirror location is unset", f)
				}
			}
		}
		switch rc.ShortNameMode {
		case "", "enforcing", "permissive", "disabled":
		default:
			return fmt.Errorf("loading registries configuration %q: invalid short-name mode: %q", f, rc.ShortNameMode)
		}
	}
	return nil
}

// CheckContainerd validates /etc/containerd/config.toml (and its version).
func (h *Host) CheckContainerd() error {
	cfg, err := h.containerdConfig()
	if err != nil {
		return err
	}
	v, _ := cfg["version"].(int64)
	major := strings.SplitN(h.containerdVersion(), ".", 2)[0]
	if major == "1" && v > 2 {
		return fmt.Errorf("failed to load TOML from /etc/containerd/config.toml: unsupported config version `%d`", v)
	}
	runc, _ := dig(cfg, "plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "runc", "options", "SystemdCgroup")
	if runc != nil {
		if _, ok := runc.(bool); !ok {
			return fmt.Errorf("failed to load TOML: SystemdCgroup must be a boolean, got %T", runc)
		}
	}
	return nil
}

func (h *Host) containerdConfig() (map[string]any, error) {
	cfg := map[string]any{}
	if !h.Exists("/etc/containerd/config.toml") {
		return cfg, nil
	}
	if _, err := toml.DecodeFile(h.P("/etc/containerd/config.toml"), &cfg); err != nil {
		return nil, fmt.Errorf("failed to load TOML from /etc/containerd/config.toml: %w", err)
	}
	return cfg, nil
}

// ContainerdCRIEnabled reports whether the running containerd serves the
// CRI API (docker's containerd ships with disabled_plugins = ["cri"]).
func (h *Host) ContainerdCRIEnabled() bool {
	return h.Read("/var/lib/sim/run/containerd.cri") == "true"
}

func (h *Host) containerdCRIInConfig() bool {
	cfg, err := h.containerdConfig()
	if err != nil {
		return false
	}
	list, _ := cfg["disabled_plugins"].([]any)
	for _, p := range list {
		if s, _ := p.(string); s == "cri" || s == "io.containerd.grpc.v1.cri" {
			return false
		}
	}
	return true
}

func dig(m map[string]any, keys ...string) (any, bool) {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// dockerKeys are the daemon.json options dockerd 20.10 knows.
var dockerKeys = strings.Fields(`authorization-plugins bip bridge builder cgroup-parent cluster-advertise
cluster-store cluster-store-opts containerd containerd-namespace containerd-plugins-namespace cpu-rt-period
cpu-rt-runtime data-root debug default-address-pools default-cgroupns-mode default-gateway default-gateway-v6
default-ipc-mode default-runtime default-shm-size default-ulimits dns dns-opts dns-search exec-opts exec-root
experimental features fixed-cidr fixed-cidr-v6 group hosts icc init init-path insecure-registries ip ip-forward
ip-masq iptables ip6tables ipv6 labels live-restore log-driver log-level log-opts max-concurrent-downloads
max-concurrent-uploads max-download-attempts metrics-addr mtu no-new-privileges node-generic-resources
oom-score-adjust pidfile raw-logs registry-mirrors runtimes seccomp-profile selinux-enabled shutdown-timeout
storage-driver storage-opts swarm-default-advertise-addr tls tlscacert tlscert tlskey tlsverify userland-proxy
userland-proxy-path userns-remap`)

// CheckDaemonJSON validates /etc/docker/daemon.json as dockerd does.
func (h *Host) CheckDaemonJSON() error {
	data, err := os.ReadFile(h.P("/etc/docker/daemon.json"))
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("unable to configure the Docker daemon with file /etc/docker/daemon.json: %w", err)
	}
	var unknown []string
	for k := range m {
		if !contains(dockerKeys, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		return fmt.Errorf("unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives don't match any configuration option: %s", strings.Join(unknown, ", "))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var versionRE = regexp.MustCompile(`\d+\.\d+\.\d+[0-9A-Za-z.~+-]*`)

// BinaryVersion runs `bin --version` inside the host and extracts a version.
// It only works when the caller is chrooted into the host (Root == "/").
func (h *Host) BinaryVersion(bin string) string {
	if h.Root != "/" {
		return ""
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	return versionRE.FindString(string(out))
}

// CrioVersion is the version of the installed crio binary.
func (h *Host) CrioVersion() string {
	if v := h.Read("/var/lib/sim/run/crio.version"); v != "" {
		return v
	}
	if v := h.PkgVersion("cri-o"); v != "" {
		return v
	}
	for _, b := range []string{"/usr/local/bin/crio", "/usr/bin/crio"} {
		if h.Exists(b) {
			if v := h.BinaryVersion(b); v != "" {
				return v
			}
		}
	}
	return ""
}

func (h *Host) containerdVersion() string {
	for _, p := range []string{"containerd.io", "containerd"} {
		if v := h.PkgVersion(p); v != "" {
			return v
		}
	}
	if m, err := h.Meta(); err == nil {
		return m.ContainerdVersion
	}
	return ""
}
