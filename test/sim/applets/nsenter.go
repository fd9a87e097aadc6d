package applets

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// Environment the controller puts into each crimig pod's kwok Exec object.
const (
	EnvRoot      = "CRIMIG_SIM_ROOT"
	EnvPod       = "CRIMIG_SIM_POD"
	EnvNamespace = "CRIMIG_SIM_NAMESPACE"
	EnvNode      = "CRIMIG_SIM_NODE"
)

// hostPath is the PATH a root shell gets on the simulated hosts.
const hostPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Nsenter is the nsenter stub that kwok runs for `kubectl exec`: it parses
// `nsenter -t 1 -m -u -i -n -p -- CMD...`, chroots into $CRIMIG_SIM_ROOT and
// execs CMD in a new process group that it records for the controller.
// It returns only on error.
func Nsenter(args []string) int {
	cmd, err := parseNsenter(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nsenter: %v\n", err)
		return 1
	}
	root := os.Getenv(EnvRoot)
	if root == "" {
		fmt.Fprintf(os.Stderr, "nsenter: %s is not set: this pod has no simulated host (no kwok Exec for it?)\n", EnvRoot)
		return 1
	}
	h := host.New(root)
	if msg := nodeDown(h); msg != "" {
		fmt.Fprintf(os.Stderr, "%s\n", msg)
		return 1
	}
	if err := syscall.Setpgid(0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "nsenter: setpgid: %v\n", err)
		return 1
	}
	h.DropStaleExecs()
	pid := os.Getpid()
	sid, _ := unix.Getsid(pid)
	rec := host.ExecRecord{PGID: pid, SID: sid, Pod: os.Getenv(EnvPod), Namespace: os.Getenv(EnvNamespace), Started: time.Now()}
	if err := h.RecordExec(rec); err != nil {
		fmt.Fprintf(os.Stderr, "nsenter: record exec: %v\n", err)
		return 1
	}
	env := hostEnv(os.Getenv(EnvNode))
	if err := syscall.Chroot(root); err != nil {
		fmt.Fprintf(os.Stderr, "nsenter: reassociate to namespaces failed: %v\n", err)
		return 1
	}
	_ = os.Chdir("/")
	bin := cmd[0]
	if !strings.HasPrefix(bin, "/") {
		bin = lookPath(bin)
	}
	err = syscall.Exec(bin, cmd, env)
	fmt.Fprintf(os.Stderr, "nsenter: failed to execute %s: %v\n", cmd[0], err)
	return 127
}

// nodeDown reports why an exec cannot reach a pod on this host: the kubelet
// (which serves exec) or the runtime (which runs the container) is down.
func nodeDown(h *host.Host) string {
	if h.Rebooting() {
		return "error: unable to upgrade connection: node is rebooting"
	}
	if !h.IsActive("kubelet.service") {
		return "error: unable to upgrade connection: dial tcp 127.0.0.1:10250: connect: connection refused"
	}
	if u := h.PodsUnit(); u != "" && !h.IsActive(u) {
		return "error: Internal error occurred: error executing command in container: container runtime is down"
	}
	return ""
}

func parseNsenter(args []string) ([]string, error) {
	withValue := map[string]bool{"-t": true, "--target": true, "-S": true, "--setuid": true, "-G": true, "--setgid": true, "-w": true, "--wd": true, "-r": false}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return orShell(args[i+1:]), nil
		case withValue[a]:
			i++
		case strings.HasPrefix(a, "-"):
			// -m -u -i -n -p -C -a, --mount[=file], --target=1 ...
		default:
			return orShell(args[i:]), nil
		}
	}
	return orShell(nil), nil
}

func orShell(cmd []string) []string {
	if len(cmd) == 0 {
		return []string{"/bin/sh"}
	}
	return cmd
}

func hostEnv(node string) []string {
	env := []string{"PATH=" + hostPath, "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh", "LANG=C"}
	if node != "" {
		env = append(env, "HOSTNAME="+node)
	}
	if t := os.Getenv("TERM"); t != "" {
		env = append(env, "TERM="+t)
	}
	return env
}

// lookPath searches the host PATH; called after chroot.
func lookPath(name string) string {
	for _, d := range strings.Split(hostPath, ":") {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return name
}

// Console runs CMD chrooted into root as a login on the host's console
// would: in a new session, not recorded as an exec, so it does not die with
// the pods. For tests and for people poking at a simulated node.
func Console(root string, cmd []string) int {
	if len(cmd) == 0 {
		cmd = []string{"/bin/sh"}
	}
	_, _ = syscall.Setsid() // fails only for a group leader, which is fine here
	env := hostEnv(filepath.Base(root))
	if err := syscall.Chroot(root); err != nil {
		fmt.Fprintf(os.Stderr, "console: chroot %s: %v\n", root, err)
		return 1
	}
	_ = os.Chdir("/root")
	bin := cmd[0]
	if !strings.HasPrefix(bin, "/") {
		bin = lookPath(bin)
	}
	err := syscall.Exec(bin, cmd, env)
	fmt.Fprintf(os.Stderr, "console: failed to execute %s: %v\n", cmd[0], err)
	return 127
}
