package hostconf

import (
	"path"
	"strings"
)

// Paths and endpoint for containerd.
const (
	ContainerdConfig   = "/etc/containerd/config.toml"
	ContainerdEndpoint = "unix:///run/containerd/containerd.sock"
)

// containerdLayout holds the plugin table names, which moved in config
// version 3 (containerd 2.x).
type containerdLayout struct {
	Version  int
	Images   string // holds the sandbox image (v2) and the registry table
	Runtime  string // holds containerd.runtimes
	Sandbox  string // table holding the sandbox image key
	SandboxK string
}

func layoutFor(targetVersion string) containerdLayout {
	if major, _, err := minorVersion(targetVersion); err == nil && major >= 2 {
		return containerdLayout{Version: 3,
			Images:  `plugins."io.containerd.cri.v1.images"`,
			Runtime: `plugins."io.containerd.cri.v1.runtime"`,
			Sandbox: `plugins."io.containerd.cri.v1.images".pinned_images`, SandboxK: "sandbox"}
	}
	// Version 2 for 1.x, and for an unknown version: 2.x still reads it.
	cri := `plugins."io.containerd.grpc.v1.cri"`
	return containerdLayout{Version: 2, Images: cri, Runtime: cri, Sandbox: cri, SandboxK: "sandbox_image"}
}

// containerdConf renders a complete /etc/containerd/config.toml. It replaces
// the file docker's containerd.io package ships, which disables the CRI plugin.
func containerdConf(c *DaemonConfig, s runtimeSettings, targetVersion string) ([]byte, []Loss) {
	l := layoutFor(targetVersion)
	var w tomlw
	var losses []Loss
	w.comment("Written by kubectl crimig from /etc/docker/daemon.json.")
	w.integer("version", l.Version)
	if s.DataRoot != "" && s.DataRootOK {
		w.comment("daemon.json data-root %s: keep images on the same filesystem.", s.DataRoot)
		w.str("root", path.Join(path.Dir(path.Clean(s.DataRoot)), "containerd"))
	}
	w.table(l.Sandbox)
	w.str(l.SandboxK, s.PauseImage)
	w.table(l.Images + ".registry")
	w.comment("Per-registry mirrors, insecure hosts and certificates live in hosts.toml files.")
	w.str("config_path", ContainerdCertsDir)
	w.table(l.Runtime + ".containerd")
	def := s.DefaultRuntime
	if def == "" {
		def = "runc"
	}
	w.str("default_runtime_name", def)
	containerdRuntime(&w, l, "runc", "", s.CgroupDriver)
	for _, name := range sortedKeys(c.Runtimes) {
		if name == "runc" {
			continue // already defined above; a second table would be invalid TOML
		}
		p, rl := runtimeBinary(name, c.Runtimes[name])
		losses = append(losses, rl...)
		containerdRuntime(&w, l, name, p, s.CgroupDriver)
	}
	if len(c.DefaultUlimits) > 0 {
		losses = append(losses, newLoss(LossWarning, "default-ulimits", strings.Join(ulimitStrings(c.DefaultUlimits), ","),
			"containerd has no default ulimits setting",
			"set rlimits in a base_runtime_spec file for the runc runtime"))
	}
	return w.bytes(), losses
}

func containerdRuntime(w *tomlw, l containerdLayout, name, binary, cgroupDriver string) {
	t := l.Runtime + ".containerd.runtimes." + tomlKey(name)
	w.table(t)
	w.str("runtime_type", "io.containerd.runc.v2")
	w.table(t + ".options")
	if binary != "" {
		w.str("BinaryName", binary)
	}
	w.comment("Must match the kubelet's cgroupDriver.")
	w.boolean("SystemdCgroup", cgroupDriver == "systemd")
}

// hostsFile is one /etc/containerd/certs.d/<host>/hosts.toml.
type hostsFile struct {
	Host    string
	Content []byte
}

// containerdHosts writes a hosts.toml for docker.io when there are mirrors,
// and one per insecure registry. Hosts with only certificates get no
// hosts.toml: without one, containerd reads docker's certificate layout from
// the copied directory by itself.
func containerdHosts(r registries, certs []CertDir) ([]hostsFile, []Loss) {
	var out []hostsFile
	var losses []Loss
	if len(r.Mirrors) > 0 {
		var w tomlw
		w.comment("Written by kubectl crimig from daemon.json registry-mirrors.")
		w.str("server", "https://registry-1.docker.io")
		for _, m := range r.Mirrors {
			host := strings.SplitN(m.Location, "/", 2)[0]
			losses = append(losses, hostEntry(&w, m.Scheme+"://"+m.Location, host, m.Insecure, []string{"pull", "resolve"}, certs)...)
		}
		out = append(out, hostsFile{Host: "docker.io", Content: w.bytes()})
	}
	for _, h := range r.Insecure {
		var w tomlw
		w.comment("Written by kubectl crimig from daemon.json insecure-registries:")
		w.comment("like docker, try HTTPS without verification first, then plain HTTP.")
		w.str("server", "https://"+h)
		caps := []string{"pull", "resolve", "push"}
		losses = append(losses, hostEntry(&w, "https://"+h, h, true, caps, certs)...)
		losses = append(losses, hostEntry(&w, "http://"+h, h, false, caps, nil)...)
		out = append(out, hostsFile{Host: h, Content: w.bytes()})
	}
	return out, losses
}

// hostEntry writes one [host."…"] table and references the certificates of
// certHost, because with a hosts.toml present containerd no longer scans the
// directory for them.
func hostEntry(w *tomlw, url, certHost string, skipVerify bool, caps []string, certs []CertDir) []Loss {
	w.table("host." + tomlString(url))
	w.strs("capabilities", caps)
	if skipVerify {
		w.boolean("skip_verify", true)
	}
	for _, d := range certs {
		if path.Base(d.Host) != certHost {
			continue
		}
		if len(d.Files) == 0 {
			return []Loss{newLoss(LossWarning, "certs.d/"+certHost, "",
				"hosts.toml must reference the registry certificates, but their file names are unknown",
				"add ca = [...] and client = [[cert, key]] to the hosts.toml by hand")}
		}
		writeCertRefs(w, path.Join(ContainerdCertsDir, certHost), d.Files)
	}
	return nil
}

func writeCertRefs(w *tomlw, dir string, files []string) {
	var cas, pairs []string
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, ".crt"):
			cas = append(cas, path.Join(dir, f))
		case strings.HasSuffix(f, ".cert"):
			key := strings.TrimSuffix(f, ".cert") + ".key"
			pairs = append(pairs, "["+tomlString(path.Join(dir, f))+", "+tomlString(path.Join(dir, key))+"]")
		}
	}
	if len(cas) > 0 {
		w.strs("ca", cas)
	}
	if len(pairs) > 0 {
		w.b.WriteString("client = [" + strings.Join(pairs, ", ") + "]\n")
	}
}
