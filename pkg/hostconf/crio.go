package hostconf

import (
	"fmt"
	"path"
	"strings"
)

// Paths of the CRI-O files crimig writes. crio.conf itself is never edited:
// the drop-in sorts after the package's own 10-crio.conf and overrides it.
const (
	CrioDropIn        = "/etc/crio/crio.conf.d/90-crimig.conf"
	CrioServiceDropIn = "/etc/systemd/system/crio.service.d/90-crimig.conf"
	CrioEndpoint      = "unix:///var/run/crio/crio.sock"
	// CrioLibexecDir is where CRI-O's packages (pkgs.k8s.io, since 1.28)
	// and its static release bundle install conmon, crun and runc: not on
	// $PATH, where CRI-O looks for conmon when a handler has no monitor_path.
	CrioLibexecDir = "/usr/libexec/crio"
)

// CRIOPaths are the helper binaries of the CRI-O that will run. Every
// runtime handler crimig writes names them: a handler in a drop-in replaces
// the package's table of that name whole, so nothing is inherited.
type CRIOPaths struct {
	Conmon string // monitor_path
	Runc   string // runtime_path of the runc handler
}

// withDefaults fills what the caller left empty with CRI-O's own layout.
func (p CRIOPaths) withDefaults() CRIOPaths {
	if p.Conmon == "" {
		p.Conmon = path.Join(CrioLibexecDir, "conmon")
	}
	if p.Runc == "" {
		p.Runc = path.Join(CrioLibexecDir, "runc")
	}
	return p
}

// runtimeSettings is what both runtime writers need, resolved once from
// daemon.json, the kubelet flags and the options. The *From fields say
// where a value was found, for the reasons the plan gives.
type runtimeSettings struct {
	CgroupDriver     string // "systemd" or "cgroupfs"
	CgroupDriverFrom string
	PauseImage       string
	PauseImageFrom   string
	DataRoot         string // docker's data-root, "" when unset
	DataRootOK       bool
	DefaultRuntime   string // "" keeps the runtime's own default
	KeepCrun         bool
	ConmonPath       string
	Paths            CRIOPaths // with defaults filled in
}

// cgroupReason is why the runtime's cgroup setting has the value it has;
// the kubelet's cgroupDriver edit names the same fact from its side.
func (s runtimeSettings) cgroupReason() string {
	return fmt.Sprintf("must match the kubelet's cgroupDriver, or no pod sandbox can start; %s is the driver the node runs with (%s)",
		s.CgroupDriver, s.CgroupDriverFrom)
}

func (s runtimeSettings) pauseReason() string {
	return "the pod sandbox (pause) image now belongs to the runtime, not the kubelet; " + s.PauseImageFrom
}

// crioConf renders /etc/crio/crio.conf.d/90-crimig.conf and the losses that
// only apply to CRI-O.
func crioConf(c *DaemonConfig, s runtimeSettings) (generated, []Loss) {
	var w tomlw
	var losses []Loss
	w.comment("Written by kubectl crimig; crio.conf is left untouched.")
	if root := crioRoot(s); root != "" {
		w.table("crio")
		w.comment("daemon.json data-root %s: keep images on the same filesystem.", s.DataRoot)
		w.str("root", root)
		w.why("root", root, "daemon.json data-root "+s.DataRoot+" moved docker's images off /var/lib; CRI-O's storage goes beside it, "+
			"on the same filesystem, and docker's own directory stays intact for a rollback")
	}
	w.table("crio.runtime")
	w.comment("Must match the kubelet's cgroupDriver.")
	w.str("cgroup_manager", s.CgroupDriver)
	w.why("cgroup_manager", s.CgroupDriver, s.cgroupReason())
	if s.CgroupDriver == "cgroupfs" {
		w.comment("cgroupfs requires conmon in the pod cgroup.")
		w.str("conmon_cgroup", "pod")
		w.why("conmon_cgroup", "pod", "CRI-O accepts only \"pod\" with cgroup_manager = \"cgroupfs\"")
	}
	if s.ConmonPath != "" {
		w.str("conmon", s.ConmonPath)
		w.why("conmon", s.ConmonPath, "the installed CRI-O does not find conmon by itself; this is where the host has it")
	}
	if rt := crioDefaultRuntime(s); rt != "" {
		w.str("default_runtime", rt)
		w.why("default_runtime", rt, crioDefaultRuntimeReason(s))
	}
	if ul := ulimitStrings(c.DefaultUlimits); len(ul) > 0 {
		w.comment("daemon.json default-ulimits, as name=soft:hard.")
		w.strs("default_ulimits", ul)
		w.why("default_ulimits", strings.Join(ul, ","), "carried from daemon.json default-ulimits: containers keep the limits docker gave them")
	}
	losses = append(losses, crioRuntimes(&w, c, s.Paths)...)
	if crioDefaultRuntime(s) == "runc" && !hasKey(c.Runtimes, "runc") {
		crioRuncHandler(&w, s.Paths)
	}
	w.table("crio.image")
	w.str("pause_image", s.PauseImage)
	w.why("pause_image", s.PauseImage, s.pauseReason())
	return w.generated(), losses
}

// crioRoot places CRI-O's storage next to docker's data-root, never inside
// it: /var/lib/docker (or its replacement) is kept intact for rollback.
func crioRoot(s runtimeSettings) string {
	if s.DataRoot == "" || !s.DataRootOK {
		return ""
	}
	return CRIORootBeside(s.DataRoot)
}

// CRIORootBeside is where CRI-O's storage goes when it follows docker's
// data-root: <parent>/containers/storage.
func CRIORootBeside(dataRoot string) string {
	return path.Join(path.Dir(path.Clean(dataRoot)), "containers", "storage")
}

// crioDefaultRuntime: a docker default-runtime (nvidia) wins; otherwise runc
// unless crun was verified new enough for the CRI-O version (design 7b).
func crioDefaultRuntime(s runtimeSettings) string {
	if s.DefaultRuntime != "" {
		return s.DefaultRuntime
	}
	if !s.KeepCrun {
		return "runc"
	}
	return ""
}

func crioDefaultRuntimeReason(s runtimeSettings) string {
	if s.DefaultRuntime != "" {
		return "carried from daemon.json default-runtime: containers keep running with the runtime docker gave them"
	}
	return "runc is what docker ran every container with; CRI-O's own default, crun, could not be verified new enough for this CRI-O"
}

// crioRuncHandler defines the runc handler that default_runtime names in
// full, so that the drop-in does not depend on which handlers the
// package's own configuration defines.
func crioRuncHandler(w *tomlw, p CRIOPaths) {
	w.table("crio.runtime.runtimes.runc")
	w.comment("The default runtime: crun's version could not be verified, runc is what docker ran.")
	w.str("runtime_path", p.Runc)
	w.str("runtime_type", "oci")
	w.str("runtime_root", "/run/runc")
	w.str("monitor_path", p.Conmon)
	w.why("", p.Runc, "defines the runc handler default_runtime names in full, with the conmon and runc paths of the CRI-O that will run: "+
		"a handler in a drop-in replaces the package's handler of that name, nothing is inherited")
}

// crioRuntimes writes one handler per docker "runtimes" entry. The handler
// keeps docker's name so a RuntimeClass naming it finds it.
func crioRuntimes(w *tomlw, c *DaemonConfig, paths CRIOPaths) []Loss {
	var losses []Loss
	for _, name := range sortedKeys(c.Runtimes) {
		rt := c.Runtimes[name]
		p, l := runtimeBinary(name, rt)
		losses = append(losses, l...)
		w.table("crio.runtime.runtimes." + tomlKey(name))
		w.comment("daemon.json runtimes.%s", name)
		w.str("runtime_path", p)
		w.str("runtime_type", "oci")
		w.str("monitor_path", paths.Conmon)
		w.why("", p, "carried from daemon.json runtimes."+name+": a RuntimeClass naming the handler "+name+" keeps working; "+
			"monitor_path names the conmon of the CRI-O that will run, which is not on $PATH")
		// runtime_root stays at CRI-O's default: wrappers such as
		// nvidia-container-runtime drive runc, and /run/nvidia belongs to
		// the GPU driver container.
	}
	return losses
}

// runtimeBinary makes docker's path absolute (docker searched $PATH; CRI-O
// and containerd stat the path) and reports arguments it cannot pass.
func runtimeBinary(name string, rt RuntimeSpec) (string, []Loss) {
	var losses []Loss
	p := rt.Path
	if p == "" {
		p = name
	}
	if !strings.HasPrefix(p, "/") {
		losses = append(losses, newLoss(LossInfo, "runtimes."+name, rt.Path,
			"docker looked the runtime up in $PATH; the new runtime needs an absolute path, /usr/bin is assumed",
			"check the binary is at /usr/bin/"+p))
		p = "/usr/bin/" + p
	}
	if len(rt.RuntimeArgs) > 0 {
		losses = append(losses, newLoss(LossWarning, "runtimes."+name+".runtimeArgs",
			strings.Join(rt.RuntimeArgs, " "), "runtime arguments cannot be passed by the new runtime",
			"wrap the binary in a script that adds the arguments"))
	}
	return p, losses
}

func ulimitStrings(m map[string]Ulimit) []string {
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		u := m[k]
		name := u.Name
		if name == "" {
			name = k
		}
		out = append(out, fmt.Sprintf("%s=%d:%d", name, u.Soft, u.Hard))
	}
	return out
}

// crioServiceDropIn is needed on cgroupfs hosts only: there systemd counts
// conmon and every container as part of crio.service, so the default
// KillMode would kill all pods on `systemctl restart crio`.
func crioServiceDropIn() generated {
	return generated{edits: []Edit{{Key: "Service.KillMode", After: "process",
		Reason: "with cgroup_manager = \"cgroupfs\" conmon and every container live in crio.service's cgroup; " +
			"systemd's default KillMode would kill every pod on the node when crio restarts"}},
		content: []byte("# Written by kubectl crimig: with cgroup_manager = \"cgroupfs\" the containers\n" +
			"# live in crio.service's cgroup; do not kill them when crio restarts.\n" +
			"[Service]\nKillMode=process\n")}
}
