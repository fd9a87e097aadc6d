package plugin

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// dryRun (--dry-run=client) prints, per node, what migrate would do, and
// proves with a server-side dry-run that the API server would accept the
// cordon. Nothing changes: the only object created is the short-lived pod
// that reads the host facts.
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

// serverDryRun (--dry-run=server) prints the cluster's plan for the nodes,
// then sends each kind of API write a migration of each node makes with
// DryRun=All (see migrate.Engine.ServerDryRun). The API server checks
// permissions and admission and stores nothing; no pod is created, so no
// host is read or touched.
func (o *MigrateOptions) serverDryRun(ctx context.Context) error {
	if err := o.selectNodes(ctx); err != nil {
		return err
	}
	po := *o.Plan
	po.NoHost = true
	plan, err := po.Build(ctx)
	if err != nil {
		return err
	}
	if err := printPlanTable(o.Out, plan, false); err != nil {
		return err
	}
	engine := &migrate.Engine{Client: o.Plan.client, LockNamespace: o.Plan.Exec.PodNamespace, Identity: identity("dry-run"), Options: o.engineOptions()}
	accepted := engine.Options.Accept
	sent, refused, blocked := 0, 0, 0
	for _, node := range o.Plan.Nodes {
		pod := nodeexec.BuildPod(nodeexec.PodSpecInput{Node: node, Image: o.Plan.Exec.Image, Namespace: o.Plan.Exec.PodNamespace, PullSecrets: o.Plan.Exec.PullSecrets})
		writes, err := engine.ServerDryRun(ctx, node, pod)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "\n%s: migrate's API writes, sent with DryRun=All:\n", node)
		for _, w := range writes {
			sent++
			switch {
			case w.Err != nil:
				refused++
				fmt.Fprintf(o.Out, "  refused   %s (%s): %v\n", w.Request, w.Why, w.Err)
			case w.Note != "":
				fmt.Fprintf(o.Out, "  accepted  %s (%s); %s\n", w.Request, w.Why, w.Note)
			default:
				fmt.Fprintf(o.Out, "  accepted  %s (%s)\n", w.Request, w.Why)
			}
		}
		if b := plan.BlockersFor(node, accepted); len(b) > 0 {
			blocked++
			fmt.Fprintf(o.Out, "%s: migrate would stop at the preflight on %d unaccepted blocker(s) (host checks not included).\n", node, len(b))
		}
	}
	fmt.Fprintf(o.Out, "\nServer dry run: the API server checked %d write(s) and stored none; no pod was created and no host was touched.\n", sent)
	if refused > 0 {
		return fmt.Errorf("the API server refused %d of %d write(s) in the server dry run (listed above); "+
			"grant the missing permissions (deploy/rbac.yaml, role crimig-operator) or fix what admission refused, then run it again", refused, sent)
	}
	if blocked > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("%d node(s) have unaccepted blockers", blocked)}
	}
	return nil
}
