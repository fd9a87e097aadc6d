package plugin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// FleetFlags select many nodes and shape the waves.
type FleetFlags struct {
	All               bool
	Selector          string
	MaxUnavailable    string
	Canary            string
	PauseBetween      time.Duration
	ContinueOnError   bool
	AllowControlPlane bool
}

func (f *FleetFlags) active(nodes []string) bool {
	return f.All || f.Selector != "" || f.Canary != "" || len(nodes) > 1
}

func (f *FleetFlags) validate(args []string) error {
	if (f.All || f.Selector != "") && len(args) > 0 {
		return fmt.Errorf("NODE arguments cannot be combined with --all or --selector")
	}
	if f.All && f.Selector != "" {
		return fmt.Errorf("--all and --selector cannot be set at the same time")
	}
	if f.Selector != "" {
		if _, err := labels.Parse(f.Selector); err != nil {
			return fmt.Errorf("--selector: %w", err)
		}
	}
	if _, err := parseMaxUnavailable(f.MaxUnavailable, 100); err != nil {
		return err
	}
	return nil
}

// parseMaxUnavailable reads N or N% of total, at least 1.
func parseMaxUnavailable(v string, total int) (int, error) {
	bad := fmt.Errorf("--max-unavailable must be a positive number or a percentage such as 10%%, got %q", v)
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 100 {
			return 0, bad
		}
		return max(1, int(math.Floor(float64(total)*float64(n)/100))), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, bad
	}
	return n, nil
}

// selectNodes resolves --all / --selector to the nodes still to migrate:
// docker nodes, and nodes with an unfinished crimig run (so a re-run resumes).
func (o *MigrateOptions) selectNodes(ctx context.Context) error {
	if !o.Fleet.All && o.Fleet.Selector == "" {
		return nil
	}
	list, err := o.Plan.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: o.Fleet.Selector})
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	o.Plan.Nodes = nil
	for i := range list.Items {
		n := &list.Items[i]
		rt, _ := inspect.SplitRuntime(n.Status.NodeInfo.ContainerRuntimeVersion)
		st, _ := migrate.ReadState(n)
		unfinished := st != nil && st.Phase != migrate.StateSucceeded && st.Phase != migrate.StateRolledBack
		if rt == "docker" || unfinished {
			o.Plan.Nodes = append(o.Plan.Nodes, n.Name)
		}
	}
	if len(o.Plan.Nodes) == 0 {
		return fmt.Errorf("no docker node matches; nothing to migrate")
	}
	return nil
}

// runFleet migrates the selected nodes in waves under the fleet Lease.
func (o *MigrateOptions) runFleet(ctx context.Context, engine *migrate.Engine) error {
	waves, err := o.planWaves(ctx)
	if err != nil {
		return err
	}
	total := 0
	for i, w := range waves {
		total += len(w.Nodes)
		fmt.Fprintf(o.ErrOut, "wave %d: %s (%s)\n", i+1, strings.Join(w.Nodes, ", "), w.Why)
	}
	if !o.Yes && !askYes(o.IOStreams, fmt.Sprintf("Migrate %d node(s) in %d wave(s) to %s now? [y/N] ", total, len(waves), o.Plan.Target)) {
		fmt.Fprintln(o.ErrOut, "Nothing was changed.")
		return nil
	}
	maxU, _ := parseMaxUnavailable(o.Fleet.MaxUnavailable, total)
	run := func(ctx context.Context) error {
		return engine.MigrateFleet(ctx, waves, migrate.FleetOptions{
			MaxUnavailable: maxU, Canary: o.Fleet.Canary, PauseBetween: o.Fleet.PauseBetween,
			ContinueOnError: o.Fleet.ContinueOnError, AllowControlPlane: o.Fleet.AllowControlPlane,
		})
	}
	if o.useProgressView() {
		var nodes []string
		for _, w := range waves {
			nodes = append(nodes, w.Nodes...)
		}
		err = o.runFleetWithProgressView(ctx, engine, nodes, run)
	} else {
		err = run(ctx)
	}
	if errors.Is(err, migrate.ErrStopped) {
		return fmt.Errorf("stopped as asked; the state is saved: run the same command again to resume the fleet")
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted; the state is saved: run the same command again to resume the fleet")
	}
	return err
}

func (o *MigrateOptions) planWaves(ctx context.Context) ([]migrate.Wave, error) {
	// The waves need the nodes, and the pods and budgets a drain meets.
	cf, err := inspect.CollectCluster(ctx, o.Plan.client, "nodes", "pods", "poddisruptionbudgets")
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range o.Plan.Nodes {
		want[n] = true
	}
	var nodes []corev1.Node
	for _, n := range cf.Nodes {
		if want[n.Name] {
			nodes = append(nodes, n)
			delete(want, n.Name)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("node %q not found; list nodes with 'kubectl get nodes'", n)
	}
	if err := o.checkSingleControlPlane(cf.Nodes, nodes); err != nil {
		return nil, err
	}
	o.dropFinishedCanary(cf.Nodes, nodes)
	maxU, err := parseMaxUnavailable(o.Fleet.MaxUnavailable, len(nodes))
	if err != nil {
		return nil, err
	}
	return migrate.PlanWaves(nodes, cf.Pods, cf.PDBs, migrate.FleetOptions{
		MaxUnavailable: maxU, Canary: o.Fleet.Canary, AllowControlPlane: o.Fleet.AllowControlPlane,
	})
}

// checkSingleControlPlane refuses, before any node is touched, a fleet that
// would take down the cluster's only control-plane node, unless the user
// accepted that finding by ID.
func (o *MigrateOptions) checkSingleControlPlane(all, selected []corev1.Node) error {
	cps := 0
	for i := range all {
		if inspect.IsControlPlane(&all[i]) {
			cps++
		}
	}
	if cps != 1 {
		return nil
	}
	for i := range selected {
		if !inspect.IsControlPlane(&selected[i]) {
			continue
		}
		for _, id := range o.Accept {
			if id == inspect.IDSingleControlPlane || id == "all" {
				return nil
			}
		}
		if !o.Fleet.AllowControlPlane {
			return nil // PlanWaves names --allow-control-plane
		}
		return fmt.Errorf("node %s is the cluster's only control-plane node (%s): the API server is down while its runtime is swapped; "+
			"add a control-plane node first, or accept the outage with --accept %s", selected[i].Name, inspect.IDSingleControlPlane, inspect.IDSingleControlPlane)
	}
	return nil
}

// dropFinishedCanary forgets a canary that an earlier run of the same
// command already migrated, so that re-running it resumes the fleet.
func (o *MigrateOptions) dropFinishedCanary(all, selected []corev1.Node) {
	if o.Fleet.Canary == "" {
		return
	}
	for i := range selected {
		if selected[i].Name == o.Fleet.Canary {
			return
		}
	}
	for i := range all {
		if all[i].Name != o.Fleet.Canary {
			continue
		}
		st, _ := migrate.ReadState(&all[i])
		if st != nil && st.Phase == migrate.StateSucceeded && st.To == o.Plan.Target {
			fmt.Fprintf(o.ErrOut, "The canary %s was migrated by run %s; going on with the other nodes.\n", o.Fleet.Canary, st.RunID)
			o.Fleet.Canary = ""
		}
	}
}
