package host

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// pkgDef is a package the simulated repositories know.
type pkgDef struct {
	deps    []string
	bins    []string          // /usr/bin/<bin> (or the absolute path) -> the crimig-sim multi-call binary
	units   map[string]string // unit file name -> content
	configs map[string]string // written only when missing, like rpm's %config(noreplace)
	crio    bool              // only a cri-o repository provides it
}

var catalog = map[string]pkgDef{
	// pkgs.k8s.io's cri-o (since 1.28) brings its own conmon, crun and runc
	// in /usr/libexec/crio, off $PATH, and depends on neither package.
	"cri-o": {deps: []string{"containers-common", "cri-tools"}, crio: true,
		bins:  []string{"crio", "pinns", "/usr/libexec/crio/conmon", "/usr/libexec/crio/crun", "/usr/libexec/crio/runc"},
		units: map[string]string{"crio.service": crioUnit},
		configs: map[string]string{
			"/etc/crio/crio.conf.d/10-crio.conf":           crioDefaultConf,
			"/etc/cni/net.d/11-crio-ipv4-bridge.conflist":  crioBridgeCNI,
			"/etc/containers/registries.conf.d/.keep-crio": "",
		}},
	"conmon":            {bins: []string{"conmon"}},
	"cri-tools":         {bins: []string{"crictl"}, configs: map[string]string{"/etc/crictl.yaml": "runtime-endpoint: unix:///var/run/crio/crio.sock\nimage-endpoint: unix:///var/run/crio/crio.sock\ntimeout: 10\n"}},
	"runc":              {bins: []string{"runc"}},
	"crun":              {bins: []string{"crun"}},
	"containers-common": {configs: map[string]string{"/etc/containers/registries.conf": registriesDefault, "/etc/containers/policy.json": policyJSON, "/etc/containers/storage.conf": storageConf}},
	"podman":            {deps: []string{"containers-common", "conmon", "runc"}, bins: []string{"podman"}},
	"containerd":        {deps: []string{"runc"}, bins: []string{"containerd", "ctr", "containerd-shim-runc-v2"}, units: map[string]string{"containerd.service": containerdUnit}},
	"containerd.io":     {bins: []string{"containerd", "ctr", "containerd-shim-runc-v2", "runc"}, units: map[string]string{"containerd.service": containerdUnit}},
	"docker-ce":         {deps: []string{"containerd.io"}, bins: []string{"dockerd", "docker-proxy"}, units: map[string]string{"docker.service": "", "docker.socket": ""}},
	"docker-ce-cli":     {bins: []string{"docker"}},
	"docker.io":         {deps: []string{"containerd"}, bins: []string{"dockerd", "docker"}, units: map[string]string{"docker.service": "", "docker.socket": ""}},
	"kubelet":           {bins: []string{"kubelet"}},
	"kubeadm":           {bins: []string{"kubeadm"}},
	"cri-dockerd":       {bins: []string{"cri-dockerd"}, units: map[string]string{"cri-docker.service": "", "cri-docker.socket": ""}},
}

// PkgError is a package manager failure with its exit code.
type PkgError struct {
	Msg  string
	Code int
}

func (e *PkgError) Error() string { return e.Msg }

var crioMinorRE = regexp.MustCompile(`(?i)(?:cri-o|crio)[^0-9\n]{0,24}?(1\.\d+)`)
var localPkgRE = regexp.MustCompile(`^cri-o[-_]v?(\d+\.\d+\.\d+)`)

// repoSources returns the repository definitions the package manager sees.
// apt only sees what the last `apt-get update` fetched.
func (h *Host) repoSources(pm string) string {
	if pm == "apt" {
		return h.Read(filepath.Join(StateDir, "apt-lists"))
	}
	var b strings.Builder
	for _, f := range h.Glob("/etc/yum.repos.d/*.repo") {
		b.WriteString(enabledRepoText(h.Read(f)))
	}
	return b.String()
}

// enabledRepoText drops sections with enabled=0 or without any base URL.
func enabledRepoText(content string) string {
	var out strings.Builder
	for _, sec := range strings.Split(content, "\n[") {
		lower := strings.ToLower(sec)
		if strings.Contains(strings.ReplaceAll(lower, " ", ""), "enabled=0") {
			continue
		}
		if !strings.Contains(lower, "baseurl") && !strings.Contains(lower, "mirrorlist") && !strings.Contains(lower, "metalink") {
			continue
		}
		out.WriteString("[" + sec + "\n")
	}
	return out.String()
}

// AptUpdate snapshots the apt sources, as `apt-get update` fetches lists.
func (h *Host) AptUpdate() []string {
	var b strings.Builder
	var lines []string
	files := h.Glob("/etc/apt/sources.list.d/*.list")
	files = append(files, h.Glob("/etc/apt/sources.list.d/*.sources")...)
	if h.Exists("/etc/apt/sources.list") {
		files = append([]string{"/etc/apt/sources.list"}, files...)
	}
	for i, f := range files {
		for _, l := range strings.Split(h.Read(f), "\n") {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "deb ") || strings.HasPrefix(l, "URIs:") {
				b.WriteString(l + "\n")
				lines = append(lines, fmt.Sprintf("Hit:%d %s", i+1, strings.TrimPrefix(strings.TrimPrefix(l, "URIs:"), "deb ")))
			}
		}
	}
	_ = h.Write(filepath.Join(StateDir, "apt-lists"), b.String())
	return lines
}

// crioFromRepos returns the cri-o version the configured repositories offer.
func (h *Host) crioFromRepos(pm string) (string, bool) {
	src := h.repoSources(pm)
	for _, dir := range localRepoDirs(src) {
		ents, _ := os.ReadDir(h.P(dir))
		for _, e := range ents {
			if m := localPkgRE.FindStringSubmatch(e.Name()); m != nil {
				return m[1], true
			}
		}
	}
	m := crioMinorRE.FindStringSubmatch(src)
	if m == nil {
		return "", false
	}
	meta, _ := h.Meta()
	if meta != nil && strings.HasPrefix(meta.CrioVersion, m[1]+".") {
		return meta.CrioVersion, true
	}
	return m[1] + ".0", true
}

var fileURLRE = regexp.MustCompile(`file:/+([^\s"']+)`)

func localRepoDirs(src string) []string {
	var out []string
	for _, m := range fileURLRE.FindAllStringSubmatch(src, -1) {
		out = append(out, "/"+strings.TrimSuffix(m[1], "/"))
	}
	return out
}

var localFileRE = regexp.MustCompile(`^([a-z][a-z0-9.+-]*?)[-_]v?(\d+\.\d+\.\d+)[^/]*\.(rpm|deb)$`)

// Install installs packages and their dependencies. pm is yum, dnf or apt.
// A path to a .rpm or .deb file in the host installs that file's package
// and version without any repository.
func (h *Host) Install(pm string, names []string) ([]string, error) {
	var installed []string
	for _, n := range names {
		if strings.Contains(n, "/") {
			if err := h.installFile(pm, n, &installed); err != nil {
				return installed, err
			}
			continue
		}
		n, _, _ = strings.Cut(n, "=") // apt's pkg=version
		if i := strings.Index(n, "-1."); i > 0 && catalog[n[:i]].bins != nil {
			n = n[:i] // yum's name-version
		}
		if err := h.installOne(pm, n, &installed); err != nil {
			return installed, err
		}
	}
	return installed, nil
}

func (h *Host) installFile(pm, file string, done *[]string) error {
	m := localFileRE.FindStringSubmatch(filepath.Base(file))
	if !h.Exists(file) || m == nil {
		if pm == "apt" {
			return &PkgError{Msg: "E: Unsupported file " + file + " given on commandline", Code: 100}
		}
		return &PkgError{Msg: "Can not load RPM file: " + file + ".\nCould not open: " + file, Code: 1}
	}
	if _, ok := catalog[m[1]]; !ok {
		return &PkgError{Msg: "package " + m[1] + " is not simulated", Code: 1}
	}
	return h.installVersion(pm, m[1], m[2], done)
}

func (h *Host) installOne(pm, name string, done *[]string) error {
	def, ok := catalog[name]
	if !ok || (def.crio && !h.crioAvailable(pm)) || (name == "podman" && !h.podmanAvailable()) {
		return notFound(pm, name)
	}
	return h.installVersion(pm, name, "", done)
}

// installVersion installs name (version "" means the repositories' choice).
func (h *Host) installVersion(pm, name, version string, done *[]string) error {
	def := catalog[name]
	if h.PkgVersion(name) != "" {
		return nil
	}
	for _, d := range def.deps {
		if err := h.installOne(pm, d, done); err != nil {
			return err
		}
	}
	if version == "" {
		version = h.pkgVersion(pm, name)
	}
	for _, b := range def.bins {
		h.linkBin(b)
	}
	m, _ := h.Meta()
	for u, content := range def.units {
		if content != "" && m != nil {
			_ = h.Write(filepath.Join(m.UnitDir, u), content)
		}
	}
	for p, content := range def.configs {
		if p == "/etc/containers/registries.conf" && pm == "apt" {
			content = registriesDebian
		}
		if !h.Exists(p) {
			_ = h.Write(p, content)
		}
	}
	_ = h.Write(filepath.Join(PkgsDir, name), version)
	h.DaemonReload() // the packages' scriptlets reload systemd
	*done = append(*done, name+"-"+version)
	return nil
}

func (h *Host) crioAvailable(pm string) bool {
	_, ok := h.crioFromRepos(pm)
	return ok
}

// podmanAvailable tells whether the repositories ship podman: a host.json
// without podmanVersion stands for a site whose mirror lacks it.
func (h *Host) podmanAvailable() bool {
	m, _ := h.Meta()
	return m == nil || m.PodmanVersion != ""
}

func (h *Host) pkgVersion(pm, name string) string {
	m, _ := h.Meta()
	switch {
	case name == "cri-o":
		v, _ := h.crioFromRepos(pm)
		return v
	case name == "podman" && m != nil:
		return m.PodmanVersion
	case name == "cri-tools":
		v, _ := h.crioFromRepos(pm)
		return v
	case strings.HasPrefix(name, "containerd") && m != nil:
		return m.ContainerdVersion
	}
	if v, ok := baseVersions[name]; ok {
		return v
	}
	return "1.0.0"
}

// baseVersions are what the distributions' base repositories ship.
var baseVersions = map[string]string{
	"runc": "1.1.12", "crun": "1.14.4", "conmon": "2.1.10", "containers-common": "1.0.0",
}

func notFound(pm, name string) error {
	switch pm {
	case "apt":
		return &PkgError{Msg: "E: Unable to locate package " + name, Code: 100}
	case "dnf":
		return &PkgError{Msg: "No match for argument: " + name + "\nError: Unable to find a match: " + name, Code: 1}
	}
	return &PkgError{Msg: "No package " + name + " available.\nError: Nothing to do", Code: 1}
}

// RemovePkg removes a package: binaries and unit files go, configuration and
// data stay (a purge also removes configs). A running service is stopped and
// disabled, as the packages' scriptlets do.
func (h *Host) RemovePkg(name string, purge bool) error {
	def := catalog[name]
	if h.PkgVersion(name) == "" {
		return &PkgError{Msg: "No Packages marked for removal: " + name, Code: 1}
	}
	m, _ := h.Meta()
	for u := range def.units {
		if h.IsActive(u) {
			h.Stop(u)
		}
		h.Disable(u)
		if m != nil {
			_ = h.Remove(filepath.Join(m.UnitDir, u))
		}
	}
	for _, b := range def.bins {
		_ = h.Remove(binPath(b))
	}
	if purge {
		for p := range def.configs {
			_ = h.Remove(p)
		}
	}
	h.DaemonReload()
	return h.Remove(filepath.Join(PkgsDir, name))
}

// Packages lists installed packages as name -> version.
func (h *Host) Packages() map[string]string {
	out := map[string]string{}
	for _, p := range h.Glob(filepath.Join(PkgsDir, "*")) {
		out[filepath.Base(p)] = h.Read(p)
	}
	return out
}

// SortedPackages returns installed package names, sorted.
func (h *Host) SortedPackages() []string {
	var names []string
	for n := range h.Packages() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LinkPackageBins links the binaries of every installed package to the
// multi-call binary (used when a root is built).
func (h *Host) LinkPackageBins() {
	for name := range h.Packages() {
		for _, b := range catalog[name].bins {
			if !h.Exists(binPath(b)) {
				h.linkBin(b)
			}
		}
	}
}

// binPath is where a package's binary goes: a bare name in /usr/bin.
func binPath(b string) string {
	if strings.HasPrefix(b, "/") {
		return b
	}
	return "/usr/bin/" + b
}

// linkBin installs a package's binary as a link to the multi-call binary,
// which picks the applet by the link's base name.
func (h *Host) linkBin(b string) {
	p := binPath(b)
	_ = h.Remove(p)
	_ = os.MkdirAll(filepath.Dir(h.P(p)), 0o755)
	_ = os.Symlink(PersistLib, h.P(p))
}
