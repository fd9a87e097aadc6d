package applets

import (
	"errors"
	"strings"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

func yum(e *Env, args []string) int { return rpmManager(e, "yum", args) }
func dnf(e *Env, args []string) int { return rpmManager(e, "dnf", args) }

// assumeYes reports -y/--assumeyes or assumeyes=1 in the config.
func assumeYes(e *Env, flags map[string]string, pm string) bool {
	if has(flags, "y", "assumeyes", "yes", "assume-yes") {
		return true
	}
	conf := e.Host.Read("/etc/" + pm + ".conf")
	if pm == "dnf" {
		conf = e.Host.Read("/etc/dnf/dnf.conf")
	}
	return strings.Contains(strings.ReplaceAll(conf, " ", ""), "assumeyes=1")
}

func rpmManager(e *Env, pm string, args []string) int {
	e.Host.Settle()
	flags, rest := flagsAndArgs(args)
	if len(rest) == 0 {
		e.errf("You need to give some command")
		return 1
	}
	verb, pkgs := rest[0], rest[1:]
	switch verb {
	case "install", "reinstall", "localinstall":
		return pkgInstall(e, pm, flags, pkgs)
	case "remove", "erase", "autoremove":
		return pkgRemove(e, pm, flags, pkgs, false)
	case "list", "info":
		code := 0
		for _, p := range pkgs {
			if v := e.Host.PkgVersion(p); v != "" {
				e.out("%s.x86_64    %s    @installed", p, v)
			} else {
				code = 1
			}
		}
		return code
	case "makecache", "clean", "repolist", "check-update", "update", "upgrade":
		return 0
	}
	e.errf("No such command: %s.", verb)
	return 1
}

func pkgInstall(e *Env, pm string, flags map[string]string, pkgs []string) int {
	if !assumeYes(e, flags, pm) && !askYes(e, "Is this ok [y/N]: ") {
		e.errf("Operation aborted.")
		return 1
	}
	done, err := e.Host.Install(pm, pkgs)
	var pe *host.PkgError
	if errors.As(err, &pe) {
		e.errf("%s", pe.Msg)
		return pe.Code
	}
	if err != nil {
		e.errf("%s", err)
		return 1
	}
	if pm == "apt" {
		for _, p := range done {
			e.out("Setting up %s ...", p)
		}
		return 0
	}
	if len(done) == 0 {
		e.out("Nothing to do.")
		return 0
	}
	e.out("Installed:\n  %s\n\nComplete!", strings.Join(done, "\n  "))
	return 0
}

func pkgRemove(e *Env, pm string, flags map[string]string, pkgs []string, purge bool) int {
	if !assumeYes(e, flags, pm) && !askYes(e, "Is this ok [y/N]: ") {
		e.errf("Operation aborted.")
		return 1
	}
	for _, p := range pkgs {
		if err := e.Host.RemovePkg(p, purge); err != nil {
			if pm == "apt" {
				e.out("Package '%s' is not installed, so not removed", p)
				continue
			}
			e.errf("%s", err)
			return 1
		}
		e.out("Removing %s", p)
	}
	return 0
}

func rpm(e *Env, args []string) int {
	qf := ""
	var rest []string
	for i := 0; i < len(args); i++ {
		if (args[i] == "--qf" || args[i] == "--queryformat") && i+1 < len(args) {
			qf = args[i+1]
			i++
			continue
		}
		rest = append(rest, args[i])
	}
	flags, pkgs := flagsAndArgs(rest)
	if qf == "" {
		qf = flags["qf"] + flags["queryformat"]
	}
	switch {
	case has(flags, "e", "erase"):
		return pkgRemove(e, "yum", map[string]string{"y": "true"}, pkgs, false)
	case has(flags, "i", "U", "install", "upgrade") && !has(flags, "q", "query"):
		return pkgInstall(e, "yum", map[string]string{"y": "true"}, pkgs)
	case has(flags, "q", "query"):
		if has(flags, "a", "all") {
			for _, n := range e.Host.SortedPackages() {
				e.out("%s-%s-1.x86_64", n, e.Host.PkgVersion(n))
			}
			return 0
		}
		code := 0
		for _, p := range pkgs {
			v := e.Host.PkgVersion(p)
			switch {
			case v == "":
				e.out("package %s is not installed", p)
				code = 1
			case qf != "":
				r := strings.NewReplacer("%{VERSION}", v, "%{NAME}", p, "%{RELEASE}", "1", "%{ARCH}", "x86_64", `\n`, "\n")
				_, _ = e.Stdout.Write([]byte(r.Replace(qf)))
			default:
				e.out("%s-%s-1.x86_64", p, v)
			}
		}
		return code
	}
	e.errf("rpm: only -q and -e are simulated")
	return 1
}

func aptGet(e *Env, args []string) int {
	e.Host.Settle()
	flags, rest := flagsAndArgs(args)
	if len(rest) == 0 {
		return 0
	}
	verb, pkgs := rest[0], rest[1:]
	switch verb {
	case "update":
		for _, l := range e.Host.AptUpdate() {
			e.out("%s", l)
		}
		e.out("Reading package lists...")
		return 0
	case "install":
		if !has(flags, "y", "yes", "assume-yes") && !askYes(e, "Do you want to continue? [Y/n] ") {
			e.out("Abort.")
			return 1
		}
		flags["y"] = "true"
		return pkgInstall(e, "apt", flags, pkgs)
	case "remove", "purge", "autoremove":
		flags["y"] = "true"
		return pkgRemove(e, "apt", flags, pkgs, verb == "purge")
	}
	return 0
}

func dpkg(e *Env, args []string) int {
	flags, pkgs := flagsAndArgs(args)
	switch {
	case has(flags, "i", "install"):
		return pkgInstall(e, "apt", map[string]string{"y": "true"}, pkgs)
	case has(flags, "l", "list"):
		e.out("Desired=Unknown/Install/Remove/Purge/Hold\n||/ Name           Version      Architecture Description\n+++-==============-============-============-=================")
		code := 1
		for _, n := range e.Host.SortedPackages() {
			if len(pkgs) == 0 || matchAny(n, pkgs) {
				e.out("ii  %-14s %-12s amd64        %s", n, e.Host.PkgVersion(n), n)
				code = 0
			}
		}
		if len(pkgs) == 0 {
			return 0
		}
		return code
	case has(flags, "s", "status"):
		for _, p := range pkgs {
			v := e.Host.PkgVersion(p)
			if v == "" {
				e.errf("dpkg-query: package '%s' is not installed and no information is available", p)
				return 1
			}
			e.out("Package: %s\nStatus: install ok installed\nVersion: %s", p, v)
		}
		return 0
	}
	return 0
}

func dpkgQuery(e *Env, args []string) int {
	flags, pkgs := flagsAndArgs(args)
	if !has(flags, "W", "show") {
		return dpkg(e, args)
	}
	format := ""
	for i, a := range args {
		if (a == "-f" || a == "--showformat") && i+1 < len(args) {
			format = args[i+1]
			pkgs = removeItem(pkgs, format)
		} else if strings.HasPrefix(a, "--showformat=") || strings.HasPrefix(a, "-f=") {
			_, format, _ = strings.Cut(a, "=")
		}
	}
	for _, p := range pkgs {
		v := e.Host.PkgVersion(p)
		if v == "" {
			e.errf("dpkg-query: no packages found matching %s", p)
			return 1
		}
		if format == "" {
			e.out("%s\t%s", p, v)
			continue
		}
		s := strings.NewReplacer("${Version}", v, "${Package}", p, "${Status}", "install ok installed", `\n`, "\n").Replace(format)
		_, _ = e.Stdout.Write([]byte(s))
	}
	return 0
}

func matchAny(name string, patterns []string) bool {
	for _, p := range patterns {
		if p == name || (strings.HasSuffix(p, "*") && strings.HasPrefix(name, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

func removeItem(list []string, item string) []string {
	var out []string
	for _, x := range list {
		if x != item {
			out = append(out, x)
		}
	}
	return out
}
