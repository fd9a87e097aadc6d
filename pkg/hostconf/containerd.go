package hostconf

import (
	"fmt"
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
func containerdConf(c *DaemonConfig, s runtimeSettings, targetVersion string) (generated, []Loss) {
	l := layoutFor(targetVersion)
	var w tomlw
	var losses []Loss
	w.comment("Written by kubectl crimig from /etc/docker/daemon.json.")
	w.integer("version", l.Version)
	w.why("version", fmt.Sprint(l.Version), fmt.Sprintf("the config layout containerd %s reads", firstNonEmpty(targetVersion, "1.x")))
	if s.DataRoot != "" && s.DataRootOK {
		w.comment("daemon.json data-root %s: keep images on the same filesystem.", s.DataRoot)
		root := path.Join(path.Dir(path.Clean(s.DataRoot)), "containerd")
		w.str("root", root)
		w.why("root", root, "daemon.json data-root "+s.DataRoot+" moved docker's images off /var/lib; containerd's storage goes beside it, on the same filesystem")
	}
	w.table(l.Sandbox)
	w.str(l.SandboxK, s.PauseImage)
	w.why(l.SandboxK, s.PauseImage, s.pauseReason())
	w.table(l.Images + ".registry")
	w.comment("Per-registry mirrors, insecure hosts and certificates live in hosts.toml files.")
	w.str("config_path", ContainerdCertsDir)
	w.why("config_path", ContainerdCertsDir, "where containerd reads the hosts.toml files that carry daemon.json's registry mirrors, "+
		"insecure registries and /etc/docker/certs.d certificates")
	w.table(l.Runtime + ".containerd")
	def := s.DefaultRuntime
	if def == "" {
		def = "runc"
	}
	w.str("default_runtime_name", def)
	if s.DefaultRuntime != "" {
		w.why("default_runtime_name", def, "carried from daemon.json default-runtime: containers keep running with the runtime docker gave them")
	}
	containerdRuntime(&w, l, "runc", "", s)
	for _, name := range sortedKeys(c.Runtimes) {
		if name == "runc" {
			continue // already defined above; a second table would be invalid TOML
		}
		p, rl := runtimeBinary(name, c.Runtimes[name])
		losses = append(losses, rl...)
		containerdRuntime(&w, l, name, p, s)
	}
	if len(c.DefaultUlimits) > 0 {
		losses = append(losses, newLoss(LossWarning, "default-ulimits", strings.Join(ulimitStrings(c.DefaultUlimits), ","),
			"containerd has no default ulimits setting",
			"set rlimits in a base_runtime_spec file for the runc runtime"))
	}
	return w.generated(), losses
}

func containerdRuntime(w *tomlw, l containerdLayout, name, binary string, s runtimeSettings) {
	t := l.Runtime + ".containerd.runtimes." + tomlKey(name)
	w.table(t)
	w.str("runtime_type", "io.containerd.runc.v2")
	if binary != "" {
		w.why("", binary, "carried from daemon.json runtimes."+name+": a RuntimeClass naming the handler "+name+" keeps working")
	}
	w.table(t + ".options")
	if binary != "" {
		w.str("BinaryName", binary)
	}
	w.comment("Must match the kubelet's cgroupDriver.")
	w.boolean("SystemdCgroup", s.CgroupDriver == "systemd")
	w.why("SystemdCgroup", fmt.Sprint(s.CgroupDriver == "systemd"), s.cgroupReason())
}

// hostsFile is one /etc/containerd/certs.d/<host>/hosts.toml.
type hostsFile struct {
	Host   string
	Reason string
	generated
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
			losses = append(losses, hostEntry(&w, m.Scheme+"://"+m.Location, host, m.Insecure, []string{"pull", "resolve"}, certs,
				"daemon.json registry-mirrors "+m.Location+": tried before Docker Hub, for pulls only")...)
		}
		out = append(out, hostsFile{Host: "docker.io", generated: w.generated(),
			Reason: "carries daemon.json registry-mirrors: docker sent Docker Hub pulls to these mirrors first"})
	}
	for _, h := range r.Insecure {
		var w tomlw
		w.comment("Written by kubectl crimig from daemon.json insecure-registries:")
		w.comment("like docker, try HTTPS without verification first, then plain HTTP.")
		w.str("server", "https://"+h)
		caps := []string{"pull", "resolve", "push"}
		losses = append(losses, hostEntry(&w, "https://"+h, h, true, caps, certs,
			"daemon.json insecure-registries: docker first tried HTTPS without verifying the certificate")...)
		losses = append(losses, hostEntry(&w, "http://"+h, h, false, caps, nil,
			"daemon.json insecure-registries: then plain HTTP, as docker did")...)
		out = append(out, hostsFile{Host: h, generated: w.generated(),
			Reason: "carries daemon.json insecure-registries " + h + ": docker pulled from it without verifying TLS, or over plain HTTP"})
	}
	return out, losses
}

// hostEntry writes one [host."…"] table and references the certificates of
// certHost, because with a hosts.toml present containerd no longer scans the
// directory for them.
func hostEntry(w *tomlw, url, certHost string, skipVerify bool, caps []string, certs []CertDir, why string) []Loss {
	w.table("host." + tomlString(url))
	w.why("", url, why)
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
	why := "the certificates copied from " + path.Join(DockerCertsDir, path.Base(dir)) +
		": with a hosts.toml present containerd no longer finds them in the directory by itself"
	if len(cas) > 0 {
		w.strs("ca", cas)
		w.why("ca", strings.Join(cas, ","), why)
	}
	if len(pairs) > 0 {
		w.b.WriteString("client = [" + strings.Join(pairs, ", ") + "]\n")
		w.why("client", strings.Join(pairs, ","), why)
	}
}
