package host

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// JobOptions are the systemd-run options the simulator honours.
type JobOptions struct {
	Unit    string
	Collect bool
	Env     []string
	Dir     string
	Wait    bool
	Scope   bool // --scope: run in the foreground, in a scope unit, with the caller's environment
	Pipe    bool // --pipe/--pty: run in the foreground, as a service (a clean environment)
}

// StartJob starts a transient unit in a new session, like systemd-run:
// it is not part of the caller's process group, so it survives the exec
// pod's death. self is the path of the crimig-sim binary inside the root.
func (h *Host) StartJob(self string, opt JobOptions, cmd []string) error {
	opt.Unit = NormUnit(opt.Unit)
	switch h.State(opt.Unit) {
	case Active:
		return fmt.Errorf("Failed to start transient service unit: Unit %s already exists.", opt.Unit)
	case Failed: // kept loaded until reset-failed, unless it ran with --collect
		return fmt.Errorf("Failed to start transient service unit: Unit %s was already loaded or has a fragment file.", opt.Unit)
	}
	if h.FindUnit(opt.Unit) != "" {
		return fmt.Errorf("Failed to start transient service unit: Unit %s was already loaded or has a fragment file.", opt.Unit)
	}
	args := []string{"sim-job", "--unit", opt.Unit}
	if opt.Collect {
		args = append(args, "--collect")
	}
	args = append(append(args, "--"), cmd...)
	c := exec.Command(self, args...)
	c.Env = UnitEnv(opt.Env)
	c.Dir = opt.Dir
	if c.Dir == "" {
		c.Dir = "/"
	}
	logf, err := os.OpenFile(h.P(filepath.Join(JournalDir, opt.Unit+".log")), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		_ = os.MkdirAll(h.P(JournalDir), 0o755)
		if logf, err = os.OpenFile(h.P(filepath.Join(JournalDir, opt.Unit+".log")), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
			return err
		}
	}
	defer logf.Close()
	c.Stdout, c.Stderr = logf, logf
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	h.setState(opt.Unit, Active)
	if err := c.Start(); err != nil {
		h.setState(opt.Unit, Failed)
		return err
	}
	_ = h.Write(filepath.Join(JobsDir, opt.Unit), strconv.Itoa(c.Process.Pid))
	if !opt.Wait {
		return c.Process.Release()
	}
	_ = c.Wait()
	for h.State(opt.Unit) == Active {
		time.Sleep(50 * time.Millisecond)
	}
	if h.State(opt.Unit) == Failed {
		return fmt.Errorf("Job for %s failed.", opt.Unit)
	}
	return nil
}

// ManagerPath is the PATH systemd gives the services it starts.
const ManagerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// UnitEnv is the environment of a service that systemd starts: systemd's own
// (PATH, the unit's identity) plus what the unit is given (--setenv,
// Environment=), never the caller's. A systemd-run job gets nothing of the
// shell that ran systemd-run. CRIMIG_SIM_* variables are the simulator's
// plumbing (which root an applet acts on), not part of the host.
func UnitEnv(extra []string) []string {
	env := []string{"PATH=" + ManagerPath, "INVOCATION_ID=" + strings.ReplaceAll(NewBootID(), "-", "")}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CRIMIG_SIM_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// RunJob is the body of a transient unit: run cmd, then record its result.
func (h *Host) RunJob(unit string, collect bool, cmd []string) int {
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdin, c.Stdout, c.Stderr = nil, os.Stdout, os.Stderr
	code := 0
	if err := c.Run(); err != nil {
		code = 1
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", unit, err)
	}
	_ = h.Remove(filepath.Join(JobsDir, unit))
	switch {
	case code == 0 || collect:
		h.setState(unit, Inactive)
	default:
		h.setState(unit, Failed)
	}
	h.Log(unit, "%s: Main process exited, status=%d", unit, code)
	return code
}

// stopJob kills a transient unit's session.
func (h *Host) stopJob(unit string) {
	pid, _ := strconv.Atoi(h.Read(filepath.Join(JobsDir, unit)))
	if pid > 1 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	_ = h.Remove(filepath.Join(JobsDir, unit))
}

// KillJobs kills every transient unit's session (used by reboot). The
// caller's own unit, if it runs in one, goes last.
func (h *Host) KillJobs() {
	own := ""
	for _, p := range h.Glob(filepath.Join(JobsDir, "*")) {
		if pid, _ := strconv.Atoi(h.Read(p)); pid == syscall.Getpgrp() {
			own = filepath.Base(p)
			continue
		}
		h.stopJob(filepath.Base(p))
	}
	if own != "" {
		h.stopJob(own)
	}
}

// RunScope runs cmd in the foreground, like `systemd-run --scope` (or
// --pipe): attached to the caller's stdio, but in a unit of its own, so it
// outlives the pod. Here that is a new session.
func (h *Host) RunScope(opt JobOptions, cmd []string) int {
	unit := NormUnit(opt.Unit)
	if strings.HasSuffix(unit, ".service") && opt.Scope {
		unit = strings.TrimSuffix(unit, ".service") + ".scope"
	}
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	// A scope runs systemd-run's own child; --pipe and --pty run a service.
	c.Env = append(os.Environ(), opt.Env...)
	if !opt.Scope {
		c.Env = UnitEnv(opt.Env)
	}
	c.Dir = opt.Dir
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	h.setState(unit, Active)
	defer h.setState(unit, Inactive)
	if err := c.Run(); err != nil {
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "Failed to start transient scope unit: %v\n", err)
		return 1
	}
	return 0
}
