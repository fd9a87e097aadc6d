package inspect

import (
	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

// minCrun is the oldest crun CRI-O 1.36 accepts ("unknown version specified").
const minCrun = "1.9"

// crioRuntime is what the plan knows about the CRI-O that will run on a
// node: where its conmon and runc are, and whether crun, CRI-O's default
// runtime, may stay the default.
type crioRuntime struct {
	paths    hostconf.CRIOPaths
	keepCrun bool
	// crun names the crun CRI-O would use, and why says why runc is made
	// the default instead; both "" when crun stays.
	crun, why string
}

// crioRuntimeOf reads it from the host facts. When crimig installs CRI-O,
// its packages and bundle bring their own conmon, crun and runc to
// /usr/libexec/crio (hostconf's defaults): the facts are read before the
// install, so that crun's version cannot be checked, and runc, which docker
// ran every container with, is made the default.
func crioRuntimeOf(f *hostscripts.HostFacts) crioRuntime {
	rt := f.Runtimes
	if !rt.Crio.Installed {
		return crioRuntime{crun: "crun", why: "the crun that comes with CRI-O cannot be checked before CRI-O is installed"}
	}
	c := crioRuntime{paths: hostconf.CRIOPaths{Conmon: rt.Conmon.Path, Runc: rt.Runc.Path}, crun: "crun " + rt.Crun.Version}
	switch {
	case !rt.Crun.Installed:
		c.crun, c.why = "crun", "CRI-O is installed without crun"
	case rt.Crun.Version == "":
		c.why = "crun at " + rt.Crun.Path + " does not report its version"
	case versionLess(rt.Crun.Version, minCrun):
		c.why = "crun is older than " + minCrun + " and fails under CRI-O 1.36 (\"unknown version specified\")"
	default:
		c.keepCrun, c.crun = true, ""
	}
	return c
}
