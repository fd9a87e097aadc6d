package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/i18n"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

var cleanupLong = templates.LongDesc(i18n.T(`
	Remove docker from nodes whose migration finished: the docker packages,
	cri-dockerd (its package, or its units, drop-ins and binary where it was
	installed by hand, /etc/systemd/system included), and /var/lib/docker
	unless --keep-data.

	docker's containerd is stopped and disabled, and its package removed,
	unless it is the node's runtime now or something else uses it: a unit
	that needs it, or containers or images outside docker's namespace. The
	containerd.io package also ships runc, so it stays on CRI-O nodes. Every
	item removed, and everything left with its reason, is printed.

	migrate only stops, disables and holds docker so that rollback stays
	possible. Run cleanup once the node has run well on its new runtime for a
	while: afterwards 'kubectl crimig rollback' is no longer possible.`))

var cleanupExample = templates.Examples(i18n.T(`
	# Remove docker and its data from node-1 after a successful migration
	kubectl crimig cleanup node-1

	# Remove the packages but keep /var/lib/docker
	kubectl crimig cleanup node-1 --keep-data --yes`))

// CleanupOptions holds the flags of `kubectl crimig cleanup`.
type CleanupOptions struct {
	nodeActionOptions
	KeepData bool
}

// NewCleanupOptions returns the defaults.
func NewCleanupOptions(streams genericiooptions.IOStreams) *CleanupOptions {
	return &CleanupOptions{nodeActionOptions: newNodeActionOptions(streams, "cleanup",
		"name the node to clean up: kubectl crimig cleanup NODE (see 'kubectl crimig status')",
		"clean up without confirmation: stdin is not a terminal; review 'kubectl crimig status' and pass --yes")}
}

// NewCmdCleanup builds `kubectl crimig cleanup`.
func NewCmdCleanup(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewCleanupOptions(streams)
	cmd := &cobra.Command{
		Use:               "cleanup NODE...",
		Short:             "Remove docker and its data from migrated nodes",
		Long:              cleanupLong,
		Example:           cleanupExample,
		ValidArgsFunction: nodeNameCompletion(f),
		RunE:              completeValidateRun(f, o),
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.KeepData, "keep-data", false, "Keep /var/lib/docker; remove only the packages.")
	o.addFlags(fs)
	return cmd
}

// Validate checks flag values without contacting the cluster.
func (o *CleanupOptions) Validate() error {
	if err := o.validateFlags(); err != nil {
		return err
	}
	return o.validateConfirmation()
}

// Run removes docker from the nodes one after the other, stopping at the
// first failure.
func (o *CleanupOptions) Run(ctx context.Context) error {
	what := "the docker packages and /var/lib/docker"
	if o.KeepData {
		what = "the docker packages"
	}
	prompt := func(node string) string {
		return fmt.Sprintf("Remove %s from %s? Rollback is impossible afterwards. [y/N] ", what, node)
	}
	return o.run(ctx, migrate.Options{}, prompt, func(ctx context.Context, e *migrate.Engine, node string) error {
		_, err := e.Cleanup(ctx, node, !o.KeepData)
		return err
	})
}
