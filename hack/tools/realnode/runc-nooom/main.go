// Command runc-nooom is a VM-quirk workaround of the real-node tier, never
// part of the product: this VM's root lacks CAP_SYS_RESOURCE in its bounding
// set, so runc fails privileged containers ("unable to apply caps: operation
// not permitted") and negative oom_score_adj values. The node's runtimes use
// this wrapper as their default runtime (daemon.json "runc-nooom", carried to
// CRI-O and containerd by crimig's own translation). It drops capabilities
// outside the bounding set and raises a negative oomScoreAdj to 0 in the OCI
// spec runc is given (config.json of create/run, --process of exec), then
// executes the real runc with the same arguments.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const realRunc = "/usr/sbin/runc"

var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// runc's global options that take a value before the command.
var globalWithValue = map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}

func main() {
	if err := fixSpec(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "runc-nooom: %v\n", err)
	}
	err := syscall.Exec(realRunc, append([]string{realRunc}, os.Args[1:]...), os.Environ())
	fmt.Fprintf(os.Stderr, "runc-nooom: exec %s: %v\n", realRunc, err)
	os.Exit(127)
}

// fixSpec finds the spec file the runc command reads and rewrites it.
func fixSpec(args []string) error {
	cmd, bundle, process := "", "", ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() string {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "-") {
				return v
			}
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "--bundle" || a == "-b" || strings.HasPrefix(a, "--bundle="):
			bundle = val()
		case a == "--process" || a == "-p" || strings.HasPrefix(a, "--process="):
			process = val()
		case cmd == "" && globalWithValue[a]:
			i++
		case cmd == "" && !strings.HasPrefix(a, "-"):
			cmd = a
		}
	}
	switch cmd {
	case "create", "run":
		if bundle == "" {
			bundle = "."
		}
		return rewrite(filepath.Join(bundle, "config.json"), "process")
	case "exec":
		if process != "" {
			return rewrite(process, "")
		}
	}
	return nil
}

// rewrite edits the process object at key ("" for the document itself).
func rewrite(path, key string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	proc := doc
	if key != "" {
		p, ok := doc[key].(map[string]any)
		if !ok {
			return nil
		}
		proc = p
	}
	bounding := boundingSet()
	if caps, ok := proc["capabilities"].(map[string]any); ok {
		for set, list := range caps {
			caps[set] = keep(list, bounding)
		}
	}
	if adj, ok := proc["oomScoreAdj"].(float64); ok && adj < 0 {
		proc["oomScoreAdj"] = 0
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}

func keep(list any, bounding map[string]bool) []any {
	in, _ := list.([]any)
	out := []any{}
	for _, c := range in {
		if s, ok := c.(string); ok && bounding[s] {
			out = append(out, s)
		}
	}
	return out
}

func boundingSet() map[string]bool {
	set := map[string]bool{}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return set
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return set
		}
		for i, name := range capNames {
			if mask&(1<<uint(i)) != 0 {
				set[name] = true
			}
		}
	}
	return set
}
