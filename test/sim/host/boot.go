package host

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NewBootID returns a random UUID like /proc/sys/kernel/random/boot_id.
func NewBootID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// BootID returns the current boot id.
func (h *Host) BootID() string { return h.Read(BootIDFile) }

// Rebooting reports whether a reboot is in progress.
func (h *Host) Rebooting() bool { return h.Exists(RebootFile) }

// Reboot simulates a reboot: everything running dies, volatile state goes,
// and Boot brings up what was persisted. self is the pid of the caller,
// which the controller's sweep spares.
func (h *Host) Reboot(self int, down time.Duration) {
	_ = h.Write(RebootFile, strconv.Itoa(self))
	h.Log("systemd-logind.service", "System is rebooting.")
	h.bumpPodKills()
	h.KillExecGroups()
	h.KillJobs()
	_ = h.Remove(UnitsRunDir)
	time.Sleep(down)
	h.Boot()
}

// Boot wipes volatile state and starts what was persisted: modules from
// modules-load.d, sysctls from sysctl.d, and the enabled units.
func (h *Host) Boot() {
	booter := h.Read(RebootFile) // the pid the controller's reboot sweep spares
	if booter == "" {
		booter = strconv.Itoa(os.Getpid())
	}
	for _, p := range []string{RunDir, ExecsDir, "/proc", "/run", SysModuleDir} {
		_ = h.Remove(p)
	}
	_ = h.Write(RebootFile, booter) // until the new boot id is written
	for _, d := range []string{"/run/systemd/system", "/run/lock", "/proc/sys/kernel/random", UnitsRunDir} {
		_ = mkdirAll(h.P(d))
	}
	id := NewBootID()
	_ = h.Write("/proc/sys/kernel/random/boot_id", id+"\n")
	h.writeStaticProc()
	if m, _ := h.Meta(); m != nil {
		for _, b := range m.BuiltinModules {
			h.builtinUp(b)
		}
	}
	for _, m := range []string{"ip_tables", "x_tables", "nf_conntrack", "nf_defrag_ipv4", "libcrc32c"} {
		_ = h.LoadModule(m)
	}
	for _, m := range h.modulesToLoad() {
		if err := h.LoadModule(m); err != nil {
			h.Log("systemd-modules-load.service", "Failed to find module '%s'", m)
		}
	}
	for k, v := range baseSysctls {
		_ = h.Write(sysctlPath(k), v+"\n")
	}
	for _, kv := range h.SysctlSystem() {
		if err := h.SetSysctl(kv[0], kv[1]); err != nil {
			h.Log("systemd-sysctl.service", "Couldn't write '%s' to '%s', ignoring: No such file or directory", kv[1], kv[0])
		}
	}
	for _, u := range h.bootUnits() {
		if err := h.Start(u); err != nil {
			h.Log(u, "Failed to start %s at boot.", u)
		}
	}
	_ = h.Remove(RebootFile)
	_ = h.Write(BootIDFile, id) // last: the controller treats a new boot id as "up again"
}

func (h *Host) writeStaticProc() {
	m, _ := h.Meta()
	kernel := "5.4.0"
	if m != nil {
		kernel = m.KernelVersion
	}
	_ = h.Write("/proc/version", fmt.Sprintf("Linux version %s (mockbuild@builder) (gcc (GCC) 9.3.1) #1 SMP\n", kernel))
	_ = h.Write("/proc/sys/kernel/osrelease", kernel+"\n")
	_ = h.Write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz-"+kernel+" root=/dev/mapper/root ro quiet\n")
	mounts := "/dev/mapper/root / xfs rw,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\ntmpfs /run tmpfs rw,nosuid,nodev,mode=755 0 0\n"
	if m != nil && m.CgroupVersion == 1 {
		mounts += "tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0\n"
	} else {
		mounts += "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n"
	}
	if m != nil {
		for _, l := range m.Mounts {
			mounts += l + "\n"
		}
	}
	_ = h.Write("/proc/mounts", mounts)
	_ = h.Write("/proc/meminfo", "MemTotal:        8388608 kB\nMemFree:         6291456 kB\nMemAvailable:    7340032 kB\nSwapTotal:             0 kB\n")
	_ = h.Write("/proc/uptime", "12.00 20.00\n")
	h.writeProc(1, []string{"/usr/lib/systemd/systemd", "--switched-root", "--system", "--deserialize", "22"})
	_ = h.Write("/proc/1/comm", "systemd\n")
}

// modulesToLoad reads modules-load.d (and Debian's /etc/modules).
func (h *Host) modulesToLoad() []string {
	var out []string
	files := h.confFiles("modules-load.d", "*.conf")
	if h.Exists("/etc/modules") {
		files = append(files, "/etc/modules")
	}
	for _, f := range files {
		for _, line := range strings.Split(h.Read(f), "\n") {
			line = strings.TrimSpace(line)
			if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, ";") {
				out = append(out, line)
			}
		}
	}
	return out
}

// SysctlSystem returns key/value pairs in `sysctl --system` order.
func (h *Host) SysctlSystem() [][2]string {
	files := h.confFiles("sysctl.d", "*.conf")
	if h.Exists("/etc/sysctl.conf") {
		files = append(files, "/etc/sysctl.conf")
	}
	var out [][2]string
	for _, f := range files {
		out = append(out, ParseSysctlFile(h.Read(f))...)
	}
	return out
}

// ParseSysctlFile parses "key = value" lines.
func ParseSysctlFile(content string) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out = append(out, [2]string{strings.TrimPrefix(strings.TrimSpace(k), "-"), strings.TrimSpace(v)})
	}
	return out
}

// confFiles merges /etc, /run and /usr/lib directories of a systemd conf dir:
// a file in /etc overrides one of the same name further down; sorted by name.
func (h *Host) confFiles(dir, pattern string) []string {
	byName := map[string]string{}
	for _, base := range []string{"/usr/lib", "/usr/local/lib", "/run", "/etc"} {
		for _, f := range h.Glob(filepath.Join(base, dir, pattern)) {
			byName[filepath.Base(f)] = f
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, byName[n])
	}
	return out
}

// bootUnits returns the enabled units in start order.
func (h *Host) bootUnits() []string {
	var enabled []string
	for _, l := range h.Glob("/etc/systemd/system/*.wants/*") {
		u := filepath.Base(l)
		if !contains(enabled, u) && !h.IsMasked(u) {
			enabled = append(enabled, u)
		}
	}
	var out []string
	for _, u := range startOrder {
		if contains(enabled, u) {
			out = append(out, u)
		}
	}
	sort.Strings(enabled)
	for _, u := range enabled {
		if !contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}
