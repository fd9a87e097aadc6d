package hostscripts

import (
	"encoding/json"
	"fmt"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
)

// HostFacts is what facts.sh reports about one host. Optional values are
// pointers or empty strings when the host does not have them.
type HostFacts struct {
	OS             OSRelease    `json:"os"`
	PackageManager string       `json:"packageManager,omitempty"` // yum, dnf or apt
	Systemd        bool         `json:"systemd"`                  // systemd is PID 1
	Docker         DockerFacts  `json:"docker"`
	Kubelet        KubeletFacts `json:"kubelet"`
	Cgroup         CgroupFacts  `json:"cgroup"`
	Kernel         KernelFacts  `json:"kernel"`
	Disk           DiskFacts    `json:"disk"`
	DockerCallers  []FileLine   `json:"dockerCallers"`
	Runtimes       RuntimeFacts `json:"runtimes"`
}

// OSRelease holds the os-release fields crimig uses.
type OSRelease struct {
	ID         string `json:"id,omitempty"`
	VersionID  string `json:"versionId,omitempty"`
	PrettyName string `json:"prettyName,omitempty"`
}

// DockerFacts describes the docker engine on the host.
type DockerFacts struct {
	Installed bool   `json:"installed"`
	Version   string `json:"version,omitempty"`
	// Active is the output of "systemctl is-active docker", for example "active".
	Active       string `json:"active,omitempty"`
	CgroupDriver string `json:"cgroupDriver,omitempty"`
	// DaemonJSON is /etc/docker/daemon.json verbatim; nil when the file is missing.
	DaemonJSON *string `json:"daemonJson"`
	// Registries are the registry names from /root/.docker/config.json
	// ("auths" and "credHelpers" keys). Credentials are never collected.
	Registries            []string `json:"registries"`
	DataRootSeparateMount bool     `json:"dataRootSeparateMount"`
	// MissingRuntimePaths are daemon.json runtime binaries absent on the host.
	MissingRuntimePaths []string `json:"missingRuntimePaths"`
	// CertDirs are the directories of /etc/docker/certs.d with their file
	// names; the files' content is never collected.
	CertDirs []hostconf.CertDir `json:"certDirs"`
	// RootDir is the running docker's DockerRootDir (its data-root), and
	// RootDirExists whether that directory exists.
	RootDir       string `json:"rootDir,omitempty"`
	RootDirExists bool   `json:"rootDirExists"`
	// SiblingStorage is what <parent of RootDir>/containers/storage, where
	// CRI-O's storage follows a moved data-root, holds: absent, empty,
	// containers-storage or other.
	SiblingStorage string `json:"siblingStorage,omitempty"`
	// CriDockerdPauseImage is the --pod-infra-container-image that
	// cri-docker.service (its ExecStart, drop-ins and environment) gives
	// cri-dockerd: the pause image pods run with on a cri-dockerd node.
	CriDockerdPauseImage string `json:"criDockerdPauseImage,omitempty"`
}

// KubeletFacts describes how the kubelet is started and configured.
type KubeletFacts struct {
	// Cmdline is the running kubelet's argv; nil when no kubelet was found.
	Cmdline []string `json:"cmdline"`
	// CmdlineSource is the file the command line was read from.
	CmdlineSource string `json:"cmdlineSource,omitempty"`
	// FlagsFiles maps each kubelet flags file that exists to its content.
	FlagsFiles map[string]string `json:"flagsFiles"`
	// ConfigYAML is /var/lib/kubelet/config.yaml verbatim; nil when missing.
	ConfigYAML *string `json:"configYaml"`
}

// CgroupFacts describes the cgroup setup.
type CgroupFacts struct {
	Version       int    `json:"version"` // 1 or 2; 0 when unknown
	Hybrid        bool   `json:"hybrid"`  // v1 with the unified hierarchy also mounted
	KubeletDriver string `json:"kubeletDriver,omitempty"`
}

// KernelFacts holds the modules and sysctls a CRI runtime needs.
type KernelFacts struct {
	Modules map[string]bool `json:"modules"`
	// Sysctls maps a sysctl name to its value; nil when it does not exist.
	Sysctls map[string]*string `json:"sysctls"`
}

// DiskFacts holds the free space crimig needs for backups and images.
type DiskFacts struct {
	VarLibFreeBytes           *int64 `json:"varLibFreeBytes"`
	VarLibDockerSeparateMount bool   `json:"varLibDockerSeparateMount"`
}

// FileLine points at one line of a host file.
type FileLine struct {
	Path string `json:"path"`
	Line int    `json:"line"`
}

// RuntimeFacts tells which container runtimes are already installed. Crun,
// Runc and Conmon are where an installed CRI-O finds them: its own in
// /usr/libexec/crio first, else on $PATH.
type RuntimeFacts struct {
	Crio       Binary `json:"crio"`
	Containerd Binary `json:"containerd"`
	Podman     Binary `json:"podman"`
	Crun       Binary `json:"crun"`
	Runc       Binary `json:"runc"`
	Conmon     Binary `json:"conmon"`
	CriDockerd Binary `json:"criDockerd"`
}

// Binary is an installed program and the version it reports.
type Binary struct {
	Installed bool   `json:"installed"`
	Path      string `json:"path,omitempty"`
	Version   string `json:"version,omitempty"`
}

// ParseFacts decodes the output of facts.sh.
func ParseFacts(out []byte) (*HostFacts, error) {
	var f HostFacts
	if err := json.Unmarshal(out, &f); err != nil {
		return nil, fmt.Errorf("decoding host facts (facts.sh output is not valid JSON; rerun with -v to see it): %w", err)
	}
	return &f, nil
}
