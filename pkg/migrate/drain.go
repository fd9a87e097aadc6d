package migrate

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/drain"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// podFilter keeps crimig's node pods out of eviction (they are how crimig
// reaches the host during the drain) and applies kubectl's --force rule to
// every other pod. kubectl's own rule runs before additional filters and
// would reject crimig's controller-less pod, so the helper runs with Force
// and the rule lives here.
func (e *Engine) podFilter(p corev1.Pod) drain.PodDeleteStatus {
	// crimig's own pods are left alone.
	if p.Labels[nodeexec.LabelManagedBy] == nodeexec.ManagedBy {
		return drain.MakePodDeleteStatusSkip()
	}
	finished := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	if !e.Options.Drain.Force && !finished && metav1.GetControllerOf(&p) == nil {
		return drain.MakePodDeleteStatusWithError("pod has no controller, so nothing recreates it after the drain; pass --force to delete it")
	}
	return drain.MakePodDeleteStatusOkay()
}

func (e *Engine) drainHelper(ctx context.Context, node string, total *int64, done *int64) *drain.Helper {
	o := e.Options.Drain
	return &drain.Helper{
		Ctx:                 ctx,
		Client:              e.Client,
		Force:               true, // see podFilter
		GracePeriodSeconds:  -1,
		IgnoreAllDaemonSets: o.IgnoreDaemonSets,
		DeleteEmptyDirData:  o.DeleteEmptyDir,
		Timeout:             o.Timeout,
		AdditionalFilters:   []drain.PodFilter{e.podFilter},
		Out:                 io.Discard,
		ErrOut:              io.Discard,
		OnPodDeletionOrEvictionFinished: func(pod *corev1.Pod, usingEviction bool, err error) {
			if err != nil {
				return
			}
			n := atomic.AddInt64(done, 1)
			t := atomic.LoadInt64(total)
			progress := -1.0
			if t > 0 {
				progress = float64(n) / float64(t)
			}
			e.emitProgress(node, inspect.StepDrain, PhaseProgress, fmt.Sprintf("evicted %s/%s (%d/%d)", pod.Namespace, pod.Name, n, t), progress)
		},
	}
}

func (r *run) drain(ctx context.Context) error {
	return r.e.drainNode(ctx, r.node, inspect.StepDrain, r.state)
}

// drainNode cordons (recording that crimig did it) and evicts the node's pods.
func (e *Engine) drainNode(ctx context.Context, node, step string, st *State) error {
	n, err := e.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	var total, done int64
	h := e.drainHelper(ctx, node, &total, &done)
	cordoned, wasCordonedByCrimig := !n.Spec.Unschedulable, st.CordonedByCrimig
	if cordoned {
		if err := e.cordon(ctx, h, n, step, st); err != nil {
			return err
		}
	}
	list, errs := h.GetPodsForDeletion(node)
	if len(errs) > 0 {
		if !cordoned {
			return &DrainRefusedError{Err: errs[0]}
		}
		st.CordonedByCrimig = wasCordonedByCrimig
		return e.refuseDrain(ctx, node, st, errs[0])
	}
	pods := list.Pods()
	atomic.StoreInt64(&total, int64(len(pods)))
	e.emitProgress(node, step, PhaseProgress, fmt.Sprintf("evicting %d pod(s)", len(pods)), 0)
	if err := h.DeleteOrEvictPods(pods); err != nil {
		return fmt.Errorf("draining: %w; the node stays cordoned, re-run the command to resume", err)
	}
	return nil
}

func (e *Engine) cordon(ctx context.Context, h *drain.Helper, n *corev1.Node, step string, st *State) error {
	if err := drain.RunCordonOrUncordon(h, n, true); err != nil {
		return fmt.Errorf("cordoning: %w", err)
	}
	st.CordonedByCrimig = true
	if err := e.saveState(ctx, n.Name, st); err != nil {
		return err
	}
	e.emit(n.Name, step, PhaseInfo, "cordoned")
	return nil
}

// DrainRefusedError is a drain that did not start, because of pods kubectl
// drain also refuses without a flag. Nothing was evicted.
type DrainRefusedError struct {
	Err error
	// Uncordoned is set when crimig had cordoned the node for this drain
	// and uncordoned it again.
	Uncordoned bool
}

func (e *DrainRefusedError) Error() string {
	s := e.Err.Error() + "; pass --force, --delete-emptydir-data or --ignore-daemonsets as kubectl drain would ask"
	if e.Uncordoned {
		s += "; nothing was evicted and the node was uncordoned again"
	}
	return s
}

func (e *DrainRefusedError) Unwrap() error { return e.Err }

// refuseDrain uncordons a node this drain cordoned, and saves st as it was
// before the drain.
func (e *Engine) refuseDrain(ctx context.Context, node string, st *State, cause error) error {
	ctx = context.WithoutCancel(ctx)
	if err := e.uncordonNode(ctx, node); err != nil {
		return fmt.Errorf("%w; uncordoning it again also failed: %w: run kubectl uncordon %s", &DrainRefusedError{Err: cause}, err, node)
	}
	if err := e.saveState(ctx, node, st); err != nil {
		return err
	}
	return &DrainRefusedError{Err: cause, Uncordoned: true}
}

func (r *run) uncordon(ctx context.Context) error {
	if !r.state.CordonedByCrimig {
		r.e.emit(r.node, inspect.StepUncordon, PhaseInfo, "left cordoned: it was cordoned before crimig")
		return nil
	}
	return r.e.uncordonNode(ctx, r.node)
}

func (e *Engine) uncordonNode(ctx context.Context, node string) error {
	n, err := e.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	var zero int64
	if err := drain.RunCordonOrUncordon(e.drainHelper(ctx, node, &zero, &zero), n, false); err != nil {
		return fmt.Errorf("uncordoning: %w", err)
	}
	return nil
}
