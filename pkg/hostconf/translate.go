package hostconf

import (
	"fmt"
)

// Target is the runtime a node moves to.
type Target string

// Supported targets.
const (
	TargetCRIO       Target = "cri-o"
	TargetContainerd Target = "containerd"
)

// Endpoint returns the CRI endpoint of the target runtime.
func (t Target) Endpoint() (string, error) {
	switch t {
	case TargetCRIO:
		return CrioEndpoint, nil
	case TargetContainerd:
		return ContainerdEndpoint, nil
	}
	return "", fmt.Errorf("unknown target runtime %q: want cri-o or containerd", t)
}

// Options are facts and choices the caller established on the host.
type Options struct {
	PauseImage     string // wins over --pod-infra-container-image and the default
	PauseImageFrom string // where PauseImage was read, for the plan's reason
	// KeepCrun: CRI-O's default runtime, crun, was verified new enough for
	// the CRI-O that will run. Otherwise the drop-in makes runc, the runtime
	// docker ran every container with, the default (design 7b).
	KeepCrun bool
	// CRIO is where the CRI-O that will run keeps conmon and runc; the zero
	// value means where CRI-O's packages and its bundle install them.
	CRIO            CRIOPaths
	DataRootCheckOK bool   // the new runtime's storage may follow daemon.json data-root
	DataRootWhy     string // why it may not, for the plan; when DataRootCheckOK is false
	CgroupV2        bool   // host runs the unified hierarchy; picks docker's default driver
	CgroupDriver    string // force "systemd" or "cgroupfs"; "" keeps docker's driver
	ConmonPath      string // CRI-O: explicit conmon path for old packages (seed step 5)
	// MissingRuntimePaths are runtime binaries absent on the host; their
	// handlers are left out (CRI-O refuses to start with them) and reported.
	MissingRuntimePaths []string
}

// Input is everything Translate needs about one node, read by the caller.
type Input struct {
	DaemonJSON     []byte
	FlagsFiles     map[string][]byte // existing kubelet flags files, path → content
	KubeletConfig  []byte            // /var/lib/kubelet/config.yaml
	KubeletVersion string
	Target         Target
	TargetVersion  string
	CertDirs       []CertDir
	// Existing holds the current content of files Translate may generate
	// (drop-ins, config.toml, hosts.toml, instance-config.yaml), so that
	// their Before and Diff are right; absent means the file is new.
	Existing map[string][]byte
	Options  Options
}

// Output is the complete per-node change. Files are in the order they
// should be written: runtime configuration first, kubelet last.
type Output struct {
	Files              []File   `json:"files"`
	Copies             []CopyOp `json:"copies,omitempty"`
	Losses             []Loss   `json:"losses,omitempty"`
	KubeletLogMax      *LogMax  `json:"kubeletLogMax,omitempty"`
	RuntimeEndpoint    string   `json:"runtimeEndpoint"`
	CRISocket          string   `json:"criSocket"`
	NodeLocalCRISocket bool     `json:"nodeLocalCRISocket"`
	CgroupDriver       string   `json:"cgroupDriver"`
	PauseImage         string   `json:"pauseImage"`
	// ImageStoreRoot is CRI-O's storage root when it is not the default
	// (docker's data-root was moved): podman must load carried images there.
	ImageStoreRoot    string   `json:"imageStoreRoot,omitempty"`
	EndpointFlagsFile string   `json:"endpointFlagsFile,omitempty"`
	RemovedFlags      []string `json:"removedFlags,omitempty"`
}

// Translate computes every file change for one node. It performs no I/O.
func Translate(in Input) (Output, error) {
	endpoint, err := in.Target.Endpoint()
	if err != nil {
		return Output{}, err
	}
	minor, err := kubeletMinor(in.KubeletVersion)
	if err != nil {
		return Output{}, err
	}
	dc, err := ParseDaemonJSON(in.DaemonJSON)
	if err != nil {
		return Output{}, err
	}
	pruned := dropMissingRuntimes(dc, in.Options.MissingRuntimePaths)
	flags, err := EditKubeletFlags(in.FlagsFiles, in.KubeletVersion, endpoint)
	if err != nil {
		return Output{}, err
	}
	kc, err := decodeKubeletConfig(in.KubeletConfig)
	if err != nil {
		return Output{}, fmt.Errorf("%s: %w", KubeletConfigPath, err)
	}
	out := Output{RuntimeEndpoint: endpoint, EndpointFlagsFile: flags.EndpointFile, RemovedFlags: flags.Removed}
	s, losses, err := resolveSettings(in, dc, flags, kc.CgroupDriver)
	if err != nil {
		return Output{}, err
	}
	losses = append(losses, pruned...)
	out.CgroupDriver, out.PauseImage, out.Losses = s.CgroupDriver, s.PauseImage, losses
	if in.Target == TargetCRIO {
		out.ImageStoreRoot = crioRoot(s)
	}
	out.addRuntimeFiles(in, dc, s)
	out.Files = append(out.Files, flags.Files...)
	if err := out.addKubeletFiles(in, dc, s, minor); err != nil {
		return Output{}, err
	}
	if out.CRISocket, err = CRISocket(in.KubeletVersion, endpoint); err != nil {
		return Output{}, err
	}
	sortLosses(out.Losses)
	return out, nil
}

// dropMissingRuntimes removes daemon.json runtimes whose binary the host
// lacks: docker only failed when such a runtime was used, CRI-O refuses to
// start at all.
func dropMissingRuntimes(dc *DaemonConfig, missing []string) []Loss {
	var losses []Loss
	for _, name := range sortedKeys(dc.Runtimes) {
		p, _ := runtimeBinary(name, dc.Runtimes[name])
		for _, m := range missing {
			if p == m {
				delete(dc.Runtimes, name)
				losses = append(losses, newLoss(LossWarning, "runtimes."+name, p,
					"the runtime's binary is not on the host; the new runtime would refuse to start with it, so it is left out",
					"install "+p+" and add the handler later, or remove it from daemon.json"))
			}
		}
	}
	return losses
}
