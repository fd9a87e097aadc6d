package hostconf

import (
	"net"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Paths of the registry files crimig writes or copies into.
const (
	RegistriesDropIn   = "/etc/containers/registries.conf.d/90-crimig.conf"
	DockerCertsDir     = "/etc/docker/certs.d"
	ContainersCertsDir = "/etc/containers/certs.d"
	ContainerdCertsDir = "/etc/containerd/certs.d"
)

// mirror is one docker.io mirror, normalised from a registry-mirrors URL.
type mirror struct {
	Scheme   string // "https" or "http"
	Location string // host[:port][/path], no scheme, no trailing slash
	Insecure bool
}

// registries is daemon.json's registry settings, normalised once and shared
// by the CRI-O and containerd writers.
type registries struct {
	Mirrors  []mirror
	Insecure []string // host[:port], input order, no duplicates
	cidrs    []*net.IPNet
	losses   []Loss
}

func parseRegistries(c *DaemonConfig) registries {
	var r registries
	seen := map[string]bool{}
	for _, e := range c.InsecureRegistries {
		host := stripScheme(e)
		if _, n, err := net.ParseCIDR(host); err == nil {
			r.cidrs = append(r.cidrs, n)
			r.losses = append(r.losses, newLoss(LossWarning, "insecure-registries", e,
				"CIDR ranges cannot be expressed in registries.conf or containerd hosts.toml",
				"list each registry host in that range in insecure-registries before migrating"))
			continue
		}
		if host != "" && !validRegistryHost(host) {
			r.losses = append(r.losses, badHostLoss("insecure-registries", e))
			continue
		}
		if host != "" && !seen[host] {
			seen[host] = true
			r.Insecure = append(r.Insecure, host)
		}
	}
	for _, raw := range c.RegistryMirrors {
		m, ok := r.parseMirror(raw)
		if ok {
			r.Mirrors = append(r.Mirrors, m)
		}
	}
	return r
}

// parseMirror keeps host[:port][/path] and drops credentials, query and
// fragment, which docker never sent to a mirror anyway.
func (r *registries) parseMirror(raw string) (mirror, bool) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		r.losses = append(r.losses, newLoss(LossWarning, "registry-mirrors", raw,
			"not a valid mirror URL", "fix the URL and re-run the plan"))
		return mirror{}, false
	}
	if !validRegistryHost(u.Host) {
		r.losses = append(r.losses, badHostLoss("registry-mirrors", raw))
		return mirror{}, false
	}
	if u.User != nil {
		r.losses = append(r.losses, newLoss(LossWarning, "registry-mirrors", raw,
			"credentials in a mirror URL are not copied", "configure pull credentials for the mirror separately"))
	}
	m := mirror{Scheme: strings.ToLower(u.Scheme), Location: u.Host + strings.TrimRight(u.EscapedPath(), "/")}
	m.Insecure = m.Scheme == "http" || r.isInsecure(u.Host)
	return m, true
}

// registryHostRE is a registry's host[:port]: DNS labels or a bracketed
// IPv6 address. Nothing else may be one, because containerd's writer makes
// the name a directory under /etc/containerd/certs.d.
var registryHostRE = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*)(:[0-9]{1,5})?$`)

func validRegistryHost(h string) bool { return registryHostRE.MatchString(h) }

func badHostLoss(key, raw string) Loss {
	return newLoss(LossWarning, key, raw,
		"not a registry host name (host[:port]): crimig would turn it into a path under "+ContainerdCertsDir+", so it is left out",
		"fix the entry in /etc/docker/daemon.json, or configure the registry for the new runtime by hand")
}

// isInsecure applies docker's rule: a host is insecure when listed, or when
// it is an IP inside a listed CIDR.
func (r *registries) isInsecure(host string) bool {
	for _, h := range r.Insecure {
		if h == host {
			return true
		}
	}
	ipStr := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		ipStr = h
	}
	ip := net.ParseIP(ipStr)
	for _, n := range r.cidrs {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

func stripScheme(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 && !looksLikeCIDR(s) {
		s = s[:i]
	}
	return s
}

func looksLikeCIDR(s string) bool {
	_, _, err := net.ParseCIDR(s)
	return err == nil
}

// registriesConf renders the registries.conf.d drop-in (v2 format).
// unqualified-search-registries is always written: CRI-O rejects short names
// such as "nginx:1.25" that docker silently resolved against docker.io.
func registriesConf(r registries) generated {
	var w tomlw
	w.comment("Written by kubectl crimig from /etc/docker/daemon.json.")
	w.comment("Docker resolved short image names against docker.io; keep that behaviour.")
	w.strs("unqualified-search-registries", []string{"docker.io"})
	w.why("unqualified-search-registries", "docker.io", "docker resolved short image names (nginx:1.25) against docker.io; "+
		"without this CRI-O refuses them and pods using them fail to pull")
	dockerHubInsecure := false
	for _, h := range r.Insecure {
		if h == "docker.io" {
			dockerHubInsecure = true
		}
	}
	if len(r.Mirrors) > 0 || dockerHubInsecure {
		w.arrayTable("registry")
		w.comment("registry-mirrors: docker applied them to Docker Hub only.")
		w.str("prefix", "docker.io")
		w.str("location", "docker.io")
		w.why("", "docker.io", "daemon.json registry-mirrors: docker sent Docker Hub pulls to the mirrors first, and to no other registry")
		if dockerHubInsecure {
			w.boolean("insecure", true)
		}
		for _, m := range r.Mirrors {
			w.arrayTable("registry.mirror")
			w.str("location", m.Location)
			w.why("", m.Location, "daemon.json registry-mirrors: tried before docker.io, in docker's order")
			if m.Insecure {
				w.boolean("insecure", true)
			}
		}
	}
	for _, h := range r.Insecure {
		if h == "docker.io" {
			continue
		}
		w.arrayTable("registry")
		w.comment("insecure-registries")
		w.str("location", h)
		w.boolean("insecure", true)
		w.why("", h, "carried from daemon.json insecure-registries: docker pulled from "+h+" without verifying TLS, or over plain HTTP")
	}
	return w.generated()
}

// CertDir is one existing directory under /etc/docker/certs.d. Files are the
// file names inside it, when the caller listed them; containerd's hosts.toml
// needs them to reference the certificates explicitly.
type CertDir struct {
	Host  string   `json:"host"`
	Files []string `json:"files,omitempty"`
}

// CopyOp copies a directory tree; the migrate engine must not overwrite
// files that already exist at To with different content without backing
// them up first.
type CopyOp struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Files are the names of the files copied (not their content).
	Files []string `json:"files,omitempty"`
}

// certCopies maps docker's per-registry certificate dirs into the target
// runtime's; both read the same ca.crt / client.cert / client.key layout.
func certCopies(dirs []CertDir, toRoot string) []CopyOp {
	ops := make([]CopyOp, 0, len(dirs))
	for _, d := range dirs {
		host := path.Base(strings.TrimRight(d.Host, "/"))
		if host == "" || host == "." || host == "/" {
			continue
		}
		var files []string
		for _, f := range d.Files {
			if f != "" && !strings.Contains(f, "/") && f != "." && f != ".." {
				files = append(files, f)
			}
		}
		ops = append(ops, CopyOp{From: path.Join(DockerCertsDir, host), To: path.Join(toRoot, host), Files: files})
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].From < ops[j].From })
	return ops
}
