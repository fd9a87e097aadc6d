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

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

var rollbackLong = templates.LongDesc(i18n.T(`
	Return a node to Docker after a migration, or after one that stopped halfway.

	The node is cordoned and drained first, since its pods run on the new
	runtime. Then a detached host job stops the kubelet and the new runtime, restores every
	file from the backup taken by migrate (files crimig created are removed),
	lets docker start again and starts it, and starts the kubelet. The kubeadm cri-socket
	annotation is restored and the node is uncordoned if crimig cordoned it.
	The new runtime stays installed but disabled.`))

var rollbackExample = templates.Examples(i18n.T(`
	# Undo the migration of node-1
	kubectl crimig rollback node-1 --yes`))

// RollbackOptions holds the flags of `kubectl crimig rollback`.
type RollbackOptions struct {
	Migrate *MigrateOptions
}

// NewCmdRollback builds `kubectl crimig rollback`.
func NewCmdRollback(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RollbackOptions{Migrate: NewMigrateOptions(streams)}
	o.Migrate.noTerminal = "roll back without confirmation: stdin is not a terminal; pass --yes"
	cmd := &cobra.Command{
		Use:               "rollback NODE...",
		Short:             "Return nodes to Docker from the backups taken by migrate",
		Long:              rollbackLong,
		Example:           rollbackExample,
		ValidArgsFunction: nodeNameCompletion(f),
		RunE:              o.action().runE(f, o.Migrate),
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.Migrate.Yes, "yes", "y", false, "Do not ask for confirmation. Required when stdin is not a terminal.")
	fs.DurationVar(&o.Migrate.SwapTimeout, "swap-timeout", o.Migrate.SwapTimeout, "How long to wait for the node to come back on docker.")
	fs.DurationVar(&o.Migrate.Drain.Timeout, "timeout", o.Migrate.Drain.Timeout, "How long the drain may take; 0 waits forever (as kubectl drain).")
	fs.BoolVar(&o.Migrate.Drain.DeleteEmptyDir, "delete-emptydir-data", false, "Drain pods with emptyDir volumes; their data is lost (as kubectl drain).")
	fs.BoolVar(&o.Migrate.Drain.Force, "force", false, "Drain pods without a controller; they are not recreated (as kubectl drain).")
	fs.StringVarP(&o.Migrate.Output, "output", "o", "", "Output: empty for progress lines on stderr, json for events as JSON lines on stdout.")
	o.Migrate.Plan.Exec.AddFlags(fs)
	return cmd
}

func (o *RollbackOptions) action() nodeAction {
	return nodeAction{
		access: "rollback",
		noNode: "name the node to roll back: kubectl crimig rollback NODE",
		prompt: func(node string) string { return fmt.Sprintf("Roll %s back to docker now? [y/N] ", node) },
		act: func(ctx context.Context, e *migrate.Engine, node string) error {
			err := e.Rollback(ctx, node)
			var locked *migrate.LockedError
			if err == nil || errors.As(err, &locked) || ctx.Err() == nil {
				return err
			}
			return fmt.Errorf("interrupted while rolling back %s; run the same command again to finish", node)
		},
	}
}
