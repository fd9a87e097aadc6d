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
	Migrate  *MigrateOptions
	KeepData bool
}

// NewCmdCleanup builds `kubectl crimig cleanup`.
func NewCmdCleanup(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CleanupOptions{Migrate: NewMigrateOptions(streams)}
	o.Migrate.noTerminal = "clean up without confirmation: stdin is not a terminal; review 'kubectl crimig status' and pass --yes"
	cmd := &cobra.Command{
		Use:               "cleanup NODE...",
		Short:             "Remove docker and its data from migrated nodes",
		Long:              cleanupLong,
		Example:           cleanupExample,
		ValidArgsFunction: nodeNameCompletion(f),
		RunE:              o.action().runE(f, o.Migrate),
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.Migrate.Yes, "yes", "y", false, "Do not ask for confirmation. Required when stdin is not a terminal.")
	fs.BoolVar(&o.KeepData, "keep-data", false, "Keep /var/lib/docker; remove only the packages.")
	fs.StringVarP(&o.Migrate.Output, "output", "o", "", "Output: empty for progress lines on stderr, json for events as JSON lines on stdout.")
	o.Migrate.Plan.Exec.AddFlags(fs)
	return cmd
}

// action is built before the flags are parsed: read them in the closures.
func (o *CleanupOptions) action() nodeAction {
	return nodeAction{
		access: "cleanup",
		noNode: "name the node to clean up: kubectl crimig cleanup NODE",
		prompt: func(node string) string {
			what := "the docker packages and /var/lib/docker"
			if o.KeepData {
				what = "the docker packages"
			}
			return fmt.Sprintf("Remove %s from %s? Rollback is impossible afterwards. [y/N] ", what, node)
		},
		act: func(ctx context.Context, e *migrate.Engine, node string) error {
			_, err := e.Cleanup(ctx, node, !o.KeepData)
			return err
		},
	}
}
