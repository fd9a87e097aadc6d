package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/i18n"
	"k8s.io/kubectl/pkg/util/templates"
)

var cleanupLong = templates.LongDesc(i18n.T(`
	Remove docker from nodes whose migration finished: the docker packages
	(and cri-dockerd), and /var/lib/docker unless --keep-data.

	migrate only stops, disables and masks docker so that rollback stays
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
	cmd := &cobra.Command{
		Use:               "cleanup NODE...",
		Short:             "Remove docker and its data from migrated nodes",
		Long:              cleanupLong,
		Example:           cleanupExample,
		ValidArgsFunction: nodeNameCompletion(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("name the node to clean up: kubectl crimig cleanup NODE")
			}
			if err := o.Migrate.Plan.Complete(f, args); err != nil {
				return err
			}
			if err := o.Migrate.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.Migrate.Yes, "yes", "y", false, "Do not ask for confirmation. Required when stdin is not a terminal.")
	fs.BoolVar(&o.KeepData, "keep-data", false, "Keep /var/lib/docker; remove only the packages.")
	fs.StringVarP(&o.Migrate.Output, "output", "o", "", "Output: empty for progress lines on stderr, json for events as JSON lines on stdout.")
	o.Migrate.Plan.Exec.AddFlags(fs)
	return cmd
}

// Run cleans the nodes up one after the other.
func (o *CleanupOptions) Run(ctx context.Context) error {
	m := o.Migrate
	if err := m.Plan.checkAccess(ctx, "cleanup"); err != nil {
		return err
	}
	ex, err := newExecutor(ctx, m.Plan.restConfig, m.Plan.client, m.Plan.Exec, m.ErrOut)
	if err != nil {
		return err
	}
	defer closeExecutor(ex, m.ErrOut)
	engine := m.engine(ex)
	for _, node := range m.Plan.Nodes {
		what := "the docker packages and /var/lib/docker"
		if o.KeepData {
			what = "the docker packages"
		}
		if !m.Yes && !askYes(m.IOStreams, fmt.Sprintf("Remove %s from %s? Rollback is impossible afterwards. [y/N] ", what, node)) {
			fmt.Fprintln(m.ErrOut, "Nothing was changed.")
			return nil
		}
		if _, err := engine.Cleanup(ctx, node, !o.KeepData); err != nil {
			return err
		}
	}
	return nil
}
