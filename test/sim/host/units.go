package host

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Unit active states as systemctl prints them.
const (
	Active     = "active"
	Inactive   = "inactive"
	Failed     = "failed"
	Activating = "activating" // a crash-looping service between restarts
)

// ErrNotFound is returned for units that have no unit file.
var ErrNotFound = errors.New("unit not found")

// ErrMasked is returned when starting or enabling a masked unit.
var ErrMasked = errors.New("unit is masked")

// StartError is a unit that failed to start; Reason goes to its journal.
type StartError struct {
	Unit   string
	Reason string
}

func (e *StartError) Error() string {
	return fmt.Sprintf("Job for %s failed because the control process exited with error code.\nSee \"systemctl status %s\" and \"journalctl -xeu %s\" for details.", e.Unit, e.Unit, e.Unit)
}

// sockets maps the units that own a runtime socket to its path.
var sockets = map[string]string{
	"containerd.service": "/run/containerd/containerd.sock",
	"docker.socket":      "/run/docker.sock",
	"cri-docker.socket":  "/run/cri-dockerd.sock",
	"crio.service":       "/run/crio/crio.sock",
}

// startOrder is the order boot starts enabled units in.
var startOrder = []string{"docker.socket", "cri-docker.socket", "containerd.service", "docker.service", "cri-docker.service", "crio.service", "kubelet.service"}

// State returns a unit's active state.
func (h *Host) State(unit string) string {
	s := h.Read(filepath.Join(UnitsRunDir, unit))
	if s == "" {
		return Inactive
	}
	return s
}

// StartedAt returns when a unit last started (zero if unknown).
func (h *Host) StartedAt(unit string) time.Time {
	n, err := strconv.ParseInt(h.Read(filepath.Join(RunDir, "started", NormUnit(unit))), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// IsActive reports whether a unit is active.
func (h *Host) IsActive(unit string) bool { return h.State(unit) == Active }

func (h *Host) setState(unit, state string) {
	if state == Inactive {
		_ = h.Remove(filepath.Join(UnitsRunDir, unit))
		return
	}
	_ = h.Write(filepath.Join(UnitsRunDir, unit), state)
}

// IsMasked reports whether /etc/systemd/system/<unit> is a link to /dev/null.
func (h *Host) IsMasked(unit string) bool {
	t, err := os.Readlink(h.P(filepath.Join("/etc/systemd/system", unit)))
	return err == nil && t == "/dev/null"
}

// IsEnabled reports whether a *.wants symlink exists for the unit.
func (h *Host) IsEnabled(unit string) bool {
	return len(h.Glob(filepath.Join("/etc/systemd/system", "*.wants", unit))) > 0
}

// EnabledState is what `systemctl is-enabled` prints.
func (h *Host) EnabledState(unit string) string {
	switch {
	case h.IsMasked(unit):
		return "masked"
	case h.IsEnabled(unit):
		return "enabled"
	case h.FindUnit(unit) == "":
		return "not-found"
	case strings.HasPrefix(unit, "crimig-") || h.Exists(filepath.Join(JobsDir, unit)):
		return "transient"
	default:
		return "disabled"
	}
}

// Start starts a unit and what it requires, running the unit's checks.
func (h *Host) Start(unit string) error {
	unit = NormUnit(unit)
	if h.IsMasked(unit) {
		return fmt.Errorf("Failed to start %s: Unit %s is masked.: %w", unit, unit, ErrMasked)
	}
	if h.IsActive(unit) {
		return nil
	}
	if h.Exists(filepath.Join(JobsDir, unit)) {
		return nil // transient unit: only systemd-run starts it
	}
	u, ok := h.LoadUnit(unit)
	if !ok {
		return fmt.Errorf("Failed to start %s: Unit %s not found.: %w", unit, unit, ErrNotFound)
	}
	for _, dep := range append(append([]string{}, u.Requires...), u.BindsTo...) {
		if dep == unit || !strings.HasSuffix(dep, ".service") && !strings.HasSuffix(dep, ".socket") {
			continue
		}
		if err := h.Start(dep); err != nil {
			return &StartError{Unit: unit, Reason: fmt.Sprintf("dependency failed: %s", dep)}
		}
	}
	if c := h.failedCondition(u); c != "" {
		// Not an error: systemd skips the unit and the start succeeds.
		h.Log(unit, "%s was skipped because of an unmet condition check (%s).", unit, c)
		return nil
	}
	if reason := h.check(unit, u); reason != "" {
		h.Log(unit, "%s: %s", strings.TrimSuffix(unit, ".service"), reason)
		h.Log(unit, "%s: Main process exited, code=exited, status=1/FAILURE", unit)
		h.Log(unit, "%s: Failed with result 'exit-code'.", unit)
		if crashLoops(u) {
			// A Type=simple service "starts" as soon as it is forked, then
			// exits; systemd restarts it every RestartSec.
			h.setState(unit, Activating)
			_ = h.Write(filepath.Join(RunDir, "restart", unit), strconv.FormatInt(time.Now().Add(u.RestartSec).UnixNano(), 10))
			h.Log(unit, "%s: Scheduled restart job, restart counter is at %d.", unit, h.bumpRestarts(unit))
			return nil
		}
		h.setState(unit, Failed)
		return &StartError{Unit: unit, Reason: reason}
	}
	_ = h.Remove(filepath.Join(RunDir, "restart", unit))
	h.setState(unit, Active)
	_ = h.Write(filepath.Join(RunDir, "started", unit), strconv.FormatInt(time.Now().UnixNano(), 10))
	h.Log(unit, "Started %s.", unit)
	if s := sockets[unit]; s != "" {
		makeSocket(h.P(s))
	}
	if strings.HasSuffix(unit, ".service") {
		h.addProc(unit, h.Command(u))
	}
	return nil
}

// Stop stops a unit. It returns a warning when a socket can still activate it.
func (h *Host) Stop(unit string) (warning string) {
	unit = NormUnit(unit)
	if h.Exists(filepath.Join(JobsDir, unit)) {
		h.stopJob(unit)
	}
	wasActive := h.State(unit) == Active || h.State(unit) == Failed
	h.setState(unit, Inactive)
	_ = h.Remove(filepath.Join(RunDir, "restart", unit))
	_ = h.Remove(filepath.Join(RunDir, "restarts", unit))
	if wasActive {
		h.stopDependents(unit)
	}
	if wasActive && unit == h.PodsUnit() && h.stopKillsPods(unit) {
		h.Log(unit, "Stopping all containers of %s.", unit)
		h.bumpPodKills()
		h.KillExecGroups()
	}
	if wasActive {
		h.Log(unit, "Stopped %s.", unit)
	}
	if s := sockets[unit]; s != "" {
		_ = h.Remove(s)
	}
	h.removeProc(unit)
	if unit == "kubelet.service" {
		_ = h.Remove(KubeletFile)
	}
	if strings.HasSuffix(unit, ".service") {
		sock := strings.TrimSuffix(unit, ".service") + ".socket"
		if h.IsActive(sock) {
			return fmt.Sprintf("Warning: Stopping %s, but it can still be activated by:\n  %s", unit, sock)
		}
	}
	return ""
}

// ResetFailed clears a failed state.
func (h *Host) ResetFailed(unit string) {
	if h.State(NormUnit(unit)) == Failed {
		h.setState(NormUnit(unit), Inactive)
	}
}

// Enable creates the install symlink.
func (h *Host) Enable(unit string) (string, error) {
	unit = NormUnit(unit)
	if h.IsMasked(unit) {
		return "", fmt.Errorf("Failed to enable unit: Unit file /etc/systemd/system/%s is masked.: %w", unit, ErrMasked)
	}
	u, ok := h.LoadUnit(unit)
	if !ok {
		return "", fmt.Errorf("Failed to enable unit: Unit file %s does not exist.: %w", unit, ErrNotFound)
	}
	target := "multi-user.target"
	if len(u.WantedBy) > 0 {
		target = u.WantedBy[0]
	} else if strings.HasSuffix(unit, ".socket") {
		target = "sockets.target"
	}
	link := filepath.Join("/etc/systemd/system", target+".wants", unit)
	if h.Exists(link) {
		return "", nil
	}
	_ = os.MkdirAll(filepath.Dir(h.P(link)), 0o755)
	if err := os.Symlink(u.Path, h.P(link)); err != nil {
		return "", err
	}
	h.DaemonReload() // systemctl enable reloads systemd
	return fmt.Sprintf("Created symlink %s → %s.", link, u.Path), nil
}

// Disable removes the install symlinks.
func (h *Host) Disable(unit string) string {
	unit = NormUnit(unit)
	var msgs []string
	for _, l := range h.Glob(filepath.Join("/etc/systemd/system", "*.wants", unit)) {
		_ = h.Remove(l)
		msgs = append(msgs, "Removed "+l+".")
	}
	if len(msgs) > 0 {
		h.DaemonReload()
	}
	return strings.Join(msgs, "\n")
}

// Mask links the unit to /dev/null.
//
// As systemd, it refuses a unit whose own file is in /etc/systemd/system
// (where cri-dockerd's install instructions put its units): the mask would
// have to replace that file.
func (h *Host) Mask(unit string) (string, error) {
	unit = NormUnit(unit)
	link := filepath.Join("/etc/systemd/system", unit)
	if h.IsMasked(unit) {
		return "", nil
	}
	if _, err := os.Lstat(h.P(link)); err == nil {
		return "", fmt.Errorf("Failed to mask unit: File %s already exists.", link)
	}
	_ = os.MkdirAll(filepath.Dir(h.P(link)), 0o755)
	_ = os.Symlink("/dev/null", h.P(link))
	return fmt.Sprintf("Created symlink %s → /dev/null.", link), nil
}

// Unmask removes a mask.
func (h *Host) Unmask(unit string) string {
	unit = NormUnit(unit)
	if !h.IsMasked(unit) {
		return ""
	}
	link := filepath.Join("/etc/systemd/system", unit)
	_ = h.Remove(link)
	return "Removed " + link + "."
}

// PodKills counts, since boot, the stops of the runtime the pods ran on.
// The controller deletes the node's pods whenever it changes.
func (h *Host) PodKills() int {
	n, _ := strconv.Atoi(h.Read(PodKillsFile))
	return n
}

func (h *Host) bumpPodKills() {
	_ = h.Write(PodKillsFile, strconv.Itoa(h.PodKills()+1))
}

// makeSocket leaves a real socket inode at path, so `test -S` holds.
func makeSocket(path string) {
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	_ = os.Remove(path)
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		_ = os.WriteFile(path, nil, 0o660)
	}
}

// ActiveUnits lists units with a state file, for status output.
func (h *Host) ActiveUnits() []string {
	var out []string
	for _, p := range h.Glob(filepath.Join(UnitsRunDir, "*")) {
		out = append(out, filepath.Base(p))
	}
	return out
}

// Journal copies a unit's journal to w.
func (h *Host) Journal(unit string, w io.Writer, lines int) {
	data, _ := os.ReadFile(h.P(filepath.Join(JournalDir, NormUnit(unit)+".log")))
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if lines > 0 && len(all) > lines {
		all = all[len(all)-lines:]
	}
	for _, l := range all {
		if l != "" {
			fmt.Fprintln(w, l)
		}
	}
}

// stopDependents stops active units that Require or are BoundTo unit, as
// systemd propagates an explicit stop.
func (h *Host) stopDependents(unit string) {
	for _, other := range h.ActiveUnits() {
		u, ok := h.LoadUnit(other)
		if !ok || other == unit {
			continue
		}
		for _, dep := range append(append([]string{}, u.Requires...), u.BindsTo...) {
			if dep == unit {
				h.Stop(other)
				break
			}
		}
	}
}

// Crash marks a unit failed the way a crashed daemon leaves it. Unlike Stop
// it kills nothing itself: when the unit ran the pods, the controller sees
// the pod-kill counter move and kills the exec'd processes.
func (h *Host) Crash(unit string) {
	unit = NormUnit(unit)
	if !h.IsActive(unit) {
		return
	}
	h.setState(unit, Failed)
	h.removeProc(unit)
	h.Log(unit, "%s: Main process exited, code=killed, status=9/KILL", unit)
	if unit == h.PodsUnit() {
		h.bumpPodKills()
	}
}
