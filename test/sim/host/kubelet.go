package host

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"
)

// Runtime endpoints as the kubelet sees them, normalised to /run paths.
const (
	DockershimSocket = "/run/dockershim.sock"
	CriDockerdSocket = "/run/cri-dockerd.sock"
	CrioSocket       = "/run/crio/crio.sock"
	ContainerdSocket = "/run/containerd/containerd.sock"
)

// KubeletState is what the running simulated kubelet was started with.
type KubeletState struct {
	Args        []string `json:"args"`
	Endpoint    string   `json:"endpoint"`    // normalised socket path
	Runtime     string   `json:"runtime"`     // docker, crio or containerd
	RuntimeUnit []string `json:"runtimeUnit"` // units that must be active for the CRI to answer
	// StaticPodPath is the manifest directory the kubelet watches
	// (--pod-manifest-path, else staticPodPath), as read at its start.
	StaticPodPath string `json:"staticPodPath,omitempty"`
}

// removedFlags maps kubelet flags to the first minor version without them.
// --pod-infra-container-image: deprecated in 1.27; the simulator rejects it
// from 1.35 on (a real 1.37 kubelet was seen rejecting it).
var removedFlags = map[string]int{
	"network-plugin": 24, "network-plugin-mtu": 24, "cni-bin-dir": 24, "cni-conf-dir": 24,
	"cni-cache-dir": 24, "docker-endpoint": 24, "image-pull-progress-deadline": 24,
	"experimental-dockershim-root-directory": 24, "dockershim-root-directory": 24,
	"container-runtime": 27, "pod-infra-container-image": 35,
}

// addedFlags maps kubelet flags to the first minor version that has them.
var addedFlags = map[string]int{"config-dir": 30}

// configFieldSince maps KubeletConfiguration fields to the minor that added them.
var configFieldSince = map[string]int{
	"containerRuntimeEndpoint": 27, "imageServiceEndpoint": 27, "imageMaximumGCAge": 29,
	"failCgroupV1": 31, "crashLoopBackOff": 32, "imagePullCredentialsVerificationPolicy": 33,
}

// Minor returns the minor version of "v1.23.3".
func Minor(version string) int {
	parts := strings.Split(strings.TrimPrefix(version, "v"), ".")
	if len(parts) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(parts[1])
	return n
}

// ParseFlags turns kubelet arguments into a flag map (last one wins).
func ParseFlags(args []string) map[string]string {
	flags := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name := strings.TrimLeft(a, "-")
		if k, v, ok := strings.Cut(name, "="); ok {
			flags[k] = v
			continue
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			flags[name] = args[i+1]
			i++
			continue
		}
		flags[name] = "true"
	}
	return flags
}

// StartKubelet validates flags and config for the simulated kubelet version,
// resolves the runtime endpoint and records the kubelet state.
func (h *Host) StartKubelet(cmd []string) error {
	m, err := h.Meta()
	if err != nil {
		return err
	}
	minor := Minor(m.KubeletVersion)
	var args []string
	if len(cmd) > 1 {
		args = cmd[1:]
	}
	flags := ParseFlags(args)
	for f := range flags {
		if since, ok := removedFlags[f]; ok && minor >= since {
			return fmt.Errorf("command failed: unknown flag: --%s", f)
		}
		if since, ok := addedFlags[f]; ok && minor < since {
			return fmt.Errorf("command failed: unknown flag: --%s", f)
		}
	}
	cfg, err := h.LoadKubeletConfig(flags["config"], minor)
	if err != nil {
		return err
	}
	if dir := flags["config-dir"]; dir != "" {
		if err := h.loadKubeletConfigDir(dir, minor, cfg); err != nil {
			return err
		}
	}
	st, err := h.resolveRuntime(minor, flags, cfg)
	if err != nil {
		return err
	}
	driver := cfg.CgroupDriver
	if driver == "" {
		driver = "cgroupfs"
	}
	if st.Endpoint == DockershimSocket && driver != h.DockerCgroupDriver() {
		return fmt.Errorf("failed to run Kubelet: misconfiguration: kubelet cgroup driver: %q is different from docker cgroup driver: %q", driver, h.DockerCgroupDriver())
	}
	_ = h.Write(filepath.Join(RunDir, "kubelet-cgroup-driver"), driver)
	st.Args = cmd
	st.StaticPodPath = cfg.StaticPodPath
	if p := flags["pod-manifest-path"]; p != "" {
		st.StaticPodPath = p
	}
	data, _ := json.Marshal(st)
	_ = h.Write(KubeletFile, string(data))
	return h.Write(PodsRTFile, st.Runtime)
}

// LoadKubeletConfig strict-decodes the kubelet config file.
func (h *Host) LoadKubeletConfig(path string, minor int) (*kubeletv1beta1.KubeletConfiguration, error) {
	cfg := &kubeletv1beta1.KubeletConfiguration{}
	if path == "" {
		return cfg, nil
	}
	if err := h.decodeKubeletConfig(path, minor, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// loadKubeletConfigDir overlays the drop-ins of --config-dir (1.30+) in
// lexical order, each strict-decoded like the main file.
func (h *Host) loadKubeletConfigDir(dir string, minor int, cfg *kubeletv1beta1.KubeletConfiguration) error {
	for _, f := range h.Glob(filepath.Join(dir, "*.conf")) {
		if err := h.decodeKubeletConfig(f, minor, cfg); err != nil {
			return err
		}
	}
	return nil
}

func (h *Host) decodeKubeletConfig(path string, minor int, cfg *kubeletv1beta1.KubeletConfiguration) error {
	data, err := os.ReadFile(h.P(path))
	if err != nil {
		return fmt.Errorf("failed to load kubelet config file, path: %s, error: %w", path, err)
	}
	if err := yaml.UnmarshalStrict(data, cfg); err != nil {
		return fmt.Errorf("failed to load kubelet config file, path: %s, error: failed to decode: strict decoding error: %w", path, err)
	}
	if cfg.Kind != "KubeletConfiguration" || cfg.APIVersion != "kubelet.config.k8s.io/v1beta1" {
		return fmt.Errorf("failed to load kubelet config file, path: %s, error: no kind %q is registered for version %q", path, cfg.Kind, cfg.APIVersion)
	}
	var raw map[string]any
	_ = yaml.Unmarshal(data, &raw)
	for field, since := range configFieldSince {
		if _, ok := raw[field]; ok && minor < since {
			return fmt.Errorf("failed to load kubelet config file, path: %s, error: failed to decode: strict decoding error: unknown field %q", path, field)
		}
	}
	switch cfg.CgroupDriver {
	case "", "cgroupfs", "systemd":
	default:
		return fmt.Errorf("invalid configuration: cgroupDriver %q is not supported", cfg.CgroupDriver)
	}
	return nil
}

// NormEndpoint strips unix:// and maps /var/run to /run.
func NormEndpoint(ep string) string {
	ep = strings.TrimPrefix(ep, "unix://")
	if strings.HasPrefix(ep, "/var/run/") {
		ep = strings.TrimPrefix(ep, "/var")
	}
	return ep
}

func (h *Host) resolveRuntime(minor int, flags map[string]string, cfg *kubeletv1beta1.KubeletConfiguration) (*KubeletState, error) {
	rt := flags["container-runtime"]
	ep := flags["container-runtime-endpoint"]
	switch {
	case minor <= 23 && (rt == "" || rt == "docker"):
		ep = DockershimSocket
	case minor <= 23 && rt != "remote":
		return nil, fmt.Errorf("failed to run Kubelet: unsupported CRI runtime: %q", rt)
	case minor > 23 && rt != "" && rt != "remote":
		return nil, fmt.Errorf("failed to run Kubelet: unsupported CRI runtime: %q", rt)
	case ep == "" && cfg.ContainerRuntimeEndpoint != "":
		ep = cfg.ContainerRuntimeEndpoint
	case ep == "" && minor <= 23:
		return nil, fmt.Errorf("failed to run Kubelet: the container runtime endpoint address was not specified or empty, use --container-runtime-endpoint to set")
	case ep == "":
		ep = "unix://" + ContainerdSocket
	}
	st := &KubeletState{Endpoint: NormEndpoint(ep)}
	switch st.Endpoint {
	case DockershimSocket:
		st.Runtime, st.RuntimeUnit = "docker", []string{"docker.service"}
		if !h.IsActive("docker.service") && !h.SocketActivate("docker.service") {
			return nil, fmt.Errorf("failed to run Kubelet: failed to create kubelet: failed to get docker version: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
		}
		return st, nil
	case CriDockerdSocket:
		st.Runtime, st.RuntimeUnit = "docker", []string{"cri-docker.service", "docker.service"}
	case CrioSocket:
		st.Runtime, st.RuntimeUnit = "crio", []string{"crio.service"}
	case ContainerdSocket:
		st.Runtime, st.RuntimeUnit = "containerd", []string{"containerd.service"}
		if h.IsActive("containerd.service") && !h.ContainerdCRIEnabled() {
			return nil, fmt.Errorf("failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint %q: rpc error: code = Unimplemented desc = unknown service runtime.v1.RuntimeService", ep)
		}
	default:
		return nil, fmt.Errorf("failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint %q: rpc error: code = Unavailable desc = connection error: dial unix %s: connect: no such file or directory", ep, st.Endpoint)
	}
	if !h.IsActive(st.RuntimeUnit[0]) && !h.SocketActivate(st.RuntimeUnit[0]) {
		return nil, fmt.Errorf("failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint %q: rpc error: code = Unavailable desc = connection error: dial unix %s: connect: no such file or directory", ep, st.Endpoint)
	}
	return st, nil
}

// Kubelet returns the running kubelet's state, nil if it is not running.
func (h *Host) Kubelet() *KubeletState {
	data, err := os.ReadFile(h.P(KubeletFile))
	if err != nil {
		return nil
	}
	var st KubeletState
	if json.Unmarshal(data, &st) != nil {
		return nil
	}
	return &st
}

// RuntimeVersion is the containerRuntimeVersion a kubelet would report.
func (h *Host) RuntimeVersion(runtime string) string {
	m, _ := h.Meta()
	if m == nil {
		return ""
	}
	switch runtime {
	case "docker":
		return "docker://" + m.DockerVersion
	case "crio":
		return "cri-o://" + h.CrioVersion()
	case "containerd":
		return "containerd://" + h.containerdVersion()
	}
	return ""
}
