package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// nodeAction is a command that acts on named nodes one at a time through
// the migrate engine, asking first unless --yes: rollback and cleanup.
type nodeAction struct {
	// access names the command's needs in access.go.
	access string
	// noNode is the error when no node is named.
	noNode string
	prompt func(node string) string
	act    func(ctx context.Context, e *migrate.Engine, node string) error
}

// runE completes and validates m, then runs a on the named nodes.
func (a nodeAction) runE(f cmdutil.Factory, m *MigrateOptions) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return errors.New(a.noNode)
		}
		if err := m.Plan.Complete(f, args); err != nil {
			return err
		}
		if err := m.Validate(); err != nil {
			return err
		}
		return a.run(cmd.Context(), m)
	}
}

func (a nodeAction) run(ctx context.Context, m *MigrateOptions) error {
	if err := m.Plan.checkAccess(ctx, a.access); err != nil {
		return err
	}
	ex, err := newExecutor(ctx, m.Plan.restConfig, m.Plan.client, m.Plan.Exec, m.ErrOut)
	if err != nil {
		return err
	}
	defer closeExecutor(ex, m.ErrOut)
	engine := m.engine(ex)
	for _, node := range m.Plan.Nodes {
		if !m.Yes && !askYes(m.IOStreams, a.prompt(node)) {
			fmt.Fprintln(m.ErrOut, "Nothing was changed.")
			return nil
		}
		if err := a.act(ctx, engine, node); err != nil {
			return err
		}
	}
	return nil
}
