package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// nodeActionOptions are the flags and clients of the commands that act on
// named nodes one at a time through the migrate engine, asking first unless
// --yes: rollback and cleanup. Each command has its own Options around it.
type nodeActionOptions struct {
	Nodes  []string
	Yes    bool
	Output string
	Exec   *NodeExecFlags

	// command names the command in the permission check (access.go).
	command string
	// noNode is the error when no node is named; noTerminal names the
	// action, with its advice, when --yes is missing without a terminal.
	noNode, noTerminal string

	clusterClients
	isTerminal func() bool
	genericiooptions.IOStreams
}

func newNodeActionOptions(streams genericiooptions.IOStreams, command, noNode, noTerminal string) nodeActionOptions {
	return nodeActionOptions{
		Exec: NewNodeExecFlags(), command: command, noNode: noNode, noTerminal: noTerminal,
		isTerminal: func() bool { return isTerminal(streams.In) },
		IOStreams:  streams,
	}
}

// addFlags binds --yes, -o and the node pod flags.
func (o *nodeActionOptions) addFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.Yes, "yes", "y", false, "Do not ask for confirmation. Required when stdin is not a terminal.")
	fs.StringVarP(&o.Output, "output", "o", "", eventOutputHelp())
	o.Exec.AddFlags(fs)
}

// Complete takes the named nodes and resolves the clients: the same for
// rollback and cleanup, whose Options have it from here.
func (o *nodeActionOptions) Complete(f cmdutil.Factory, args []string) error {
	if len(args) == 0 {
		return errors.New(o.noNode)
	}
	o.Nodes = args
	return o.completeClients(f)
}

// validateFlags checks the shared flags without contacting the cluster.
func (o *nodeActionOptions) validateFlags() error {
	if err := o.Exec.Validate(); err != nil {
		return err
	}
	return newEventPrintFlags(&o.Output).Validate()
}

// validateConfirmation refuses to act without --yes when nobody can answer.
func (o *nodeActionOptions) validateConfirmation() error {
	if !o.Yes && !o.isTerminal() {
		return errors.New("refusing to " + o.noTerminal)
	}
	return nil
}

// run acts on each named node in turn, asking first unless --yes.
func (o *nodeActionOptions) run(ctx context.Context, opts migrate.Options, prompt func(node string) string,
	act func(ctx context.Context, e *migrate.Engine, node string) error) error {
	access := PlanOptions{Exec: o.Exec, clusterClients: o.clusterClients}
	if err := access.checkAccess(ctx, o.command); err != nil {
		return err
	}
	ex, err := newExecutor(ctx, o.restConfig, o.client, o.Exec, o.ErrOut)
	if err != nil {
		return err
	}
	defer closeExecutor(ex, o.ErrOut)
	engine := newEngine(o.client, ex, o.Exec, newEventPrinter(o.IOStreams, o.Output), opts)
	for _, node := range o.Nodes {
		if !o.Yes && !askYes(o.IOStreams, prompt(node)) {
			fmt.Fprintln(o.ErrOut, "Nothing was changed.")
			return nil
		}
		if err := act(ctx, engine, node); err != nil {
			return err
		}
	}
	return nil
}
