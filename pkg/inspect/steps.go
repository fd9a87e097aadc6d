package inspect

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/redact"
)

// Step is one ordered action of a migration, as the plan shows it.
type Step struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Detached steps run in one host job that outlives the exec pod, because
	// that pod dies with docker.
	Detached bool `json:"detached,omitempty"`
}

// Step names, shared with the migrate engine and its journal.
const (
	StepLock          = "lock"
	StepPreflight     = "preflight"
	StepDrain         = "drain"
	StepBackup        = "backup"
	StepKernel        = "kernel"
	StepInstall       = "install"
	StepCarryImages   = "carry-images"
	StepConfigure     = "configure"
	StepSwap          = "swap"
	StepVerify        = "verify"
	StepSmoke         = "smoke-test"
	StepAnnotate      = "annotate"
	StepKubeletConfig = "kubelet-config"
	StepUncordon      = "uncordon"
)

// Steps lists what migrate does on the node, in order.
func Steps(np NodePlan, o Options) []Step {
	source := redact.Text(o.Source)
	if source == "" {
		source = "pkgs"
	}
	paths := make([]string, 0, len(np.Files))
	for _, f := range np.Files {
		if f.Changed {
			paths = append(paths, f.Path)
		}
	}
	files := "the translated configuration"
	if len(paths) > 0 {
		files = strings.Join(paths, ", ")
	}
	return []Step{
		{Name: StepLock, Description: "take the node's Lease and record crimig.io/state on the Node"},
		{Name: StepPreflight, Description: "re-run this plan for the node; stop on unaccepted blockers"},
		{Name: StepDrain, Description: "cordon, then evict pods respecting PodDisruptionBudgets"},
		{Name: StepBackup, Description: "copy every file crimig may touch to " + hostscripts.RunDir("<run-id>") + "/backup with checksums"},
		{Name: StepKernel, Description: "load overlay and br_netfilter, set forwarding sysctls, persist both"},
		{Name: StepInstall, Description: fmt.Sprintf("install %s %s from %s", o.Target, np.TargetVersion, source) + podmanNote(o.Target)},
		{Name: StepCarryImages, Description: carryNote(np)},
		{Name: StepConfigure, Description: "write " + files},
		{Name: StepSwap, Detached: true, Description: "stop kubelet; stop, disable and mask docker and its sockets; start " +
			string(o.Target) + "; start kubelet (restores the backups and docker on failure)"},
		{Name: StepVerify, Description: "wait for the Node to report " + string(o.Target) + " and Ready"},
		{Name: StepSmoke, Description: "run a pod pinned to the node: pull its image, read its logs, exec into it, and check that /var/log/pods holds CRI-format logs"},
		{Name: StepAnnotate, Description: "set the kubeadm cri-socket to " + criSocketNote(np)},
		{Name: StepKubeletConfig, Description: "apply the same non-runtime kubelet edits to kube-system's kubelet-config ConfigMap (cgroupDriver only once no docker node is left)"},
		{Name: StepUncordon, Description: "uncordon, if crimig cordoned the node"},
	}
}

func podmanNote(t hostconf.Target) string {
	if t == hostconf.TargetCRIO {
		return " (and podman, unless --no-podman)"
	}
	return ""
}

func carryNote(np NodePlan) string {
	what := "the pause image and the DaemonSet and static pods' images"
	if n := len(np.Images); n > 0 {
		what = fmt.Sprintf("the %d image(s) listed under images", n)
	}
	return "only with --carry-images: copy " + what + " (and crimig's own pod image) from docker into the new runtime's store, for nodes that cannot pull"
}

func criSocketNote(np NodePlan) string {
	if np.Changes != nil && np.Changes.CRISocket != "" {
		return np.Changes.CRISocket
	}
	return "the new runtime's socket"
}

// DefaultTargetVersion follows the kubelet: CRI-O minors track Kubernetes
// minors; containerd 2.x serves kubelets from 1.26 on, 1.7 the older ones.
func DefaultTargetVersion(t hostconf.Target, kubeletVersion string) string {
	minor, err := KubeletMinor(kubeletVersion)
	if err != nil {
		return ""
	}
	if t == hostconf.TargetContainerd {
		if minor >= 26 {
			return "2.1"
		}
		return "1.7"
	}
	return fmt.Sprintf("1.%d", minor)
}

// Release file names: CRI-O's static bundle cri-o.<arch>.v<version>.tar.gz,
// containerd's [cri-]containerd[-cni]-<version>-linux-<arch>.tar.gz.
var bundleNameRE = map[hostconf.Target]*regexp.Regexp{
	hostconf.TargetCRIO:       regexp.MustCompile(`^cri-o\.[a-z0-9_]+\.v(\d+\.\d+\.\d+)\.tar\.gz$`),
	hostconf.TargetContainerd: regexp.MustCompile(`^(?:cri-)?containerd(?:-cni)?-(\d+\.\d+\.\d+)-linux-[a-z0-9_]+\.tar\.gz$`),
}

// BundleVersion is the runtime version a --source bundle=FILE installs, read
// from the release's file name; "" for another source or a renamed file.
func BundleVersion(t hostconf.Target, source string) string {
	kind, file, _ := strings.Cut(source, "=")
	re := bundleNameRE[t]
	if kind != "bundle" || re == nil {
		return ""
	}
	if m := re.FindStringSubmatch(path.Base(file)); m != nil {
		return m[1]
	}
	return ""
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
