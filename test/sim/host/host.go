// Package host owns a simulated node's host root: its persistent and volatile
// state files, the systemd-like unit model, the kubelet and runtime checks,
// the package managers and the reboot cycle. Every function takes the root
// directory, which is "/" when a stub runs chrooted inside it.
package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Paths of the simulator's own state inside a root.
const (
	StateDir     = "/var/lib/sim"       // persistent across reboots
	RunDir       = "/var/lib/sim/run"   // volatile: wiped on reboot, like /run
	ExecsDir     = "/var/lib/sim/execs" // one record per exec'd process group
	PkgsDir      = "/var/lib/sim/pkgs"  // installed packages: name -> version
	MetaFile     = "/var/lib/sim/host.json"
	UnitsRunDir  = "/var/lib/sim/run/units" // active/failed units
	JournalDir   = "/var/lib/sim/run/journal"
	BootIDFile   = "/var/lib/sim/run/boot_id"
	RebootFile   = "/var/lib/sim/run/rebooting"
	KubeletFile  = "/var/lib/sim/run/kubelet.json"
	PodsRTFile   = "/var/lib/sim/pods-runtime"  // runtime the node's pods last ran on
	PodKillsFile = "/var/lib/sim/run/pod-kills" // bumped when the pods' runtime stops
	JobsDir      = "/var/lib/sim/run/jobs"      // systemd-run transient units
	ModulesFile  = "/var/lib/sim/run/modules"
	SysModuleDir = "/sys/module" // loaded and built-in modules; rebuilt at boot
	PersistLib   = "/usr/libexec/crimig-sim/crimig-sim"
)

// Meta describes the simulated machine; it comes from the fixture's host.json.
type Meta struct {
	Fixture           string   `json:"fixture"`
	OSImage           string   `json:"osImage"`
	KernelVersion     string   `json:"kernelVersion"`
	KubeletVersion    string   `json:"kubeletVersion"`
	DockerVersion     string   `json:"dockerVersion"`
	ContainerdVersion string   `json:"containerdVersion"`
	CriDockerdVersion string   `json:"criDockerdVersion,omitempty"`
	CrioVersion       string   `json:"crioVersion"`
	PodmanVersion     string   `json:"podmanVersion"`
	PackageManager    string   `json:"packageManager"`
	KubeletEnvFile    string   `json:"kubeletEnvFile"`
	UnitDir           string   `json:"unitDir"`
	CRISocket         string   `json:"criSocket"`
	CgroupVersion     int      `json:"cgroupVersion"`
	Mounts            []string `json:"mounts,omitempty"` // extra /proc/mounts lines
	Enabled           []string `json:"enabled"`
	Masked            []string `json:"masked,omitempty"`
	// BuiltinModules are compiled into the kernel: always under
	// /sys/module, never in /proc/modules, and rmmod refuses them.
	BuiltinModules []string `json:"builtinModules,omitempty"`
	// ControlPlane is set by `add-node --control-plane`: a kubeadm
	// control-plane node with static pods in /etc/kubernetes/manifests.
	ControlPlane bool `json:"controlPlane,omitempty"`
}

// Host is one simulated host root.
type Host struct {
	Root string
}

// New returns the host rooted at root ("/" inside the chroot).
func New(root string) *Host { return &Host{Root: root} }

// P maps an absolute in-host path to the real path.
func (h *Host) P(p string) string { return filepath.Join(h.Root, p) }

// Meta reads host.json.
func (h *Host) Meta() (*Meta, error) {
	var m Meta
	data, err := os.ReadFile(h.P(MetaFile))
	if err != nil {
		return nil, fmt.Errorf("read simulator metadata: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", MetaFile, err)
	}
	return &m, nil
}

// Read returns the trimmed content of an in-host file, "" if missing.
func (h *Host) Read(p string) string {
	data, err := os.ReadFile(h.P(p))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// Exists reports whether an in-host path exists (without following a final symlink).
func (h *Host) Exists(p string) bool {
	_, err := os.Lstat(h.P(p))
	return err == nil
}

// Write writes an in-host file, creating parent directories.
func (h *Host) Write(p, content string) error {
	full := h.P(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(full), "."+filepath.Base(full)+".sim-*")
	if err != nil {
		return err
	}
	_, werr := f.WriteString(content)
	cerr := f.Close()
	_ = os.Chmod(f.Name(), 0o644)
	if werr != nil || cerr != nil {
		_ = os.Remove(f.Name())
		return errors.Join(werr, cerr)
	}
	return os.Rename(f.Name(), full)
}

// Remove removes an in-host path; a missing path is not an error.
func (h *Host) Remove(p string) error {
	err := os.RemoveAll(h.P(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Glob returns in-host paths matching pattern, sorted.
func (h *Host) Glob(pattern string) []string {
	matches, _ := filepath.Glob(h.P(pattern))
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		if b := filepath.Base(m); strings.HasPrefix(b, ".") && strings.Contains(b, ".sim-") {
			continue // another writer's temp file
		}
		rel, err := filepath.Rel(h.Root, m)
		if err != nil {
			continue
		}
		out = append(out, "/"+rel)
	}
	sort.Strings(out)
	return out
}

// Log appends a line to a unit's simulated journal.
func (h *Host) Log(unit, format string, args ...any) {
	full := h.P(filepath.Join(JournalDir, unit+".log"))
	_ = os.MkdirAll(filepath.Dir(full), 0o755)
	f, err := os.OpenFile(full, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, format+"\n", args...)
}

// PkgVersion returns the installed version of a package, "" if not installed.
func (h *Host) PkgVersion(name string) string { return h.Read(filepath.Join(PkgsDir, name)) }

func mkdirAll(p string) error { return os.MkdirAll(p, 0o755) }
