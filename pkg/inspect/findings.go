package inspect

import "sort"

// Severity ranks a finding. Only blockers stop a migration.
type Severity string

// Severities, from the most to the least serious.
const (
	Blocker Severity = "blocker"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Rank orders severities: 0 for a blocker, the most serious, then up.
func (s Severity) Rank() int {
	switch s {
	case Blocker:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Finding is one thing the user must know before migrating. IDs are stable
// across releases so that `--accept CRIMIGxxx` and change records keep meaning.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Node is empty for cluster-wide findings.
	Node string `json:"node,omitempty"`
	// Subject is what the finding is about: a workload, a file, a PDB.
	Subject string `json:"subject"`
	// Nodes lists the nodes a workload finding concerns.
	Nodes   []string `json:"nodes,omitempty"`
	Message string   `json:"message"`
	Remedy  string   `json:"remedy,omitempty"`
}

// The catalogue. Severity is the default; a check may lower it when the
// situation is harmless (for example a short image name that the
// registries drop-in will qualify).
const (
	IDNotDocker           = "CRIMIG001" // node does not run docker: skipped
	IDControlPlane        = "CRIMIG002" // control-plane node
	IDAlreadyCordoned     = "CRIMIG003" // cordoned before crimig
	IDNodeNotReady        = "CRIMIG004" // node is not Ready
	IDSingleControlPlane  = "CRIMIG005" // the only control-plane node
	IDDockerSocket        = "CRIMIG010" // workload mounts docker.sock / dockershim.sock
	IDRunMount            = "CRIMIG011" // workload mounts /var/run or /run
	IDDockerDataMount     = "CRIMIG012" // workload mounts /var/lib/docker
	IDDockerHost          = "CRIMIG013" // workload sets DOCKER_HOST
	IDShortImageName      = "CRIMIG014" // short image names
	IDBadImageRef         = "CRIMIG015" // image reference that is no reference (starts with '-'): not carried
	IDLogAgentDockerJSON  = "CRIMIG020" // log agent parses docker JSON
	IDLogAgent            = "CRIMIG021" // log agent found, format unknown
	IDPDBZero             = "CRIMIG030" // PDB allows no disruption
	IDBarePod             = "CRIMIG031" // pod with no controller
	IDEmptyDir            = "CRIMIG032" // emptyDir data lost on drain
	IDCapacity            = "CRIMIG033" // other nodes lack capacity
	IDPDBRecovering       = "CRIMIG034" // PDB at 0 until its pods are healthy again
	IDKubeletConfigMap    = "CRIMIG040" // kubelet-config ConfigMap edits
	IDKubeletConfigCM404  = "CRIMIG041" // no kubelet-config ConfigMap
	IDHostUnreachable     = "CRIMIG050" // host facts could not be read
	IDDaemonJSONLoss      = "CRIMIG051" // daemon.json setting that cannot be carried over
	IDDockerCallers       = "CRIMIG052" // scripts, cron jobs and units that call docker
	IDCgroupDriver        = "CRIMIG053" // cgroup driver
	IDDiskSpace           = "CRIMIG054" // free space under /var/lib
	IDCrunTooOld          = "CRIMIG055" // crun too old or not verifiable for CRI-O: runc is made the default
	IDDockerDataMountFS   = "CRIMIG056" // /var/lib/docker is a separate mount
	IDTargetInstalled     = "CRIMIG057" // target runtime already installed
	IDNoSystemd           = "CRIMIG058" // no systemd
	IDKernelSettings      = "CRIMIG059" // modules or sysctls to set
	IDRegistryAuth        = "CRIMIG060" // registry credentials to move host-side
	IDTranslateFailed     = "CRIMIG061" // host config could not be translated
	IDKubeletFlagsRemoved = "CRIMIG062" // kubelet flags that will be removed
	IDSourceUnreachable   = "CRIMIG063" // the package source cannot be reached
	IDPauseImage          = "CRIMIG064" // the pause image comes from cri-dockerd's unit
	IDFloatingImage       = "CRIMIG070" // exec pod image is a floating tag
)

// Summary counts findings by severity.
type Summary struct {
	Blockers int `json:"blockers"`
	Warnings int `json:"warnings"`
	Infos    int `json:"infos"`
}

func summarize(fs []Finding) Summary {
	var s Summary
	for _, f := range fs {
		s.add(f.Severity)
	}
	return s
}

func (s *Summary) add(sev Severity) {
	switch sev {
	case Blocker:
		s.Blockers++
	case Warning:
		s.Warnings++
	default:
		s.Infos++
	}
}

// sortFindings orders findings by severity, then ID, node and subject, so
// output is stable run to run.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() < b.Severity.Rank()
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		return a.Subject < b.Subject
	})
}
