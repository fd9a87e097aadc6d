package host

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// The root has no real /proc (a chroot cannot see the host's), so the
// simulator keeps a fake one: one directory per running daemon with
// cmdline/comm/stat/status, plus modules, sys/ and boot_id. busybox's
// ps, pgrep, pidof, lsmod and sysctl read it as they would a real /proc.

func (h *Host) nextPID() int {
	n, _ := strconv.Atoi(h.Read(filepath.Join(RunDir, "pidseq")))
	if n < 900 {
		n = 900
	}
	n += 7
	_ = h.Write(filepath.Join(RunDir, "pidseq"), strconv.Itoa(n))
	return n
}

func (h *Host) writeProc(pid int, argv []string) {
	if len(argv) == 0 {
		return
	}
	comm := filepath.Base(argv[0])
	if len(comm) > 15 {
		comm = comm[:15]
	}
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	_ = h.Write(filepath.Join(dir, "cmdline"), strings.Join(argv, "\x00")+"\x00")
	_ = h.Write(filepath.Join(dir, "comm"), comm+"\n")
	ppid := 1
	if pid == 1 {
		ppid = 0
	}
	fields := []string{strconv.Itoa(pid), "(" + comm + ")", "S", strconv.Itoa(ppid), strconv.Itoa(pid), strconv.Itoa(pid),
		"0", "-1", "4194560", "1000", "0", "10", "0", "120", "30", "0", "0", "20", "0", "12", "0", "1500",
		"1092616192", "10000", "18446744073709551615", "1", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0",
		"17", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"}
	_ = h.Write(filepath.Join(dir, "stat"), strings.Join(fields, " ")+"\n")
	_ = h.Write(filepath.Join(dir, "status"), fmt.Sprintf("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmRSS:\t   40000 kB\nThreads:\t12\n", comm, pid, pid, ppid))
}

func (h *Host) addProc(unit string, argv []string) {
	h.removeProc(unit)
	pid := h.nextPID()
	h.writeProc(pid, argv)
	_ = h.Write(filepath.Join(RunDir, "pids", unit), strconv.Itoa(pid))
}

func (h *Host) removeProc(unit string) {
	pid := h.Read(filepath.Join(RunDir, "pids", unit))
	if pid == "" {
		return
	}
	_ = h.Remove(filepath.Join("/proc", pid))
	_ = h.Remove(filepath.Join(RunDir, "pids", unit))
}

// MainPID returns the fake pid of a running service, 0 if none.
func (h *Host) MainPID(unit string) int {
	n, _ := strconv.Atoi(h.Read(filepath.Join(RunDir, "pids", NormUnit(unit))))
	return n
}

// sysctlPath maps net.ipv4.ip_forward to /proc/sys/net/ipv4/ip_forward.
func sysctlPath(key string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(strings.ReplaceAll(key, ".", "/"), "//", "."))
}

// Sysctl returns a kernel parameter and whether it exists.
func (h *Host) Sysctl(key string) (string, bool) {
	if !h.Exists(sysctlPath(key)) {
		return "", false
	}
	return h.Read(sysctlPath(key)), true
}

// SetSysctl sets an existing kernel parameter.
func (h *Host) SetSysctl(key, val string) error {
	if !h.Exists(sysctlPath(key)) {
		return fmt.Errorf("sysctl: cannot stat %s: No such file or directory", sysctlPath(key))
	}
	return h.Write(sysctlPath(key), val+"\n")
}

// baseSysctls exist on every simulated kernel.
var baseSysctls = map[string]string{
	"net.ipv4.ip_forward": "0", "net.ipv6.conf.all.forwarding": "0", "net.ipv6.conf.default.forwarding": "0",
	"vm.swappiness": "60", "vm.overcommit_memory": "0", "vm.panic_on_oom": "0", "kernel.panic": "0",
	"kernel.panic_on_oops": "1", "kernel.pid_max": "4194304", "fs.inotify.max_user_watches": "8192",
	"fs.inotify.max_user_instances": "128", "fs.file-max": "9223372036854775807",
	"net.core.somaxconn": "4096", "net.ipv4.conf.all.rp_filter": "1", "kernel.keys.root_maxkeys": "1000000",
	"net.ipv4.conf.all.forwarding": "0", "net.ipv4.tcp_keepalive_time": "7200",
}

// moduleSysctls appear when a module is loaded.
var moduleSysctls = map[string]map[string]string{
	"br_netfilter": {"net.bridge.bridge-nf-call-iptables": "1", "net.bridge.bridge-nf-call-ip6tables": "1", "net.bridge.bridge-nf-call-arptables": "1"},
	"nf_conntrack": {"net.netfilter.nf_conntrack_max": "262144"},
}

// KnownModules are the modules the simulated kernel ships.
var KnownModules = strings.Fields(`overlay br_netfilter bridge stp llc nf_conntrack nf_nat ip_tables iptable_nat
iptable_filter iptable_mangle x_tables xt_conntrack xt_MASQUERADE xt_addrtype ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh
nf_defrag_ipv4 nf_defrag_ipv6 veth vxlan ipip nfnetlink ip6_tables ip6table_filter ip6table_nat libcrc32c
xt_comment xt_mark xt_set ip_set nf_reject_ipv4 nft_chain_nat nf_tables dm_mod`)

// LoadedModules lists loaded kernel modules.
func (h *Host) LoadedModules() []string {
	return strings.Fields(h.Read(ModulesFile))
}

// LoadModule loads a kernel module, as modprobe does. Like kmod's modprobe
// it needs /lib/modules/<kernel> (gone after a kernel upgrade without a
// reboot), even for a module that is built in or already loaded.
func (h *Host) LoadModule(name string) error {
	name = strings.ReplaceAll(name, "-", "_")
	kernel := h.kernelVersion()
	if !contains(KnownModules, name) || !h.Exists(ModulesDir(kernel)) {
		return fmt.Errorf("modprobe: FATAL: Module %s not found in directory %s", name, ModulesDir(kernel))
	}
	if h.builtin(name) {
		return nil
	}
	mods := h.LoadedModules()
	if contains(mods, name) {
		return nil
	}
	mods = append(mods, name)
	_ = h.Write(ModulesFile, strings.Join(mods, "\n")+"\n")
	h.moduleUp(name)
	h.writeProcModules(mods)
	return nil
}

// ModulesDir is where modprobe looks for a kernel's modules.
func ModulesDir(kernel string) string { return "/lib/modules/" + kernel }

func (h *Host) kernelVersion() string {
	if m, _ := h.Meta(); m != nil {
		return m.KernelVersion
	}
	return ""
}

func (h *Host) builtin(name string) bool {
	m, _ := h.Meta()
	return m != nil && contains(m.BuiltinModules, name)
}

// moduleUp shows a module under /sys/module and adds its sysctls.
func (h *Host) moduleUp(name string) {
	_ = mkdirAll(h.P(SysModuleDir + "/" + name + "/parameters"))
	h.moduleSysctlsUp(name)
}

// builtinUp brings up a module compiled into the kernel. Its sysctls are
// there; /sys/module lists a built-in module only when it has parameters or
// a version, and br_netfilter has neither (as on a real 6.x kernel with it
// built in, where only /proc/sys/net/bridge shows it).
func (h *Host) builtinUp(name string) {
	if !contains(builtinWithoutSysfs, name) {
		_ = mkdirAll(h.P(SysModuleDir + "/" + name + "/parameters"))
	}
	h.moduleSysctlsUp(name)
}

// builtinWithoutSysfs are modules that, built in, have no /sys/module entry.
var builtinWithoutSysfs = []string{"br_netfilter"}

func (h *Host) moduleSysctlsUp(name string) {
	for k, v := range moduleSysctls[name] {
		_ = h.Write(sysctlPath(k), v+"\n")
	}
}

// UnloadModule removes a module; built-in modules cannot be removed.
func (h *Host) UnloadModule(name string) error {
	name = strings.ReplaceAll(name, "-", "_")
	if h.builtin(name) {
		return fmt.Errorf("modprobe: FATAL: Module %s is builtin.", name)
	}
	var keep []string
	for _, m := range h.LoadedModules() {
		if m != name {
			keep = append(keep, m)
		}
	}
	_ = h.Write(ModulesFile, strings.Join(keep, "\n")+"\n")
	_ = h.Remove(SysModuleDir + "/" + name)
	for k := range moduleSysctls[name] {
		_ = h.Remove(sysctlPath(k))
	}
	h.writeProcModules(keep)
	return nil
}

func (h *Host) writeProcModules(mods []string) {
	var b strings.Builder
	for i, m := range mods {
		fmt.Fprintf(&b, "%s %d 0 - Live 0x0000000000000000\n", m, 16384+i*4096)
	}
	_ = h.Write("/proc/modules", b.String())
}
