package plugin

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// EnvImage overrides the node pod image, for air-gapped registries.
const EnvImage = "CRIMIG_IMAGE"

// NodeExecFlags are the flags of every command that runs pods on nodes.
type NodeExecFlags struct {
	Image        string
	PullSecrets  []string
	PodNamespace string
	Parallel     int
	// events receives the executor's transport events.
	events *execEvents
}

// NewNodeExecFlags returns the defaults, with CRIMIG_IMAGE applied.
func NewNodeExecFlags() *NodeExecFlags {
	image := os.Getenv(EnvImage)
	if image == "" {
		image = nodeexec.DefaultImage
	}
	return &NodeExecFlags{Image: image, PodNamespace: nodeexec.DefaultNamespace, Parallel: nodeexec.DefaultParallel, events: &execEvents{}}
}

// AddFlags binds the flags.
func (f *NodeExecFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Image, "image", f.Image,
		"Image of the privileged node pods; it needs nsenter (busybox has it). Defaults to $"+EnvImage+" when set. Pin it by digest for production.")
	fs.StringSliceVar(&f.PullSecrets, "image-pull-secret", f.PullSecrets,
		"Image pull secret in --pod-namespace for --image (repeatable).")
	fs.StringVar(&f.PodNamespace, "pod-namespace", f.PodNamespace,
		"Namespace of the privileged node pods: one crimig created or an admin labelled app.kubernetes.io/managed-by=crimig, running no other pods; created with PodSecurity level privileged when missing.")
	fs.IntVar(&f.Parallel, "parallel", f.Parallel, "How many nodes to inspect at once.")
}

// Validate checks the values without contacting the cluster.
func (f *NodeExecFlags) Validate() error {
	if strings.TrimSpace(f.Image) == "" {
		return fmt.Errorf("--image must not be empty; use an image with nsenter, such as %s", nodeexec.DefaultImage)
	}
	if f.Parallel < 1 {
		return fmt.Errorf("--parallel must be at least 1, got %d", f.Parallel)
	}
	if f.PodNamespace == "" {
		return fmt.Errorf("--pod-namespace must not be empty")
	}
	return nil
}

// Options turns the flags into nodeexec options.
func (f *NodeExecFlags) Options() nodeexec.Options {
	return nodeexec.Options{Image: f.Image, PullSecrets: f.PullSecrets, Namespace: f.PodNamespace, Parallel: f.Parallel, OnEvent: f.events.on}
}
