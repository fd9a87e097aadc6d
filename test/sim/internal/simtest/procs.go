package simtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// PidsMatching returns the real pids of processes chrooted into root whose
// command line contains substr.
func PidsMatching(root, substr string) []int {
	var out []int
	for _, p := range host.ScanProcs("/proc", root) {
		data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.PID), "cmdline"))
		if err == nil && strings.Contains(strings.ReplaceAll(string(data), "\x00", " "), substr) {
			out = append(out, p.PID)
		}
	}
	return out
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && syscall.Kill(pid, 0) == nil
}

// KillAll kills every process chrooted into root.
func KillAll(root string) { host.SweepAll(root) }
