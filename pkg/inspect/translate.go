package inspect

import (
	"fmt"
	"path"
	"strings"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

// dataRootCheck tells whether the new runtime's storage may follow a
// data-root that moved docker's data off /var/lib (to the disk sized for
// images): CRI-O's root becomes <parent>/containers/storage. It may when
// the running docker uses that data-root (daemon.json was not changed
// since docker started), the directory exists, its parent is not /, and
// the storage directory is absent, empty or already containers-storage.
// containerd keeps its root: docker's own containerd already uses it, and
// the images crimig carries are imported through that daemon. When it may
// not, why says so for the plan.
func dataRootCheck(d hostscripts.DockerFacts, daemonJSON []byte, target hostconf.Target) (ok bool, why string) {
	dc, err := hostconf.ParseDaemonJSON(daemonJSON)
	if err != nil || hostconf.MovedDataRoot(dc.EffectiveDataRoot()) == "" {
		return false, "" // nothing moved, or the translation reports the error
	}
	root := path.Clean(dc.EffectiveDataRoot())
	switch {
	case target != hostconf.TargetCRIO:
		return false, "containerd keeps /var/lib/containerd, which docker's own containerd already uses"
	case d.RootDir == "":
		return false, "docker did not report its root directory (is it running?)"
	case path.Clean(d.RootDir) != root:
		return false, "the running docker uses " + d.RootDir + ", not daemon.json's " + root + " (restart docker or fix daemon.json)"
	case !d.RootDirExists:
		return false, root + " does not exist"
	case path.Dir(root) == "/":
		return false, "its parent is /, where crimig does not create containers/storage"
	}
	storage := hostconf.CRIORootBeside(root)
	switch d.SiblingStorage {
	case "absent", "empty", "containers-storage":
		return true, ""
	case "other":
		return false, storage + " holds other data"
	}
	return false, "what " + storage + " holds is unknown"
}

// addTranslation computes the files the node would get from its host facts.
func (np *NodePlan) addTranslation(r HostResult, target hostconf.Target) {
	if r.Err != nil || r.Facts == nil {
		return
	}
	f := r.Facts
	crio := crioRuntimeOf(f)
	in := hostconf.Input{
		FlagsFiles:     map[string][]byte{},
		KubeletVersion: np.KubeletVersion,
		Target:         target,
		TargetVersion:  np.TargetVersion,
		Options: hostconf.Options{
			PauseImage:          f.Docker.CriDockerdPauseImage,
			PauseImageFrom:      "cri-docker.service's --pod-infra-container-image",
			KeepCrun:            crio.keepCrun,
			CRIO:                crio.paths,
			CgroupV2:            f.Cgroup.Version == 2,
			MissingRuntimePaths: f.Docker.MissingRuntimePaths,
		},
		CertDirs: f.Docker.CertDirs,
	}
	if f.Docker.DaemonJSON != nil {
		in.DaemonJSON = []byte(*f.Docker.DaemonJSON)
	}
	in.Options.DataRootCheckOK, in.Options.DataRootWhy = dataRootCheck(f.Docker, in.DaemonJSON, target)
	for path, content := range f.Kubelet.FlagsFiles {
		in.FlagsFiles[path] = []byte(content)
	}
	if f.Kubelet.ConfigYAML != nil {
		in.KubeletConfig = []byte(*f.Kubelet.ConfigYAML)
	}
	out, err := hostconf.Translate(in)
	if err != nil {
		np.Findings = append(np.Findings, Finding{ID: IDTranslateFailed, Severity: Blocker, Node: np.Name,
			Subject: "host configuration", Message: "cannot translate the host's configuration: " + err.Error(),
			Remedy: "fix the file named above on the host, then re-run plan"})
		return
	}
	np.Changes = &out
	if len(out.RemovedFlags) > 0 {
		np.Findings = append(np.Findings, Finding{ID: IDKubeletFlagsRemoved, Severity: Info, Node: np.Name, Subject: "kubelet flags",
			Message: "removed from the kubelet's flags files: " + strings.Join(out.RemovedFlags, " "),
			Remedy:  "nothing to do: the runtime's configuration takes over (pause image, cgroup driver)"})
	}
	for _, f := range out.Files {
		np.Files = append(np.Files, PlanFile{Path: f.Path, Mode: fmt.Sprintf("%04o", f.Mode), New: f.Before == nil,
			Changed: f.Changed(), Reason: f.Reason, Edits: f.Edits, Content: string(f.Content), Diff: f.Diff})
	}
	np.Copies = out.Copies
	if p := f.Docker.CriDockerdPauseImage; p != "" {
		np.Findings = append(np.Findings, Finding{ID: IDPauseImage, Severity: Info, Node: np.Name, Subject: "pause image " + p,
			Message: "cri-docker.service runs pods with --pod-infra-container-image=" + p + "; the new runtime gets the same pause image",
			Remedy:  "nothing to do; on a node that cannot pull, --carry-images copies it from docker"})
	}
	for _, l := range out.Losses {
		sev := Info
		if l.Severity == hostconf.LossWarning {
			sev = Warning
		}
		subject := "daemon.json " + l.Key
		msg := l.Reason
		if l.Value != "" {
			msg = l.Key + "=" + l.Value + ": " + l.Reason
		}
		np.Findings = append(np.Findings, Finding{ID: IDDaemonJSONLoss, Severity: sev, Node: np.Name,
			Subject: subject, Message: msg, Remedy: l.Remedy})
	}
}

// PlanFile is a file as the plan shows it: text, not bytes, so that -o yaml
// reads as the file will. Reason and Edits say why, for a change review.
type PlanFile struct {
	Path    string          `json:"path"`
	Mode    string          `json:"mode"`
	New     bool            `json:"new"`
	Changed bool            `json:"changed"`
	Reason  string          `json:"reason"`
	Edits   []hostconf.Edit `json:"edits,omitempty"`
	Content string          `json:"content"`
	Diff    string          `json:"diff,omitempty"`
}
