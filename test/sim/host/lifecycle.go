package host

import (
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// What systemd does on its own: socket activation, restarts of crash-looping
// units, and what a stop takes down with it.

// Settle runs what systemd does on its own: restarts of crash-looping units
// and socket activation (a running client of docker.sock, cri-dockerd or the
// dockershim inside a kubelet, restarts docker while docker.socket is active).
func (h *Host) Settle() {
	h.AutoRestart()
	if h.IsActive("docker.service") || !h.IsActive("docker.socket") {
		return
	}
	k := h.Kubelet()
	if h.IsActive("cri-docker.service") || (k != nil && h.IsActive("kubelet.service") && k.Endpoint == DockershimSocket) {
		h.SocketActivate("docker.service")
	}
}

// SocketActivate starts a service because its socket got a connection.
func (h *Host) SocketActivate(unit string) bool {
	sock := strings.TrimSuffix(unit, ".service") + ".socket"
	if !h.IsActive(sock) || h.IsActive(unit) {
		return h.IsActive(unit)
	}
	h.Log(unit, "Starting %s (triggered by %s)...", unit, sock)
	return h.Start(unit) == nil
}

// stopKillsPods reports whether stopping the runtime unit takes its
// containers down. dockerd stops its containers (without live-restore);
// CRI-O's containers live in their own scopes with the systemd cgroup
// manager, but in crio.service's cgroup with cgroupfs, where the default
// KillMode kills them all; containerd.service ships KillMode=process.
func (h *Host) stopKillsPods(unit string) bool {
	u, _ := h.LoadUnit(unit)
	killMode := ""
	if u != nil {
		killMode = u.KillMode
	}
	switch unit {
	case "docker.service":
		return !h.dockerLiveRestore()
	case "crio.service":
		return h.Read("/var/lib/sim/run/crio.cgroup_manager") == "cgroupfs" && killMode != "process"
	case "containerd.service":
		return killMode != "process"
	}
	return true
}

// crashLoops reports whether a failing start leaves the unit restarting
// instead of failed: Type=simple (or exec) services with Restart= set.
func crashLoops(u *UnitFile) bool {
	simple := u.Type == "" || u.Type == "simple" || u.Type == "exec"
	return simple && (u.Restart == "always" || u.Restart == "on-failure")
}

func (h *Host) bumpRestarts(unit string) int {
	p := filepath.Join(RunDir, "restarts", unit)
	n, _ := strconv.Atoi(h.Read(p))
	_ = h.Write(p, strconv.Itoa(n+1))
	return n + 1
}

// AutoRestart restarts crash-looping units whose RestartSec has passed, as
// systemd does; a fixed configuration lets them come up on their own.
func (h *Host) AutoRestart() {
	for _, p := range h.Glob(filepath.Join(RunDir, "restart", "*")) {
		unit := filepath.Base(p)
		at, _ := strconv.ParseInt(h.Read(p), 10, 64)
		if time.Now().UnixNano() < at || h.State(unit) != Activating {
			continue
		}
		_ = h.Remove(p)
		h.setState(unit, Inactive)
		_ = h.Start(unit)
	}
}

// Restarts is how often a crash-looping unit was restarted.
func (h *Host) Restarts(unit string) int {
	n, _ := strconv.Atoi(h.Read(filepath.Join(RunDir, "restarts", NormUnit(unit))))
	return n
}

// UnitFiles lists the installed unit files (services and sockets), sorted.
func (h *Host) UnitFiles() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range unitDirs {
		for _, pat := range []string{"*.service", "*.socket"} {
			for _, p := range h.Glob(filepath.Join(d, pat)) {
				if b := filepath.Base(p); !seen[b] {
					seen[b] = true
					out = append(out, b)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
