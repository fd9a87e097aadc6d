package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// FleetLeaseName is the cluster-wide lock of a fleet run.
const FleetLeaseName = "crimig-fleet"

// StepFleet names fleet-level events.
const StepFleet = "fleet"

// FleetOptions shape a multi-node run.
type FleetOptions struct {
	// MaxUnavailable caps the nodes in flight at once (≥1).
	MaxUnavailable int
	// Canary, when set, is migrated alone first; the rest wait for it.
	Canary            string
	PauseBetween      time.Duration
	ContinueOnError   bool
	AllowControlPlane bool
}

// Wave is a set of nodes migrated together.
type Wave struct {
	Nodes []string `json:"nodes"`
	Why   string   `json:"why"`
}

// PlanWaves orders the nodes: the canary alone, then workers in waves no
// larger than MaxUnavailable and never draining more pods of a PDB than it
// allows, then control-plane nodes one at a time, last.
func PlanWaves(nodes []corev1.Node, pods []corev1.Pod, pdbs []policyv1.PodDisruptionBudget, o FleetOptions) ([]Wave, error) {
	if o.MaxUnavailable < 1 {
		return nil, fmt.Errorf("--max-unavailable must be at least 1")
	}
	var workers, cps []string
	canaryFound := o.Canary == ""
	for i := range nodes {
		n := &nodes[i]
		switch {
		case n.Name == o.Canary:
			canaryFound = true
		case inspect.IsControlPlane(n):
			cps = append(cps, n.Name)
		default:
			workers = append(workers, n.Name)
		}
	}
	if !canaryFound {
		return nil, fmt.Errorf("canary node %q is not among the selected nodes", o.Canary)
	}
	if len(cps) > 0 && !o.AllowControlPlane {
		return nil, fmt.Errorf("control-plane node(s) %v selected; they are migrated last and alone, and only with --allow-control-plane", cps)
	}
	sort.Strings(workers)
	sort.Strings(cps)
	var waves []Wave
	if o.Canary != "" {
		waves = append(waves, Wave{Nodes: []string{o.Canary}, Why: "canary"})
	}
	waves = append(waves, packWaves(workers, pods, pdbs, o.MaxUnavailable)...)
	for _, cp := range cps {
		waves = append(waves, Wave{Nodes: []string{cp}, Why: "control plane, alone"})
	}
	return waves, nil
}

// packWaves fills each wave greedily, skipping a node when adding it would
// evict more pods of some PDB than the PDB allows right now.
func packWaves(workers []string, pods []corev1.Pod, pdbs []policyv1.PodDisruptionBudget, max int) []Wave {
	covered := pdbPodsByNode(pods, pdbs)
	var waves []Wave
	left := workers
	for len(left) > 0 {
		var wave, rest []string
		used := map[string]int32{}
		for _, n := range left {
			if len(wave) >= max || !fits(covered[n], used, pdbs) {
				rest = append(rest, n)
				continue
			}
			for pdb, c := range covered[n] {
				used[pdb] += c
			}
			wave = append(wave, n)
		}
		if len(wave) == 0 { // a single node over its PDB: let the drain wait, alone
			wave, rest = rest[:1], rest[1:]
		}
		why := fmt.Sprintf("up to %d at once", max)
		if len(wave) < max && len(rest) > 0 {
			why += "; PodDisruptionBudgets keep the rest for later waves"
		}
		waves = append(waves, Wave{Nodes: wave, Why: why})
		left = rest
	}
	return waves
}

func fits(add map[string]int32, used map[string]int32, pdbs []policyv1.PodDisruptionBudget) bool {
	for i := range pdbs {
		key := pdbs[i].Namespace + "/" + pdbs[i].Name
		if add[key] > 0 && used[key]+add[key] > pdbs[i].Status.DisruptionsAllowed && used[key] > 0 {
			return false
		}
	}
	return true
}

// pdbPodsByNode counts, per node and PDB, the pods a drain evicts.
func pdbPodsByNode(pods []corev1.Pod, pdbs []policyv1.PodDisruptionBudget) map[string]map[string]int32 {
	idx := inspect.NewPDBIndex(pdbs)
	out := map[string]map[string]int32{}
	for i := range pods {
		p := &pods[i]
		if p.Spec.NodeName == "" {
			continue
		}
		for _, pdb := range idx.Covering(p) {
			if out[p.Spec.NodeName] == nil {
				out[p.Spec.NodeName] = map[string]int32{}
			}
			out[p.Spec.NodeName][pdb.Namespace+"/"+pdb.Name]++
		}
	}
	return out
}

// MigrateFleet runs the waves under the fleet Lease, stopping at the first
// failure unless ContinueOnError. Nodes that already finished are skipped
// by Migrate itself, so re-running the same command resumes the fleet. The
// Lease's crimig.io/fleet annotation says where the run stands (see
// FleetProgress); each node that ends is also reported as a fleet event
// whose Progress is the share of nodes done.
func (e *Engine) MigrateFleet(ctx context.Context, waves []Wave, o FleetOptions) error {
	lock, err := e.acquireNamed(ctx, FleetLeaseName, "the fleet")
	if err != nil {
		return e.describeFleetHolder(ctx, err)
	}
	defer lock.Release()
	track := newFleetTracker(e, waves)
	var errs []error
	for i, w := range waves {
		if stopRequested(ctx) {
			return e.fleetStopped(fmt.Sprintf("before wave %d of %d", i+1, len(waves)), errs)
		}
		e.emit("", StepFleet, PhaseInfo, fleetWaveMessage(i+1, len(waves), w))
		track.startWave(ctx, i+1, w)
		if err := e.checkControlPlanes(ctx, w); err != nil {
			return err
		}
		werrs := e.runWave(ctx, w, func(node string, err error) { track.nodeEnded(ctx, node, err) })
		nerrs := len(werrs)
		// A node that stopped as asked beside one that failed: the
		// failure is what to report.
		failures := slices.DeleteFunc(werrs, func(err error) bool { return errors.Is(err, ErrStopped) })
		if nerrs > 0 && len(failures) == 0 {
			return e.fleetStopped(fmt.Sprintf("in wave %d of %d", i+1, len(waves)), errs)
		}
		errs = append(errs, failures...)
		if len(failures) > 0 && (!o.ContinueOnError || w.Why == "canary") {
			e.emit("", StepFleet, PhaseFailed, fmt.Sprintf("stopped after wave %d; the remaining nodes are untouched", i+1))
			return utilerrors.NewAggregate(errs)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if o.PauseBetween > 0 && i < len(waves)-1 {
			e.emit("", StepFleet, PhaseInfo, fmt.Sprintf("pausing %s before the next wave", o.PauseBetween))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-stopChan(ctx): // the next iteration says so
			case <-time.After(o.PauseBetween):
			}
		}
	}
	return utilerrors.NewAggregate(errs)
}

// fleetStopped ends a fleet run that stopped as asked (where: "in wave 2
// of 3"). Failures of earlier waves (--continue-on-error) matter more and
// are what it returns, if any.
func (e *Engine) fleetStopped(where string, errs []error) error {
	e.emit("", StepFleet, PhaseInfo, "stopped as asked "+where+"; the remaining nodes are untouched; run the same command again to go on")
	if len(errs) > 0 {
		return utilerrors.NewAggregate(errs)
	}
	return fmt.Errorf("%w %s", ErrStopped, where)
}

// runWave migrates the wave's nodes at once; ended is called as each one
// ends, from its goroutine.
func (e *Engine) runWave(ctx context.Context, w Wave, ended func(node string, err error)) []error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, n := range w.Nodes {
		wg.Add(1)
		go func(node string) {
			defer wg.Done()
			err := e.Migrate(ctx, node)
			ended(node, err)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(n)
	}
	wg.Wait()
	return errs
}

// checkControlPlanes refuses a control-plane wave while another
// control-plane node is NotReady.
func (e *Engine) checkControlPlanes(ctx context.Context, w Wave) error {
	if w.Why != "control plane, alone" {
		return nil
	}
	nodes, err := e.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing nodes before a control-plane wave: %w", err)
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if n.Name != w.Nodes[0] && inspect.IsControlPlane(n) && !inspect.NodeReady(n) {
			return errors.New("control-plane node " + n.Name + " is NotReady; crimig will not take another control-plane node down now")
		}
	}
	return nil
}
