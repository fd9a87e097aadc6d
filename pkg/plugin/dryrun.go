package plugin

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// dryRun prints, per node, what migrate would do, and proves with a
// server-side dry-run that the API server would accept the cordon. Nothing
// changes: the only object created is the short-lived pod that reads the
// host facts.
func (o *MigrateOptions) dryRun(ctx context.Context) error {
	accepted := map[string]bool{}
	for _, id := range o.Accept {
		accepted[id] = true
	}
	if err := o.selectNodes(ctx); err != nil {
		return err
	}
	blocked := 0
	for _, node := range o.Plan.Nodes {
		po := *o.Plan
		po.Nodes = []string{node}
		plan, err := po.Build(ctx)
		if err != nil {
			return err
		}
		if err := printPlanTable(o.Out, plan, false); err != nil {
			return err
		}
		if err := o.dryRunCordon(ctx, node); err != nil {
			return err
		}
		if b := plan.BlockersFor(node, accepted); len(b) > 0 {
			blocked++
			fmt.Fprintf(o.Out, "%s: migrate would stop at the preflight on %d unaccepted blocker(s).\n", node, len(b))
		}
	}
	fmt.Fprintln(o.Out, "\nDry run: nothing was changed on the cluster or on the hosts.")
	if blocked > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("%d node(s) have unaccepted blockers", blocked)}
	}
	return nil
}

func (o *MigrateOptions) dryRunCordon(ctx context.Context, node string) error {
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	_, err := o.Plan.client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return fmt.Errorf("the API server would refuse to cordon %s (server-side dry run): %w", node, err)
	}
	fmt.Fprintf(o.Out, "%s: the API server accepts the cordon (server-side dry run); steps %s … %s as listed above.\n",
		node, inspect.StepLock, inspect.StepUncordon)
	return nil
}
