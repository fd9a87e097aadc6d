package applets

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// dockerUp applies docker.socket activation for a CLI call.
func dockerUp(e *Env) bool {
	e.Host.Settle()
	if e.Host.IsActive("docker.service") {
		return true
	}
	return e.Host.SocketActivate("docker.service")
}

func docker(e *Env, args []string) int {
	m, _ := e.Host.Meta()
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-v") {
		e.out("Docker version %s, build 3056208", m.DockerVersion)
		return 0
	}
	if !dockerUp(e) {
		e.errf("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
		return 1
	}
	if code, ok := dockerImageCmd(e, args); ok {
		return code
	}
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	info := dockerInfo(e)
	format := ""
	for i, a := range args {
		if (a == "--format" || a == "-f") && i+1 < len(args) {
			format = args[i+1]
		} else if strings.HasPrefix(a, "--format=") {
			format = strings.TrimPrefix(a, "--format=")
		}
	}
	switch sub {
	case "version", "info":
		data := info
		if sub == "version" {
			data = map[string]any{
				"Client": map[string]any{"Version": m.DockerVersion, "APIVersion": "1.41"},
				"Server": map[string]any{"Version": m.DockerVersion, "APIVersion": "1.41", "KernelVersion": m.KernelVersion},
			}
		}
		if format != "" {
			tmpl, err := template.New("f").Option("missingkey=zero").Parse(format)
			if err != nil {
				e.errf("template parsing error: %v", err)
				return 1
			}
			if err := tmpl.Execute(e.Stdout, data); err != nil {
				e.errf("template: %v", err)
				return 1
			}
			fmt.Fprintln(e.Stdout)
			return 0
		}
		if sub == "version" {
			e.out("Client: Docker Engine - Community\n Version:           %s\n\nServer: Docker Engine - Community\n Engine:\n  Version:          %s\n containerd:\n  Version:          %s", m.DockerVersion, m.DockerVersion, m.ContainerdVersion)
			return 0
		}
		e.out("Server:\n Server Version: %s\n Storage Driver: overlay2\n Logging Driver: %s\n Cgroup Driver: %s\n Cgroup Version: %d\n Kernel Version: %s\n Operating System: %s\n Docker Root Dir: %s\n Live Restore Enabled: false",
			m.DockerVersion, info["LoggingDriver"], info["CgroupDriver"], m.CgroupVersion, m.KernelVersion, m.OSImage, info["DockerRootDir"])
	case "ps":
		if !quietFlag(args) {
			e.out("CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES")
		}
	case "images":
		if !quietFlag(args) {
			e.out("REPOSITORY   TAG       IMAGE ID   CREATED   SIZE")
		}
	default:
		// docker system prune, docker rm ... succeed quietly.
	}
	return 0
}

// dockerInfo is what `docker info --format` sees.
func dockerInfo(e *Env) map[string]any {
	m, _ := e.Host.Meta()
	var cfg struct {
		DataRoot  string `json:"data-root"`
		LogDriver string `json:"log-driver"`
	}
	_ = json.Unmarshal([]byte(e.Host.Read("/etc/docker/daemon.json")), &cfg)
	if cfg.DataRoot == "" {
		cfg.DataRoot = "/var/lib/docker"
	}
	if cfg.LogDriver == "" {
		cfg.LogDriver = "json-file"
	}
	return map[string]any{
		"ServerVersion": m.DockerVersion, "Driver": "overlay2", "LoggingDriver": cfg.LogDriver,
		"CgroupDriver": e.Host.DockerCgroupDriver(), "CgroupVersion": fmt.Sprint(m.CgroupVersion),
		"KernelVersion": m.KernelVersion, "OperatingSystem": m.OSImage, "OSType": "linux",
		"Architecture": "x86_64", "DockerRootDir": cfg.DataRoot, "LiveRestoreEnabled": false,
		"Name": e.Host.Read("/etc/hostname"),
	}
}

func crio(e *Env, args []string) int {
	v := os.Getenv("CRIMIG_SIM_BUNDLE_VERSION")
	if v == "" {
		v = e.Host.CrioVersion()
	}
	sub := strings.Join(args, " ")
	switch {
	case sub == "--version" || sub == "-v" || sub == "version":
		e.out("crio version %s", v)
		if sub == "version" {
			e.out("Version:        %s\nGitTreeState:   clean\nGoVersion:      go1.22.5", v)
		}
	case strings.HasPrefix(sub, "config"):
		e.out("[crio]\n[crio.runtime]\ncgroup_manager = \"systemd\"\ndefault_runtime = \"crun\"\n[crio.image]\npause_image = \"registry.k8s.io/pause:3.9\"")
	case strings.HasPrefix(sub, "status"):
		if !e.Host.IsActive("crio.service") {
			e.errf("connect: connect endpoint 'unix:///var/run/crio/crio.sock', make sure you are running as root and the runtime has been started: no such file or directory")
			return 1
		}
		e.out("cgroup driver: systemd")
	default:
		e.errf("crio: the daemon runs as crio.service in the simulator")
		return 1
	}
	return 0
}

func crictl(e *Env, args []string) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-v") {
		e.out("crictl version v%s", e.Host.PkgVersion("cri-tools"))
		return 0
	}
	ep := ""
	for i, a := range args {
		if (a == "-r" || a == "--runtime-endpoint") && i+1 < len(args) {
			ep = args[i+1]
		} else if strings.HasPrefix(a, "--runtime-endpoint=") {
			ep = strings.TrimPrefix(a, "--runtime-endpoint=")
		}
	}
	if ep == "" {
		for _, l := range strings.Split(e.Host.Read("/etc/crictl.yaml"), "\n") {
			if strings.HasPrefix(l, "runtime-endpoint:") {
				ep = strings.TrimSpace(strings.TrimPrefix(l, "runtime-endpoint:"))
			}
		}
	}
	if ep == "" {
		// crictl without a config tries its default endpoints in order.
		e.errf(`WARN[0000] runtime connect using default endpoints: [unix:///run/containerd/containerd.sock unix:///run/crio/crio.sock unix:///var/run/cri-dockerd.sock]. As the default settings are now deprecated, you should set the endpoint instead.`)
		for _, c := range []string{host.ContainerdSocket, host.CrioSocket, host.CriDockerdSocket} {
			if criUp(e, c) {
				ep = "unix://" + c
				break
			}
		}
	}
	unit := map[string]string{host.CrioSocket: "crio.service", host.ContainerdSocket: "containerd.service", host.CriDockerdSocket: "cri-docker.service"}[host.NormEndpoint(ep)]
	if unit == "" || !criUp(e, host.NormEndpoint(ep)) {
		e.errf("validate service connection: validate CRI v1 runtime API for endpoint %q: rpc error: code = Unavailable desc = connection error", ep)
		return 1
	}
	rt := map[string]string{"crio.service": "crio", "containerd.service": "containerd", "cri-docker.service": "docker"}[unit]
	rv := e.Host.RuntimeVersion(rt)
	name, ver, _ := strings.Cut(rv, "://")
	switch first(args) {
	case "version":
		e.out("Version:  0.1.0\nRuntimeName:  %s\nRuntimeVersion:  %s\nRuntimeApiVersion:  v1", name, ver)
	case "info":
		e.out("{\n  \"status\": {\n    \"conditions\": [\n      {\"type\": \"RuntimeReady\", \"status\": true},\n      {\"type\": \"NetworkReady\", \"status\": true}\n    ]\n  }\n}")
	case "images", "pull":
		return crictlImages(e, rt, args)
	case "ps", "pods":
		if !quietFlag(args) {
			e.out("CONTAINER           IMAGE               CREATED             STATE               NAME")
		}
	}
	return 0
}

// criUp reports whether a CRI endpoint answers.
func criUp(e *Env, sock string) bool {
	switch sock {
	case host.CrioSocket:
		return e.Host.IsActive("crio.service")
	case host.ContainerdSocket:
		return e.Host.IsActive("containerd.service") && e.Host.ContainerdCRIEnabled()
	case host.CriDockerdSocket:
		return e.Host.IsActive("cri-docker.service") && e.Host.IsActive("docker.service")
	}
	return false
}

func first(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

func podman(e *Env, args []string) int {
	root, args := podmanRoot(args)
	if code, ok := podmanImageCmd(e, root, args); ok {
		return code
	}
	v := e.Host.PkgVersion("podman")
	switch first(args) {
	case "":
		if len(args) > 0 && (args[0] == "--version" || args[0] == "-v") {
			e.out("podman version %s", v)
			return 0
		}
	case "version":
		e.out("Client:       Podman Engine\nVersion:      %s\nAPI Version:  %s", v, v)
	case "info":
		if err := e.Host.CheckRegistries(); err != nil {
			e.errf("Error: %s", err)
			return 125
		}
		e.out("host:\n  arch: amd64\n  cgroupManager: systemd\nstore:\n  graphRoot: /var/lib/containers/storage\nversion:\n  Version: %s", v)
	case "ps", "images":
		e.out("CONTAINER ID  IMAGE       COMMAND     CREATED     STATUS      PORTS       NAMES")
	}
	return 0
}

func containerd(e *Env, args []string) int {
	m, _ := e.Host.Meta()
	switch strings.Join(args, " ") {
	case "--version", "-v", "version":
		e.out("containerd containerd.io %s 1.6.33-1", m.ContainerdVersion)
	case "config default":
		e.out("%s", host.ContainerdDefaultConfig)
	default:
		e.errf("containerd: the daemon runs as containerd.service in the simulator")
		return 1
	}
	return 0
}

func ctr(e *Env, args []string) int {
	m, _ := e.Host.Meta()
	if !e.Host.IsActive("containerd.service") {
		e.errf("ctr: failed to dial \"/run/containerd/containerd.sock\": connection error")
		return 1
	}
	if code, ok := ctrImageCmd(e, args); ok {
		return code
	}
	if first(args) == "version" {
		e.out("Client:\n  Version:  %s\n\nServer:\n  Version:  %s", m.ContainerdVersion, m.ContainerdVersion)
	}
	return 0
}

// quietFlag reports -q/--quiet (also inside combined flags such as -aq).
func quietFlag(args []string) bool {
	for _, a := range args {
		if a == "--quiet" || (strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "q")) {
			return true
		}
	}
	return false
}
