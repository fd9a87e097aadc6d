package inspect

import (
	"fmt"
	"sort"
	"strings"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/redact"
)

// HostResult is the outcome of reading one node's host facts.
type HostResult struct {
	Facts *hostscripts.HostFacts
	Err   error
	// Source is the package-source probe; nil when none ran (bundles).
	Source *SourceProbe
}

// SourceProbe is what probe-source.sh reported. Reachable is nil when it
// could not be told.
type SourceProbe struct {
	Reachable *bool  `json:"reachable"`
	URL       string `json:"url"`
	Detail    string `json:"detail"`
}

// Disk thresholds under /var/lib: backups, the new runtime's packages and
// re-pulled images all land there while /var/lib/docker is kept.
const (
	minFreeBytes  = 2 << 30
	warnFreeBytes = 10 << 30
)

type hostCheck struct {
	node   string
	target hostconf.Target
	facts  *hostscripts.HostFacts
	out    []Finding
}

func (h *hostCheck) add(id string, sev Severity, subject, msg, remedy string) {
	h.out = append(h.out, Finding{ID: id, Severity: sev, Node: h.node, Subject: subject, Message: msg, Remedy: remedy})
}

// hostFindings turns host facts into findings.
func hostFindings(node string, target hostconf.Target, r HostResult) []Finding {
	if r.Err != nil || r.Facts == nil {
		msg := "host facts were not collected"
		if r.Err != nil {
			msg = "could not read host facts: " + r.Err.Error()
		}
		return []Finding{{ID: IDHostUnreachable, Severity: Blocker, Node: node, Subject: "node/" + node, Message: msg,
			Remedy: "check that the exec pod can run on the node (--image for air-gapped registries), or plan with --no-host to skip host checks"}}
	}
	h := &hostCheck{node: node, target: target, facts: r.Facts}
	h.callers()
	h.disk()
	h.runtimes()
	h.kernel()
	h.system()
	h.source(r.Source)
	return h.out
}

func (h *hostCheck) callers() {
	if len(h.facts.DockerCallers) == 0 {
		return
	}
	files := map[string][]string{}
	for _, c := range h.facts.DockerCallers {
		files[c.Path] = append(files[c.Path], fmt.Sprint(c.Line))
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p+":"+strings.Join(files[p], ","))
	}
	sort.Strings(paths)
	h.add(IDDockerCallers, Warning, "host scripts", "scripts, cron jobs or units call docker: "+strings.Join(paths, " "),
		"change them to crictl or podman before migrating; the docker CLI stops working once docker is stopped")
}

func (h *hostCheck) disk() {
	free := h.facts.Disk.VarLibFreeBytes
	if free == nil {
		return
	}
	gib := float64(*free) / (1 << 30)
	switch {
	case *free < minFreeBytes:
		h.add(IDDiskSpace, Blocker, "/var/lib", fmt.Sprintf("only %.1f GiB free under /var/lib", gib),
			"free at least 2 GiB; /var/lib/docker is kept until `kubectl crimig cleanup`")
	case *free < warnFreeBytes:
		h.add(IDDiskSpace, Warning, "/var/lib", fmt.Sprintf("%.1f GiB free under /var/lib; images are pulled again", gib),
			"free space, or use --carry-images only for the images the node needs")
	}
	if h.facts.Disk.VarLibDockerSeparateMount {
		h.add(IDDockerDataMountFS, Info, "/var/lib/docker", "/var/lib/docker is a separate mount; it stays mounted and untouched",
			"after `kubectl crimig cleanup` the volume can be reused for the new runtime's storage")
	}
}

func (h *hostCheck) runtimes() {
	rt := h.facts.Runtimes
	if c := crioRuntimeOf(h.facts); h.target == hostconf.TargetCRIO && !c.keepCrun {
		h.add(IDCrunTooOld, Info, c.crun, c.why+"; the drop-in makes runc, the runtime docker used, CRI-O's default",
			"nothing to do; to use crun, verify it with CRI-O and set default_runtime in a later /etc/crio/crio.conf.d file")
	}
	installed := (h.target == hostconf.TargetCRIO && rt.Crio.Installed) || (h.target == hostconf.TargetContainerd && rt.Containerd.Installed)
	if installed {
		h.add(IDTargetInstalled, Info, string(h.target), string(h.target)+" is already installed; crimig configures it and skips the install",
			"check that its version matches the kubelet's minor version")
	}
}

func (h *hostCheck) kernel() {
	var missing []string
	for _, m := range []string{"overlay", "br_netfilter"} {
		if !h.facts.Kernel.Modules[m] {
			missing = append(missing, "module "+m)
		}
	}
	for _, s := range []string{"net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables"} {
		if v := h.facts.Kernel.Sysctls[s]; v == nil || strings.TrimSpace(*v) != "1" {
			missing = append(missing, s+"=1")
		}
	}
	if len(missing) > 0 {
		h.add(IDKernelSettings, Info, "kernel", "not set yet: "+strings.Join(missing, ", "),
			"nothing to do: migrate loads and persists them in /etc/modules-load.d and /etc/sysctl.d")
	}
}

func (h *hostCheck) system() {
	if !h.facts.Systemd {
		h.add(IDNoSystemd, Warning, "init", "systemd is not running; the swap job runs under setsid nohup instead of systemd-run",
			"make sure nothing on the host kills stray processes during the swap")
	}
	if len(h.facts.Docker.Registries) > 0 {
		h.add(IDRegistryAuth, Info, "/root/.docker/config.json",
			"docker has credentials for: "+strings.Join(h.facts.Docker.Registries, ", "),
			"the kubelet keeps reading them for image pulls; podman and skopeo read /etc/containers/auth.json instead: copy the file on the host if operators use them (crimig never moves credentials)")
	}
	if h.facts.Cgroup.Version == 1 && h.facts.Docker.CgroupDriver == "cgroupfs" {
		h.add(IDCgroupDriver, Warning, "cgroup driver", "cgroup v1 with the cgroupfs driver",
			"crimig keeps cgroupfs and adds KillMode=process for crio.service; consider the systemd driver later")
	}
}

func (h *hostCheck) source(p *SourceProbe) {
	if p == nil || p.Reachable == nil || *p.Reachable {
		return
	}
	h.add(IDSourceUnreachable, Blocker, "package source", "no package source reachable from the host: "+redact.Text(p.URL+" ("+p.Detail+")"),
		"point --source repo=URL at a mirror the node can reach, or use --source bundle=FILE with the offline release bundle")
}

// versionLess compares dotted numeric versions ("1.8.5" < "1.9").
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			_, _ = fmt.Sscanf(pa[i], "%d", &x)
		}
		if i < len(pb) {
			_, _ = fmt.Sscanf(pb[i], "%d", &y)
		}
		if x != y {
			return x < y
		}
	}
	return false
}
