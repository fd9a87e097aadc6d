package applets

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// systemdRun: systemd-run [--unit N] [--collect] [-p K=V] [-E K=V] [--wait] CMD...
func systemdRun(e *Env, args []string) int {
	opt := host.JobOptions{Unit: fmt.Sprintf("run-u%d", time.Now().UnixNano()%100000)}
	var cmd []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() string {
			if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "--") {
				return v
			}
			i++
			if i < len(args) {
				return args[i]
			}
			return ""
		}
		switch {
		case a == "--":
			cmd = args[i+1:]
			i = len(args)
		case a == "--unit" || strings.HasPrefix(a, "--unit=") || a == "-u":
			opt.Unit = val()
		case a == "--collect" || a == "-G":
			opt.Collect = true
		case a == "--wait" || a == "-W":
			opt.Wait = true
		case a == "-E" || a == "--setenv" || strings.HasPrefix(a, "--setenv="):
			opt.Env = append(opt.Env, val())
		case a == "--working-directory" || strings.HasPrefix(a, "--working-directory="):
			opt.Dir = val()
		case a == "-p" || a == "--property" || strings.HasPrefix(a, "--property=") ||
			a == "--description" || strings.HasPrefix(a, "--description=") ||
			a == "--service-type" || strings.HasPrefix(a, "--service-type=") || a == "--slice" || strings.HasPrefix(a, "--slice="):
			_ = val()
		case a == "--scope":
			opt.Scope = true
		case a == "--pipe" || a == "-P" || a == "--pty" || a == "-t":
			opt.Pipe = true
		case strings.HasPrefix(a, "-"):
			// --quiet, --no-block, --remain-after-exit, --same-dir...
		default:
			cmd = args[i:]
			i = len(args)
		}
	}
	if len(cmd) == 0 {
		e.errf("Command line to execute required.")
		return 1
	}
	if opt.Scope || opt.Pipe {
		return e.Host.RunScope(opt, cmd)
	}
	if err := e.Host.StartJob(e.Self, opt, cmd); err != nil {
		e.errf("%s", err)
		return 1
	}
	e.errf("Running as unit: %s", host.NormUnit(opt.Unit))
	return 0
}

// simJob is the body of a transient unit (internal).
// Its arguments are exactly what StartJob passes:
// --unit NAME [--collect] -- CMD...
func simJob(e *Env, args []string) int {
	if len(args) < 4 || args[0] != "--unit" {
		return 2
	}
	unit, rest := args[1], args[2:]
	collect := rest[0] == "--collect"
	if collect {
		rest = rest[1:]
	}
	if len(rest) < 2 || rest[0] != "--" {
		return 2
	}
	return e.Host.RunJob(unit, collect, rest[1:])
}

// simBoot: "sim-boot" boots the root; "sim-boot --reboot" reboots it.
func simBoot(e *Env, args []string) int {
	if len(args) > 0 && args[0] == "--reboot" {
		time.Sleep(200 * time.Millisecond)
		e.Host.Reboot(os.Getpid(), 1500*time.Millisecond)
		return 0
	}
	e.Host.Boot()
	return 0
}

func reboot(e *Env, _ []string) int {
	c := exec.Command(e.Self, "sim-boot", "--reboot")
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c.Dir = "/"
	if err := c.Start(); err != nil {
		e.errf("Failed to reboot: %v", err)
		return 1
	}
	_ = c.Process.Release()
	// As systemd: every unit stops at once, transient ones included, so a
	// job that asked for the reboot dies here (this stub with it), and
	// whatever it meant to do afterwards never happens.
	e.Host.KillJobs()
	return 0
}

func shutdown(e *Env, args []string) int {
	for _, a := range args {
		if a == "-r" || a == "--reboot" {
			return reboot(e, nil)
		}
	}
	e.errf("shutdown: only -r is simulated")
	return 1
}

func journalctl(e *Env, args []string) int {
	lines := 0
	var units []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-u" && i+1 < len(args):
			units = append(units, args[i+1])
			i++
		case strings.HasPrefix(a, "--unit="):
			units = append(units, strings.TrimPrefix(a, "--unit="))
		case a == "-n" && i+1 < len(args):
			_, _ = fmt.Sscan(args[i+1], &lines)
			i++
		case strings.HasPrefix(a, "--lines="):
			_, _ = fmt.Sscan(strings.TrimPrefix(a, "--lines="), &lines)
		}
	}
	for _, u := range units {
		e.Host.Journal(u, e.Stdout, lines)
	}
	return 0
}

func modprobe(e *Env, args []string) int {
	flags, mods := flagsAndArgs(args)
	remove := has(flags, "r", "remove")
	for _, m := range mods {
		var err error
		if remove {
			err = e.Host.UnloadModule(m)
		} else {
			err = e.Host.LoadModule(m)
		}
		if err != nil {
			e.errf("%s", err)
			return 1
		}
		if !remove && has(flags, "a", "all") {
			continue
		}
	}
	return 0
}

func lsmod(e *Env, _ []string) int {
	e.out("Module                  Size  Used by")
	for i, m := range e.Host.LoadedModules() {
		e.out("%-24s%6d  0", m, 16384+i*4096)
	}
	return 0
}

func sysctl(e *Env, args []string) int {
	flags, rest := flagsAndArgs(args)
	quiet := has(flags, "q", "quiet")
	switch {
	case has(flags, "system"):
		code := 0
		for _, kv := range e.Host.SysctlSystem() {
			if err := e.Host.SetSysctl(kv[0], kv[1]); err != nil {
				e.errf("%s", err)
				code = 255
				continue
			}
			if !quiet {
				e.out("%s = %s", kv[0], kv[1])
			}
		}
		return code
	case has(flags, "p", "load"):
		file := "/etc/sysctl.conf"
		if len(rest) > 0 {
			file = rest[0]
		}
		code := 0
		for _, kv := range host.ParseSysctlFile(e.Host.Read(file)) {
			if err := e.Host.SetSysctl(kv[0], kv[1]); err != nil {
				e.errf("%s", err)
				code = 255
			} else if !quiet {
				e.out("%s = %s", kv[0], kv[1])
			}
		}
		return code
	}
	code := 0
	for _, a := range rest {
		if k, v, ok := strings.Cut(a, "="); ok {
			if err := e.Host.SetSysctl(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
				e.errf("%s", err)
				code = 255
			} else if !quiet {
				e.out("%s = %s", k, v)
			}
			continue
		}
		v, ok := e.Host.Sysctl(a)
		if !ok {
			e.errf("sysctl: cannot stat /proc/sys/%s: No such file or directory", strings.ReplaceAll(a, ".", "/"))
			code = 255
			continue
		}
		if has(flags, "n", "values") {
			e.out("%s", v)
		} else {
			e.out("%s = %s", a, v)
		}
	}
	return code
}

func kubelet(e *Env, args []string) int {
	m, err := e.Host.Meta()
	if err != nil {
		e.errf("%s", err)
		return 1
	}
	for _, a := range args {
		if a == "--version" || strings.HasPrefix(a, "--version=") {
			e.out("Kubernetes %s", m.KubeletVersion)
			return 0
		}
	}
	e.errf("kubelet: run it with systemctl start kubelet in the simulator")
	return 1
}

func tomlCheck(e *Env, args []string) int {
	if err := host.TOMLCheck(args...); err != nil {
		e.errf("%s", err)
		return 1
	}
	return 0
}

// askYes reads a y/N answer like yum and apt do when -y is missing.
func askYes(e *Env, prompt string) bool {
	fmt.Fprint(e.Stdout, prompt)
	line, _ := bufio.NewReader(e.Stdin).ReadString('\n')
	line = strings.ToLower(strings.TrimSpace(line))
	return line == "y" || line == "yes"
}
