// Package applets implements the stub system commands of a simulated host.
// crimig-sim is a multi-call binary: inside a host root, /usr/bin/systemctl
// and friends are symlinks to it, and argv[0] picks the applet.
package applets

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// Env is what an applet runs with.
type Env struct {
	Host   *host.Host
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Self is the crimig-sim binary as seen from where the applet runs.
	Self string
}

// Func is one applet; it returns the process exit code.
type Func func(e *Env, args []string) int

var table map[string]Func

func init() {
	table = map[string]Func{
		"systemctl": systemctl, "systemd-run": systemdRun, "journalctl": journalctl,
		"yum": yum, "dnf": dnf, "rpm": rpm, "apt-get": aptGet, "apt": aptGet, "dpkg": dpkg, "dpkg-query": dpkgQuery,
		"modprobe": modprobe, "lsmod": lsmod, "sysctl": sysctl, "reboot": reboot, "shutdown": shutdown,
		"docker": docker, "dockerd": versionOf("Docker version %s, build 3056208", "docker"),
		"crio": crio, "crictl": crictl, "podman": podman, "containerd": containerd, "ctr": ctr,
		"kubelet": kubelet, "cri-dockerd": versionOf("cri-dockerd %s (HEAD)", "cri-dockerd"),
		"conmon": versionOf("conmon version %s", "conmon"), "runc": versionOf("runc version %s", "runc"),
		"crun": versionOf("crun version %s", "crun"), "pinns": versionOf("pinns %s", "pinns"),
		"containerd-shim-runc-v2": versionOf("containerd-shim-runc-v2 %s", "containerd"),
		"docker-proxy":            versionOf("docker-proxy %s", "docker"),
		"curl":                    curl, "wget": wget,
		"hostname": hostname, "uname": uname, "pgrep": pgrep, "nohup": nohup, "rmmod": rmmod,
		"toml-check": tomlCheck, "sim-job": simJob, "sim-boot": simBoot,
	}
}

// Lookup returns the applet for a command name.
func Lookup(name string) (Func, bool) {
	f, ok := table[filepath.Base(name)]
	return f, ok
}

// Names lists the applets (for installing symlinks).
func Names() []string {
	out := make([]string, 0, len(table))
	for n := range table {
		out = append(out, n)
	}
	return out
}

// NewEnv returns the environment for an applet running in the current root.
// CRIMIG_SIM_APPLET_ROOT lets tests run applets against a root without chroot.
func NewEnv() *Env {
	root := os.Getenv("CRIMIG_SIM_APPLET_ROOT")
	if root == "" {
		root = "/"
	}
	self := host.PersistLib
	if root != "/" {
		self, _ = os.Executable()
	}
	return &Env{Host: host.New(root), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Self: self}
}

func (e *Env) out(format string, args ...any) { fmt.Fprintf(e.Stdout, format+"\n", args...) }
func (e *Env) errf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, format+"\n", args...)
}

// flagsAndArgs separates -x/--x options from operands.
func flagsAndArgs(args []string) (map[string]string, []string) {
	flags := map[string]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return flags, append(rest, args[i+1:]...)
		case strings.HasPrefix(a, "--"):
			k, v, ok := strings.Cut(a[2:], "=")
			if !ok {
				v = "true"
			}
			flags[k] = v
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for _, c := range a[1:] {
				flags[string(c)] = "true"
			}
		default:
			rest = append(rest, a)
		}
	}
	return flags, rest
}

func has(flags map[string]string, names ...string) bool {
	for _, n := range names {
		if _, ok := flags[n]; ok {
			return true
		}
	}
	return false
}

func versionOf(format, pkg string) Func {
	return func(e *Env, args []string) int {
		v := os.Getenv("CRIMIG_SIM_BUNDLE_VERSION")
		if v == "" {
			v = e.Host.PkgVersion(pkg)
		}
		if v == "" {
			if m, _ := e.Host.Meta(); m != nil {
				switch pkg {
				case "docker":
					v = m.DockerVersion
				case "cri-dockerd":
					v = m.CriDockerdVersion
				case "containerd":
					v = m.ContainerdVersion
				}
			}
		}
		if v == "" {
			v = "1.1.12"
		}
		e.out(format, v)
		return 0
	}
}
