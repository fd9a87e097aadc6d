package migrate

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// Detached job names.
const (
	jobSwap     = "swap"
	jobRollback = "rollback"
)

// swapPreflight is swap.sh's first step: it only reads, and records under
// the run's state directory.
const swapPreflight = "preflight"

// DefaultSwapTimeout bounds the wait for the node to come back.
const DefaultSwapTimeout = 10 * time.Minute

// swap starts the detached job that stops the kubelet and docker and starts
// the new runtime, then waits for the Node to report it. The exec pod dies
// with docker, so nothing of the swap may run inside it.
func (r *run) swap(ctx context.Context) error {
	n, err := r.e.Client.CoreV1().Nodes().Get(ctx, r.node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	bootID := n.Status.NodeInfo.BootID
	js, err := r.e.Host.JobStatus(ctx, r.node, r.state.RunID, r.state.SwapJob())
	if err != nil {
		return fmt.Errorf("checking for an earlier swap job: %w", err)
	}
	if js.State == nodeexec.JobFailed {
		// Once the cause is fixed, re-running the command tries again, as
		// a new job (a failed unit's name stays taken until reset), but
		// only from the host as it was before the swap.
		how, ok := preSwapState(js)
		if !ok {
			return fmt.Errorf("%w; the host may be half swapped, so no new attempt is started: run 'kubectl crimig rollback %s' "+
				"to restore the backups and docker, fix the cause, then migrate again", jobFailure(r.state.RunID, r.state.SwapJob(), js), r.node)
		}
		r.e.emit(r.node, inspect.StepSwap, PhaseInfo, fmt.Sprintf("the earlier swap job %s failed and %s; trying again", r.state.SwapJob(), how))
		r.state.SwapAttempt++
		js.State = nodeexec.JobNotStarted
	}
	if js.State == nodeexec.JobNotStarted {
		r.state.Phase = StateSwapping
		r.state.SwapBootID, r.state.SwapReboot = bootID, r.e.Options.Reboot
		if err := r.e.saveState(ctx, r.node, r.state); err != nil {
			return err
		}
		env, err := swapEnv("swap", r.state.To, r.e.Options.Reboot)
		if err != nil {
			return err
		}
		if err := r.e.Host.StartDetached(ctx, r.node, r.state.RunID, r.state.SwapJob(), hostscripts.Get(hostscripts.Swap), env); err != nil {
			return err
		}
		r.e.emit(r.node, inspect.StepSwap, PhaseInfo, "swap job started on the host as unit "+nodeexec.JobUnit(r.state.RunID, r.state.SwapJob()))
	}
	// A resumed run waits for what the job it found was asked to do.
	want := runtimeWanted{prefix: runtimePrefix(hostconf.Target(r.state.To)),
		newBoot: r.state.SwapReboot && r.state.SwapBootID != "", oldBootID: r.state.SwapBootID}
	return r.e.waitJob(ctx, r.node, r.state.RunID, r.state.SwapJob(), want)
}

// swapEnv is swap.sh's environment: the job waits for the socket of the
// endpoint the kubelet is given, and stops the pods through it.
func swapEnv(mode, target string, reboot bool) (map[string]string, error) {
	endpoint, err := hostconf.Target(target).Endpoint()
	if err != nil {
		return nil, err
	}
	return map[string]string{"CRIMIG_MODE": mode, "CRIMIG_TARGET": target, "CRIMIG_REBOOT": boolEnv(reboot),
		"CRIMIG_RUNTIME_SOCKET": strings.TrimPrefix(endpoint, "unix://")}, nil
}

// preSwapState tells whether a failed swap job left the host as it was
// before the swap, and how: it changed nothing (it ended before any step
// past the read-only preflight started), or it rolled back.
func preSwapState(js nodeexec.JobStatus) (how string, ok bool) {
	if rolledBack(js) {
		return "the host restored its backups and runs docker again", true
	}
	for _, en := range js.Entries {
		if en.Phase == "started" && en.Step != "" && en.Step != swapPreflight {
			return "", false
		}
	}
	return "changed nothing on the host", true
}

// rolledBack tells whether a failed job put the host back as it was.
func rolledBack(js nodeexec.JobStatus) bool {
	for _, en := range js.Entries {
		if en.Phase == "rolled-back" {
			return true
		}
	}
	return false
}

func runtimePrefix(t hostconf.Target) string {
	if t == hostconf.TargetContainerd {
		return "containerd://"
	}
	return "cri-o://"
}

// verify confirms the node is Ready on the new runtime and reports the
// journal of the swap.
func (r *run) verify(ctx context.Context) error {
	n, err := r.e.Client.CoreV1().Nodes().Get(ctx, r.node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	rt := n.Status.NodeInfo.ContainerRuntimeVersion
	if !strings.HasPrefix(rt, runtimePrefix(hostconf.Target(r.state.To))) || !inspect.NodeReady(n) {
		return fmt.Errorf("node reports runtime %q, Ready=%v; expected %s and Ready", rt, inspect.NodeReady(n), r.state.To)
	}
	js, err := r.e.Host.JobStatus(ctx, r.node, r.state.RunID, r.state.SwapJob())
	if err != nil {
		return fmt.Errorf("reading the swap journal through a new pod: %w", err)
	}
	for _, en := range js.Entries {
		if en.Step != "" && en.Phase == "done" {
			r.e.emit(r.node, inspect.StepVerify, PhaseInfo, "host: "+en.Step+" done")
		}
	}
	r.e.emit(r.node, inspect.StepVerify, PhaseInfo, "node Ready on "+rt)
	return nil
}

func (r *run) annotate(ctx context.Context) error {
	if r.state.OriginalSocket == "" {
		r.e.emit(r.node, inspect.StepAnnotate, PhaseSkipped, "the node has no kubeadm cri-socket annotation")
		return nil
	}
	n, err := r.e.Client.CoreV1().Nodes().Get(ctx, r.node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	endpoint, err := hostconf.Target(r.state.To).Endpoint()
	if err != nil {
		return err
	}
	socket, err := hostconf.CRISocket(n.Status.NodeInfo.KubeletVersion, endpoint)
	if err != nil {
		return err
	}
	if err := r.e.patchAnnotation(ctx, r.node, inspect.AnnotationCRISocket, &socket); err != nil {
		return fmt.Errorf("setting %s: %w", inspect.AnnotationCRISocket, err)
	}
	r.e.emit(r.node, inspect.StepAnnotate, PhaseInfo, inspect.AnnotationCRISocket+"="+socket)
	return nil
}
