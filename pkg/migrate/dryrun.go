package migrate

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/drain"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// dryRunAll asks the API server to authorize, admit and validate a write,
// and to persist nothing.
var dryRunAll = []string{metav1.DryRunAll}

// DryRunWrite is one API write of a migration, sent with DryRun=All.
type DryRunWrite struct {
	// Request names it, as "patch nodes/node-1".
	Request string
	// Why is the step that makes it.
	Why string
	// Err is the API server's refusal; nil when it accepted the write.
	Err error
	// Note is said next to an accepted write.
	Note string
}

// ServerDryRun sends each kind of API write that migrating node makes
// once, with DryRun=All: the node's Lease, the state annotation, the cordon,
// the evictions of the drain, the privileged node pod (nodePod, as the node
// executor would create it), the smoke-test pod and the kubelet-config
// ConfigMap. The API server runs authorization and admission on each and
// stores nothing; no host is touched. Writes that depend on the host (the
// kubelet-config edits taken from its facts) are sent as far as the cluster
// alone tells them.
func (e *Engine) ServerDryRun(ctx context.Context, node string, nodePod *corev1.Pod) ([]DryRunWrite, error) {
	n, err := e.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading node %s: %w", node, err)
	}
	st, err := e.dryRunState(n)
	if err != nil {
		return nil, err
	}
	writes := []DryRunWrite{e.dryRunLease(ctx, node), e.dryRunStatePatch(ctx, node, st), e.dryRunCordon(ctx, n)}
	writes = append(writes, e.dryRunEvictions(ctx, node)...)
	writes = append(writes, e.dryRunCreatePod(ctx, nodePod, "the node pod that runs crimig's host scripts"))
	if e.Options.SmokeImage != "" {
		r := &run{e: e, node: node, state: st}
		writes = append(writes, e.dryRunCreatePod(ctx, r.smokePod(smokePodName(node), "crimig-smoke "+st.RunID), "the smoke test"))
	}
	if w, ok := e.dryRunKubeletConfig(ctx); ok {
		writes = append(writes, w)
	}
	return writes, nil
}

// dryRunState is the state a run would record first: the one it resumes, or
// a new one.
func (e *Engine) dryRunState(n *corev1.Node) (*State, error) {
	st, err := ReadState(n)
	if err != nil {
		return nil, err
	}
	if st == nil {
		rt, _ := inspect.SplitRuntime(n.Status.NodeInfo.ContainerRuntimeVersion)
		st = &State{RunID: "dry-run", From: rt, To: string(e.Options.Target), Started: e.now(), OriginalSocket: n.Annotations[inspect.AnnotationCRISocket]}
	}
	cp := *st
	cp.Phase = StateRunning
	return &cp, nil
}

func (e *Engine) dryRunLease(ctx context.Context, node string) DryRunWrite {
	name := LeaseName(node)
	leases := e.Client.CoordinationV1().Leases(e.LockNamespace)
	now, dur := metav1.NewMicroTime(e.now()), int32(leaseDuration/time.Second)
	w := DryRunWrite{Request: "create leases.coordination.k8s.io " + e.LockNamespace + "/" + name, Why: "the node's lock"}
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, w.Err = leases.Create(ctx, e.newLease(name, now, dur), metav1.CreateOptions{DryRun: dryRunAll})
	case err != nil:
		w.Err = err
	default:
		w.Request = "update leases.coordination.k8s.io " + e.LockNamespace + "/" + name
		if w.Err = e.lockedBy("node "+node, l); w.Err == nil {
			e.holdLease(l, now, dur)
			_, w.Err = leases.Update(ctx, l, metav1.UpdateOptions{DryRun: dryRunAll})
		}
	}
	return w
}

func (e *Engine) dryRunStatePatch(ctx context.Context, node string, st *State) DryRunWrite {
	w := DryRunWrite{Request: "patch nodes/" + node, Why: "the " + AnnotationState + " annotation"}
	patch, err := e.statePatch(st)
	if err != nil {
		w.Err = err
		return w
	}
	_, w.Err = e.Client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dryRunAll})
	return w
}

func (e *Engine) dryRunCordon(ctx context.Context, n *corev1.Node) DryRunWrite {
	w := DryRunWrite{Request: "patch nodes/" + n.Name, Why: "the cordon"}
	c := drain.NewCordonHelper(n)
	if !c.UpdateIfRequired(true) {
		w.Note = "already cordoned: migrate leaves it cordoned"
		return w
	}
	err, patchErr := c.PatchOrReplaceWithContext(ctx, e.Client, true)
	if err == nil {
		err = patchErr
	}
	w.Err = err
	return w
}

// dryRunEvictions evicts, in dry run, every pod the drain would evict.
func (e *Engine) dryRunEvictions(ctx context.Context, node string) []DryRunWrite {
	var zero int64
	h := e.drainHelper(ctx, node, &zero, &zero)
	h.DryRunStrategy = cmdutil.DryRunServer
	list, errs := h.GetPodsForDeletion(node)
	if len(errs) > 0 {
		return []DryRunWrite{{Request: "create pods/eviction on node " + node, Why: "the drain", Err: &DrainRefusedError{Err: errs[0]}}}
	}
	var writes []DryRunWrite
	for _, p := range list.Pods() {
		w := DryRunWrite{Request: "create pods/eviction " + p.Namespace + "/" + p.Name, Why: "the drain"}
		w.Err = h.EvictPod(p, policyv1.SchemeGroupVersion)
		if apierrors.IsTooManyRequests(w.Err) {
			w.Err, w.Note = nil, "a PodDisruptionBudget allows no disruption now; the drain would retry until --timeout"
		}
		writes = append(writes, w)
	}
	return writes
}

func (e *Engine) dryRunCreatePod(ctx context.Context, pod *corev1.Pod, why string) DryRunWrite {
	w := DryRunWrite{Request: "create pods " + pod.Namespace + "/" + pod.Name, Why: why}
	_, w.Err = e.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: dryRunAll})
	return w
}

// dryRunKubeletConfig patches kubeadm's kubelet-config ConfigMap with the
// edits the cluster alone tells (the host's add to them); false when the
// cluster has none.
func (e *Engine) dryRunKubeletConfig(ctx context.Context) (DryRunWrite, bool) {
	w := DryRunWrite{Request: "patch configmaps kube-system/", Why: "kubeadm's kubelet configuration for joining nodes"}
	cms, err := e.Client.CoreV1().ConfigMaps("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		w.Request, w.Err = "list configmaps -n kube-system", err
		return w, true
	}
	cm := inspect.KubeletConfigMap(cms.Items)
	if cm == nil || cm.Data["kubelet"] == "" {
		return w, false
	}
	w.Request += cm.Name
	edit, err := hostconf.EditKubeletConfigMap(cm.Name, cm.Data["kubelet"], hostconf.ConfigMapEdits{RuntimeRequestTimeout: true})
	if err != nil {
		w.Err = err
		return w, true
	}
	patch, err := kubeletConfigPatch(edit.After)
	if err == nil {
		_, err = e.Client.CoreV1().ConfigMaps("kube-system").Patch(ctx, cm.Name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dryRunAll})
	}
	w.Err = err
	return w, true
}
