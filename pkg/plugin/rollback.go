package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	nodeActionOptions
	Drain       migrate.DrainOptions
	SwapTimeout time.Duration
}

// NewRollbackOptions returns the defaults.
func NewRollbackOptions(streams genericiooptions.IOStreams) *RollbackOptions {
	return &RollbackOptions{
		nodeActionOptions: newNodeActionOptions(streams, "rollback",
			"name the node to roll back: kubectl crimig rollback NODE (see 'kubectl crimig status')",
			"roll back without confirmation: stdin is not a terminal; pass --yes"),
		Drain:       migrate.DrainOptions{Timeout: 10 * time.Minute, IgnoreDaemonSets: true},
		SwapTimeout: migrate.DefaultSwapTimeout,
	}
}

// NewCmdRollback builds `kubectl crimig rollback`.
func NewCmdRollback(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewRollbackOptions(streams)
	cmd := &cobra.Command{
		Use:               "rollback NODE...",
		Short:             "Return nodes to Docker from the backups taken by migrate",
		Long:              rollbackLong,
		Example:           rollbackExample,
		ValidArgsFunction: nodeNameCompletion(f),
		RunE:              completeValidateRun(f, o),
	}
	fs := cmd.Flags()
	fs.DurationVar(&o.SwapTimeout, "swap-timeout", o.SwapTimeout, "How long to wait for the node to come back on docker.")
	fs.DurationVar(&o.Drain.Timeout, "timeout", o.Drain.Timeout, "How long the drain may take; 0 waits forever (as kubectl drain).")
	fs.BoolVar(&o.Drain.DeleteEmptyDir, "delete-emptydir-data", false, "Drain pods with emptyDir volumes; their data is lost (as kubectl drain).")
	fs.BoolVar(&o.Drain.Force, "force", false, "Drain pods without a controller; they are not recreated (as kubectl drain).")
	o.addFlags(fs)
	return cmd
}

// Validate checks flag values without contacting the cluster.
func (o *RollbackOptions) Validate() error {
	if err := o.validateFlags(); err != nil {
		return err
	}
	if o.SwapTimeout < time.Minute {
		return fmt.Errorf("--swap-timeout must be at least 1m, the time a node needs to restart docker and the kubelet; got %s", o.SwapTimeout)
	}
	return o.validateConfirmation()
}

// Run rolls the nodes back one after the other, stopping at the first failure.
func (o *RollbackOptions) Run(ctx context.Context) error {
	opts := migrate.Options{Drain: o.Drain, SwapTimeout: o.SwapTimeout}
	prompt := func(node string) string { return fmt.Sprintf("Roll %s back to docker now? [y/N] ", node) }
	return o.run(ctx, opts, prompt, func(ctx context.Context, e *migrate.Engine, node string) error {
		err := e.Rollback(ctx, node)
		var locked *migrate.LockedError
		if err == nil || errors.As(err, &locked) || ctx.Err() == nil {
			return err
		}
		return fmt.Errorf("interrupted while rolling back %s; run the same command again to finish", node)
	})
}
