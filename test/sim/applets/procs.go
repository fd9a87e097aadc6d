package applets

import (
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"golang.org/x/term"
)

// The root shares the machine's kernel, so uname and hostname report the
// simulated host from its files instead.

func hostname(e *Env, args []string) int {
	name := e.Host.Read("/etc/hostname")
	if len(args) > 0 && (args[0] == "-s" || args[0] == "--short") {
		name, _, _ = strings.Cut(name, ".")
	}
	if len(args) > 0 && (args[0] == "-i" || args[0] == "-I" || args[0] == "--ip-address") {
		name = "127.0.0.1"
	}
	e.out("%s", name)
	return 0
}

func uname(e *Env, args []string) int {
	m, err := e.Host.Meta()
	if err != nil {
		e.errf("%s", err)
		return 1
	}
	node := e.Host.Read("/etc/hostname")
	fields := map[byte]string{'s': "Linux", 'n': node, 'r': m.KernelVersion, 'v': "#1 SMP", 'm': "x86_64", 'p': "x86_64", 'i': "x86_64", 'o': "GNU/Linux"}
	var out []string
	for _, a := range args {
		if a == "-a" || a == "--all" {
			out = []string{"Linux", node, m.KernelVersion, "#1 SMP", "x86_64", "x86_64", "x86_64", "GNU/Linux"}
			break
		}
		for i := 1; i < len(a) && a[0] == '-'; i++ {
			out = append(out, fields[a[i]])
		}
	}
	if len(out) == 0 {
		out = []string{"Linux"}
	}
	e.out("%s", strings.Join(out, " "))
	return 0
}

// pgrep [-a] [-l] [-f] [-x] PATTERN, over the fake /proc.
func pgrep(e *Env, args []string) int {
	flags, rest := flagsAndArgs(args)
	if len(rest) == 0 {
		e.errf("pgrep: no matching criteria specified")
		return 2
	}
	pat := rest[0]
	if has(flags, "x") {
		pat = "^(" + pat + ")$"
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		e.errf("pgrep: %v", err)
		return 2
	}
	found := false
	procs, _ := filepath.Glob(e.Host.P("/proc/[0-9]*"))
	for _, dir := range procs {
		pid := filepath.Base(dir)
		comm := strings.TrimSpace(readFile(filepath.Join(dir, "comm")))
		cmdline := strings.TrimSpace(strings.ReplaceAll(readFile(filepath.Join(dir, "cmdline")), "\x00", " "))
		subject := comm
		if has(flags, "f") {
			subject = cmdline
		}
		if !re.MatchString(subject) {
			continue
		}
		found = true
		switch {
		case has(flags, "a"):
			e.out("%s %s", pid, cmdline)
		case has(flags, "l"):
			e.out("%s %s", pid, comm)
		default:
			e.out("%s", pid)
		}
	}
	if !found {
		return 1
	}
	return 0
}

func readFile(p string) string {
	data, _ := os.ReadFile(p)
	return string(data)
}

// nohup CMD...: ignore SIGHUP and exec CMD (busybox-static has no nohup).
func nohup(e *Env, args []string) int {
	if len(args) == 0 {
		e.errf("nohup: missing operand")
		return 125
	}
	signal.Ignore(syscall.SIGHUP)
	if term.IsTerminal(int(os.Stdout.Fd())) {
		f, err := os.OpenFile("nohup.out", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err == nil {
			_ = syscall.Dup2(int(f.Fd()), 1)
			e.errf("nohup: ignoring input and appending output to 'nohup.out'")
		}
	}
	bin, err := exec.LookPath(args[0])
	if err != nil {
		e.errf("nohup: failed to run command '%s': No such file or directory", args[0])
		return 127
	}
	err = syscall.Exec(bin, args, os.Environ())
	e.errf("nohup: failed to run command '%s': %v", args[0], err)
	return 126
}

func rmmod(e *Env, args []string) int {
	_, mods := flagsAndArgs(args)
	for _, m := range mods {
		_ = e.Host.UnloadModule(m)
	}
	return 0
}
