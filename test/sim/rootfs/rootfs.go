// Package rootfs builds a simulated host root from a fixture: the fixture's
// files, merged-/usr layout, device nodes, busybox with its applet links,
// the crimig-sim multi-call binary with the stub command links, and a first
// boot.
package rootfs

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/crimig/kubectl-crimig/test/sim/applets"
	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// Options say how to build one root.
type Options struct {
	Fixtures fs.FS  // holds <fixture>/root/...
	Fixture  string // centos7, rocky9, ubuntu22
	Dir      string // the root to build
	Name     string // node name (hostname)
	Self     string // the crimig-sim binary to copy in
	Busybox  string // a static busybox, default /bin/busybox
	// ControlPlane makes the root a kubeadm control-plane node (static pod
	// manifests, kubeconfigs, PKI; see makeControlPlane), also when it
	// exists already. The role is kept in host.json: leaving it false never
	// turns a control-plane root back into a worker.
	ControlPlane bool
}

// stubsFor lists the stub commands every root gets; package binaries come
// from the installed packages.
var stubs = []string{"curl", "wget", "systemctl", "systemd-run", "journalctl", "modprobe", "lsmod", "rmmod", "sysctl", "reboot", "shutdown", "hostname", "uname", "pgrep", "nohup"}

var stubsByPM = map[string][]string{
	"yum": {"yum", "rpm"},
	"dnf": {"dnf", "yum", "rpm"},
	"apt": {"apt-get", "apt", "dpkg", "dpkg-query"},
}

// Build creates the root if it does not exist yet and always refreshes the
// binaries in it. It reports whether the root was new.
func Build(o Options) (bool, error) {
	if o.Busybox == "" {
		o.Busybox = "/bin/busybox"
	}
	h := host.New(o.Dir)
	fresh := !h.Exists(host.MetaFile)
	if fresh {
		if err := layout(o); err != nil {
			return false, err
		}
	}
	if err := installBinaries(o); err != nil {
		return false, err
	}
	if o.ControlPlane {
		if err := makeControlPlane(o); err != nil {
			return false, fmt.Errorf("make %s a control-plane node: %w", o.Dir, err)
		}
	}
	if fresh {
		m, err := h.Meta()
		if err != nil {
			return false, err
		}
		for _, u := range m.Enabled {
			if _, err := h.Enable(u); err != nil {
				return false, fmt.Errorf("enable %s in %s: %w", u, o.Dir, err)
			}
		}
		for _, u := range m.Masked {
			if _, err := h.Mask(u); err != nil {
				return false, fmt.Errorf("mask %s in %s: %w", u, o.Dir, err)
			}
		}
		h.Boot()
	}
	return fresh, nil
}

func layout(o Options) error {
	for _, l := range [][2]string{{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib64"}} {
		_ = os.MkdirAll(filepath.Join(o.Dir, l[1]), 0o755)
		if _, err := os.Lstat(filepath.Join(o.Dir, l[0])); err != nil {
			if err := os.Symlink(l[1], filepath.Join(o.Dir, l[0])); err != nil {
				return err
			}
		}
	}
	for _, d := range []string{"dev", "proc", "run", "tmp", "var/tmp", "var/log", "var/lib/docker", "var/lib/kubelet/pki",
		"etc/kubernetes/manifests", "etc/kubernetes/pki", "root", "usr/local/sbin", "usr/libexec/crimig-sim", "opt/cni/bin",
		"etc/cni/net.d", "var/lib/sim/execs", "sys/fs/cgroup", "etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, d), 0o755); err != nil {
			return err
		}
	}
	_ = os.Chmod(filepath.Join(o.Dir, "tmp"), 0o1777)
	if err := copyFixture(o); err != nil {
		return err
	}
	_ = os.WriteFile(filepath.Join(o.Dir, "etc/hostname"), []byte(o.Name+"\n"), 0o644)
	_ = os.WriteFile(filepath.Join(o.Dir, "etc/hosts"), []byte("127.0.0.1 localhost\n127.0.0.1 "+o.Name+"\n"), 0o644)
	_ = os.WriteFile(filepath.Join(o.Dir, "etc/resolv.conf"), []byte("nameserver 10.0.0.2\n"), 0o644)
	_ = os.WriteFile(filepath.Join(o.Dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n"), 0o644)
	_ = os.WriteFile(filepath.Join(o.Dir, "etc/group"), []byte("root:x:0:\ndocker:x:998:\nnobody:x:65534:\n"), 0o644)
	cgroups(o.Dir)
	kernelModules(o.Dir)
	dataRoot(o.Dir)
	return devices(o.Dir)
}

func copyFixture(o Options) error {
	base := path.Join(o.Fixture, "root")
	if _, err := fs.Stat(o.Fixtures, base); err != nil {
		return fmt.Errorf("unknown fixture %q (want centos7, rocky9 or ubuntu22): %w", o.Fixture, err)
	}
	return fs.WalkDir(o.Fixtures, base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, base), "/")
		dst := filepath.Join(o.Dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(o.Fixtures, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, fileMode(rel, data))
	})
}

// fileMode restores modes that embed.FS does not keep.
func fileMode(rel string, data []byte) os.FileMode {
	switch {
	case strings.HasPrefix(rel, "root/"):
		return 0o600
	case strings.HasPrefix(string(data), "#!"):
		return 0o755
	}
	return 0o644
}

func cgroups(root string) {
	m, err := host.New(root).Meta()
	if err != nil {
		return
	}
	cg := filepath.Join(root, "sys/fs/cgroup")
	if m.CgroupVersion == 2 {
		_ = os.WriteFile(filepath.Join(cg, "cgroup.controllers"), []byte("cpuset cpu io memory hugetlb pids rdma misc\n"), 0o444)
		return
	}
	for _, c := range []string{"cpu,cpuacct", "memory", "pids", "systemd", "devices", "blkio", "cpuset", "freezer"} {
		_ = os.MkdirAll(filepath.Join(cg, c), 0o755)
	}
}

// kernelModules gives the running kernel its /lib/modules directory, which
// modprobe needs; a test removes it to act out a kernel upgrade without a reboot.
func kernelModules(root string) {
	if m, err := host.New(root).Meta(); err == nil {
		dir := filepath.Join(root, "usr", host.ModulesDir(m.KernelVersion))
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, "modules.dep"), nil, 0o644)
	}
}

// dataRoot creates docker's data-root when daemon.json moves it.
func dataRoot(root string) {
	var cfg struct {
		DataRoot string `json:"data-root"`
	}
	data, _ := os.ReadFile(filepath.Join(root, "etc/docker/daemon.json"))
	if json.Unmarshal(data, &cfg) == nil && cfg.DataRoot != "" {
		_ = os.MkdirAll(filepath.Join(root, cfg.DataRoot, "image/overlay2"), 0o710)
	}
}

// devices creates the few device nodes that shells and stubs need.
func devices(root string) error {
	for _, d := range []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}} {
		p := filepath.Join(root, "dev", d.name)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		dev := int((d.major << 8) | d.minor)
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, dev); err != nil {
			return fmt.Errorf("create %s (the simulator needs root to build host roots): %w", p, err)
		}
		_ = os.Chmod(p, 0o666)
	}
	_ = os.Symlink("/proc/self/fd", filepath.Join(root, "dev/fd"))
	return nil
}

func installBinaries(o Options) error {
	h := host.New(o.Dir)
	self := filepath.Join(o.Dir, host.PersistLib)
	if err := copyFile(o.Self, self, 0o755); err != nil {
		return fmt.Errorf("copy crimig-sim into %s: %w", o.Dir, err)
	}
	if err := copyELFDeps(o.Self, o.Dir); err != nil {
		return err
	}
	m, err := h.Meta()
	if err != nil {
		return err
	}
	for _, s := range append(append([]string{}, stubs...), stubsByPM[m.PackageManager]...) {
		link(o.Dir, "/usr/bin/"+s, host.PersistLib, true)
	}
	h.LinkPackageBins()
	out, err := exec.Command(o.Busybox, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full (apt-get install busybox-static): %w", err)
	}
	list := strings.Fields(string(out))
	if err := installBusybox(o.Busybox, filepath.Join(o.Dir, "usr/bin/busybox"), list); err != nil {
		return err
	}
	for _, p := range list {
		if disabled(path.Base(p)) {
			continue
		}
		link(o.Dir, "/"+p, "/usr/bin/busybox", false)
	}
	return installShells(o.Dir, m.PackageManager)
}

// installShells copies the machine's bash into every root, as every real
// host has one, and on Debian and Ubuntu (apt) makes /bin/sh dash, as
// there: a script that needs bash but runs under sh fails there as on a
// real host (`source: not found`). The RHEL family's /bin/sh stays
// busybox's ash (on a real host it is bash). Both are dynamically linked,
// so their loader and libraries come along, as for crimig-sim.
func installShells(root, pm string) error {
	shells := []string{"bash"}
	if pm == "apt" {
		shells = append(shells, "dash")
	}
	for _, sh := range shells {
		src, err := exec.LookPath(sh)
		if err != nil {
			return fmt.Errorf("the simulated hosts need the machine's %s (apt-get install %s): %w", sh, sh, err)
		}
		if src, err = filepath.EvalSymlinks(src); err != nil {
			return err
		}
		if err := copyFile(src, filepath.Join(root, "usr/bin", sh), 0o755); err != nil {
			return fmt.Errorf("copy %s into %s: %w", sh, root, err)
		}
		if err := copyELFDeps(src, root); err != nil {
			return err
		}
	}
	if pm == "apt" {
		link(root, "/usr/bin/sh", "dash", true)
	}
	return nil
}

// dangerous busybox applets act on the real machine (the chroot shares its
// kernel): they are neither linked nor runnable from the root's shell.
// Network clients are out too: the simulated hosts have no network (see
// the curl and wget stubs).
var dangerous = []string{"halt", "poweroff", "reboot", "init", "linuxrc", "swapoff", "swapon", "hwclock", "umount", "insmod", "rmmod", "depmod", "nsenter", "chroot", "switch_root", "pivot_root", "losetup",
	"nc", "telnet", "ftpget", "ftpput", "tftp", "ntpd", "udhcpc", "udhcpd", "httpd", "ping", "ping6", "traceroute", "traceroute6", "nslookup", "ssl_client", "ifup", "ifdown", "route", "arping", "ether-wake", "nameif", "vconfig"}

func disabled(name string) bool {
	if _, isStub := applets.Lookup(name); isStub {
		return true
	}
	for _, d := range dangerous {
		if d == name {
			return true
		}
	}
	return false
}

// installBusybox copies busybox with the disabled applets renamed in its
// applet table. Debian's busybox-static prefers its own applets over PATH
// (FEATURE_SH_STANDALONE), so `sysctl` in a root shell would otherwise run
// busybox's sysctl instead of the stub, and `reboot` would reboot the
// machine. Renaming the last letter of a name to upper case keeps the
// table sorted for busybox's binary search.
func installBusybox(src, dst string, list []string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read busybox: %w", err)
	}
	start := bytes.Index(data, []byte("[\x00[[\x00"))
	if start < 0 {
		return fmt.Errorf("busybox %s: applet table not found", src)
	}
	off := start
	for _, p := range list {
		name := path.Base(p)
		end := off + len(name)
		if end >= len(data) || string(data[off:end]) != name {
			return fmt.Errorf("busybox %s: applet table does not match --list at %q", src, name)
		}
		if disabled(name) {
			if c := data[end-1]; c >= 'a' && c <= 'z' {
				data[end-1] = c - 'a' + 'A'
			}
		}
		off = end + 1
	}
	_ = os.MkdirAll(filepath.Dir(dst), 0o755)
	tmp := dst + ".new"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// link creates root/p -> target; replace says whether an existing file goes.
func link(root, p, target string, replace bool) {
	full := filepath.Join(root, p)
	if _, err := os.Lstat(full); err == nil {
		if !replace {
			return
		}
		_ = os.Remove(full)
	}
	_ = os.MkdirAll(filepath.Dir(full), 0o755)
	_ = os.Symlink(target, full)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_ = os.MkdirAll(filepath.Dir(dst), 0o755)
	tmp := dst + ".new"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// copyELFDeps copies the dynamic loader and libraries a binary needs, so a
// cgo build of crimig-sim still runs inside the root.
func copyELFDeps(bin, root string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("read %s: %w", bin, err)
	}
	defer f.Close()
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			data := make([]byte, p.Filesz)
			_, _ = p.ReadAt(data, 0)
			interp = strings.TrimRight(string(data), "\x00")
		}
	}
	if interp == "" {
		return nil
	}
	libs, _ := f.ImportedLibraries()
	files := []string{interp}
	for _, l := range libs {
		for _, d := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"} {
			if _, err := os.Stat(filepath.Join(d, l)); err == nil {
				files = append(files, filepath.Join(d, l))
				break
			}
		}
	}
	for _, src := range files {
		real, err := filepath.EvalSymlinks(src)
		if err != nil {
			return err
		}
		if err := copyFile(real, filepath.Join(root, src), 0o755); err != nil {
			return fmt.Errorf("copy %s into the root: %w", src, err)
		}
	}
	return nil
}
