package applets

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

func systemctl(e *Env, args []string) int {
	e.Host.Settle()
	props, plain := splitProps(args)
	flags, rest := flagsAndArgs(plain)
	if len(rest) == 0 {
		rest = []string{"list-units"}
	}
	verb, units := rest[0], rest[1:]
	if verb != "daemon-reload" {
		warnChanged(e, units)
	}
	now := has(flags, "now")
	quiet := has(flags, "q", "quiet")
	switch verb {
	case "start", "restart", "try-restart", "reload", "reload-or-restart":
		return forUnits(e, units, func(u string) int { return startVerb(e, verb, u) })
	case "stop":
		return forUnits(e, units, func(u string) int { return stopUnit(e, u) })
	case "enable":
		return forUnits(e, units, func(u string) int { return enableUnit(e, u, now) })
	case "disable":
		return forUnits(e, units, func(u string) int {
			printIf(e, e.Host.Disable(u))
			if now {
				return stopUnit(e, u)
			}
			return 0
		})
	case "mask":
		return forUnits(e, units, func(u string) int {
			msg, err := e.Host.Mask(u)
			if err != nil {
				e.errf("%s", err)
				return 1
			}
			printErrIf(e, msg)
			if now {
				return stopUnit(e, u)
			}
			return 0
		})
	case "unmask":
		return forUnits(e, units, func(u string) int { printErrIf(e, e.Host.Unmask(u)); return 0 })
	case "is-active", "is-failed", "is-enabled":
		return isVerb(e, verb, units, quiet)
	case "status":
		return status(e, units)
	case "show":
		return show(e, flags, props, units)
	case "reset-failed":
		return forUnits(e, units, func(u string) int { e.Host.ResetFailed(u); return 0 })
	case "daemon-reload", "daemon-reexec":
		e.Host.DaemonReload()
		return 0
	case "list-units":
		for _, u := range e.Host.ActiveUnits() {
			e.out("%s loaded %s", u, e.Host.State(u))
		}
		return 0
	case "list-unit-files":
		e.out("UNIT FILE                              STATE           PRESET")
		for _, u := range e.Host.UnitFiles() {
			if len(units) == 0 || matchAny(u, units) {
				e.out("%-38s %-15s disabled", u, e.Host.EnabledState(u))
			}
		}
		return 0
	case "reboot":
		return reboot(e, nil)
	case "is-system-running":
		e.out("running")
		return 0
	case "cat":
		return catUnits(e, units)
	}
	e.errf("Unknown command verb %s.", verb)
	return 1
}

func forUnits(e *Env, units []string, f func(string) int) int {
	if len(units) == 0 {
		e.errf("Too few arguments.")
		return 1
	}
	code := 0
	for _, u := range units {
		if c := f(host.NormUnit(u)); c != 0 {
			code = c
		}
	}
	return code
}

func startVerb(e *Env, verb, u string) int {
	if verb == "try-restart" && !e.Host.IsActive(u) {
		return 0
	}
	if verb != "start" && verb != "reload" {
		printErrIf(e, e.Host.Stop(u))
	}
	err := e.Host.Start(u)
	var se *host.StartError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &se):
		e.errf("%s", se.Error())
		return 1
	case errors.Is(err, host.ErrNotFound):
		e.errf("%s", strings.TrimSuffix(err.Error(), ": "+host.ErrNotFound.Error()))
		return 5
	default:
		e.errf("%s", strings.TrimSuffix(err.Error(), ": "+host.ErrMasked.Error()))
		return 1
	}
}

func stopUnit(e *Env, u string) int {
	if e.Host.FindUnit(u) == "" && e.Host.State(u) == host.Inactive {
		e.errf("Failed to stop %s: Unit %s not loaded.", u, u)
		return 5
	}
	printErrIf(e, e.Host.Stop(u))
	return 0
}

func enableUnit(e *Env, u string, now bool) int {
	msg, err := e.Host.Enable(u)
	if err != nil {
		e.errf("%s", strings.SplitN(err.Error(), ".: ", 2)[0]+".")
		return 1
	}
	printErrIf(e, msg)
	if now {
		return startVerb(e, "start", u)
	}
	return 0
}

func isVerb(e *Env, verb string, units []string, quiet bool) int {
	code := 0
	for _, u := range units {
		u = host.NormUnit(u)
		var s string
		ok := false
		switch verb {
		case "is-active":
			s = e.Host.State(u)
			ok = s == host.Active
		case "is-failed":
			s = e.Host.State(u)
			ok = s == host.Failed
		default:
			s = e.Host.EnabledState(u)
			ok = s == "enabled" || s == "static"
		}
		if !quiet {
			e.out("%s", s)
		}
		if !ok {
			code = 1
			if verb != "is-enabled" {
				code = 3
			}
		}
	}
	if verb == "is-enabled" && code != 0 {
		return 1
	}
	return code
}

func status(e *Env, units []string) int {
	code := 0
	for _, u := range units {
		u = host.NormUnit(u)
		path := e.Host.FindUnit(u)
		if path == "" && e.Host.State(u) == host.Inactive {
			e.errf("Unit %s could not be found.", u)
			code = 4
			continue
		}
		state := e.Host.State(u)
		sub := map[string]string{host.Active: "running", host.Inactive: "dead", host.Failed: "failed"}[state]
		dot := map[string]string{host.Active: "●", host.Inactive: "○", host.Failed: "×"}[state]
		e.out("%s %s", dot, u)
		e.out("     Loaded: loaded (%s; %s)", path, e.Host.EnabledState(u))
		e.out("     Active: %s (%s) since %s", state, sub, time.Now().UTC().Format("Mon 2006-01-02 15:04:05 UTC"))
		if pid := e.Host.MainPID(u); pid > 0 && state == host.Active {
			e.out("   Main PID: %d (%s)", pid, strings.TrimSuffix(u, ".service"))
		}
		e.out("")
		e.Host.Journal(u, e.Stdout, 10)
		if state != host.Active {
			code = 3
		}
	}
	return code
}

func show(e *Env, flags map[string]string, props, units []string) int {
	if len(props) == 0 {
		props = []string{"Id", "LoadState", "ActiveState", "SubState", "UnitFileState", "FragmentPath", "MainPID", "NRestarts", "Result"}
	}
	for _, u := range units {
		u = host.NormUnit(u)
		vals := map[string]string{
			"ActiveState": e.Host.State(u), "UnitFileState": e.Host.EnabledState(u),
			"LoadState":    map[bool]string{true: "loaded", false: "not-found"}[e.Host.FindUnit(u) != ""],
			"SubState":     map[string]string{host.Active: "running", host.Inactive: "dead", host.Failed: "failed"}[e.Host.State(u)],
			"FragmentPath": e.Host.FindUnit(u), "Id": u,
			"MainPID": fmt.Sprint(e.Host.MainPID(u)), "NRestarts": fmt.Sprint(e.Host.Restarts(u)),
			"Result": map[bool]string{true: "exit-code", false: "success"}[e.Host.State(u) == host.Failed || e.Host.State(u) == host.Activating],
		}
		if e.Host.IsMasked(u) {
			vals["LoadState"] = "masked"
		}
		for _, p := range props {
			if p == "" {
				continue
			}
			if has(flags, "value") {
				e.out("%s", vals[p])
			} else {
				e.out("%s=%s", p, vals[p])
			}
		}
	}
	return 0
}

func catUnits(e *Env, units []string) int {
	for _, u := range units {
		p := e.Host.FindUnit(host.NormUnit(u))
		if p == "" {
			e.errf("No files found for %s.", u)
			return 1
		}
		data, _ := os.ReadFile(e.Host.P(p))
		e.out("# %s\n%s", p, data)
	}
	return 0
}

func printIf(e *Env, s string) {
	if s != "" {
		e.out("%s", s)
	}
}

func printErrIf(e *Env, s string) {
	if s != "" {
		e.errf("%s", s)
	}
}

// splitProps takes -p/--property values out of systemctl's arguments.
func splitProps(args []string) (props, plain []string) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case (a == "-p" || a == "--property") && i+1 < len(args):
			props = append(props, strings.Split(args[i+1], ",")...)
			i++
		case strings.HasPrefix(a, "--property="):
			props = append(props, strings.Split(strings.TrimPrefix(a, "--property="), ",")...)
		case strings.HasPrefix(a, "-p") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			props = append(props, strings.Split(a[2:], ",")...)
		default:
			plain = append(plain, a)
		}
	}
	return props, plain
}

// warnChanged prints systemd's warning for units edited since they loaded.
func warnChanged(e *Env, units []string) {
	for _, u := range units {
		if u = host.NormUnit(u); e.Host.UnitChanged(u) {
			e.errf("Warning: The unit file, source configuration file or drop-ins of %s changed on disk. Run 'systemctl daemon-reload' to reload units.", u)
		}
	}
}
