package host

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ExecRecord is written by the nsenter stub for each exec'd process group.
// The group stands for the exec'd processes that live in the pod's cgroup on
// a real node: they die with the pod.
type ExecRecord struct {
	PGID      int       `json:"pgid"`
	SID       int       `json:"sid"`
	Pod       string    `json:"pod,omitempty"`
	Namespace string    `json:"namespace,omitempty"`
	Started   time.Time `json:"started"`
}

// RecordExec stores a record for the caller's process group.
func (h *Host) RecordExec(rec ExecRecord) error {
	data, _ := json.Marshal(rec)
	return h.Write(filepath.Join(ExecsDir, strconv.Itoa(rec.PGID)), string(data))
}

// ExecRecords lists the recorded exec groups.
func (h *Host) ExecRecords() []ExecRecord {
	var out []ExecRecord
	for _, p := range h.Glob(filepath.Join(ExecsDir, "*")) {
		var rec ExecRecord
		if json.Unmarshal([]byte(h.Read(p)), &rec) == nil && rec.PGID > 1 {
			out = append(out, rec)
		}
	}
	return out
}

// stillOurs guards against pid reuse. Linux does not reuse a number while
// it names a live process group, so a group whose leader has exited is
// still the recorded one; a live leader must still be in the recorded
// session.
func (r ExecRecord) stillOurs() bool {
	sid, err := unix.Getsid(r.PGID)
	if err != nil {
		return true // leader gone: the group, if any, is the recorded one
	}
	return sid == r.SID
}

// DropStaleExecs forgets records whose process group no longer exists.
// The nsenter stub runs it, so records stay few even without a controller.
func (h *Host) DropStaleExecs() {
	for _, rec := range h.ExecRecords() {
		if err := syscall.Kill(-rec.PGID, 0); err == syscall.ESRCH || !rec.stillOurs() {
			h.DropExec(rec.PGID)
		}
	}
}

// DropExec forgets a record.
func (h *Host) DropExec(pgid int) { _ = h.Remove(filepath.Join(ExecsDir, strconv.Itoa(pgid))) }

// KillExecGroups SIGKILLs every recorded exec process group. The caller's
// own group goes last: a stub that stops the runtime from inside an exec
// dies with it, as it would on a real node.
func (h *Host) KillExecGroups() {
	own := syscall.Getpgrp()
	killOwn := false
	for _, rec := range h.ExecRecords() {
		h.DropExec(rec.PGID)
		if rec.PGID == own {
			killOwn = true
			continue
		}
		if !rec.stillOurs() {
			continue
		}
		_ = syscall.Kill(-rec.PGID, syscall.SIGKILL)
	}
	if killOwn {
		_ = syscall.Kill(-own, syscall.SIGKILL)
		time.Sleep(time.Second) // the signal is on its way
	}
}

// PodsUnit is the unit whose stop kills the node's pods.
func (h *Host) PodsUnit() string {
	switch h.Read(PodsRTFile) {
	case "docker":
		return "docker.service"
	case "crio":
		return "crio.service"
	case "containerd":
		return "containerd.service"
	}
	return ""
}

// ProcInfo is what the controller learns about a real process from /proc.
type ProcInfo struct {
	PID, PGID, SID int
	Root           string
}

// ScanProcs lists real processes whose root directory is root.
func ScanProcs(procDir, root string) []ProcInfo {
	want, err := filepath.EvalSymlinks(root)
	if err != nil {
		want = root
	}
	ents, _ := os.ReadDir(procDir)
	var out []ProcInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		r, err := os.Readlink(filepath.Join(procDir, e.Name(), "root"))
		if err != nil || (r != want && r != root) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(procDir, e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 4 {
			continue
		}
		pgid, _ := strconv.Atoi(fields[2])
		sid, _ := strconv.Atoi(fields[3])
		out = append(out, ProcInfo{PID: pid, PGID: pgid, SID: sid, Root: r})
	}
	return out
}

// SweepExecs kills, from outside the root, every process chrooted into it
// that belongs to a recorded exec group or session. Processes that started
// a new session (systemd-run, setsid) are spared. It returns the pids killed.
func SweepExecs(root string, recs []ExecRecord) []int {
	pgids, sids := map[int]bool{}, map[int]bool{}
	for _, r := range recs {
		pgids[r.PGID] = true
		if r.SID > 1 {
			sids[r.SID] = true
		}
	}
	var killed []int
	for _, p := range ScanProcs("/proc", root) {
		if pgids[p.PGID] || sids[p.SID] {
			if syscall.Kill(p.PID, syscall.SIGKILL) == nil {
				killed = append(killed, p.PID)
			}
		}
	}
	return killed
}

// SweepAll kills every process chrooted into root except the given pids.
func SweepAll(root string, except ...int) []int {
	var killed []int
	for _, p := range ScanProcs("/proc", root) {
		if contains(intsToStrings(except), strconv.Itoa(p.PID)) {
			continue
		}
		if syscall.Kill(p.PID, syscall.SIGKILL) == nil {
			killed = append(killed, p.PID)
		}
	}
	return killed
}

// GCExecs drops records that no live process chrooted into the root
// still belongs to (by group or session).
func (h *Host) GCExecs(procs []ProcInfo) {
	for _, rec := range h.ExecRecords() {
		alive := false
		for _, p := range procs {
			if p.PGID == rec.PGID || p.SID == rec.SID {
				alive = true
				break
			}
		}
		if !alive && time.Since(rec.Started) > 2*time.Second {
			h.DropExec(rec.PGID)
		}
	}
}

func intsToStrings(in []int) []string {
	out := make([]string, len(in))
	for i, n := range in {
		out[i] = strconv.Itoa(n)
	}
	return out
}
