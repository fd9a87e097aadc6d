package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/klog/v2"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// runtimeWanted is the Node state that ends a detached job's wait.
type runtimeWanted struct {
	prefix    string
	newBoot   bool
	oldBootID string
}

// jobCheckTimeout bounds one look at the journal: a pod that cannot start
// because the kubelet is down must not stall the wait.
const jobCheckTimeout = 20 * time.Second

// waitJob follows the Node (by watch, with a slow tick as a safety net)
// until it runs the wanted runtime and the job journaled success, or the
// job reports failure. The API server may vanish meanwhile (a
// control-plane node); errors are retried until the timeout.
func (e *Engine) waitJob(ctx context.Context, node, runID, job string, want runtimeWanted) error {
	timeout := e.Options.SwapTimeout
	if timeout <= 0 {
		timeout = DefaultSwapTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wake := make(chan struct{}, 1)
	go e.watchNode(ctx, node, wake)
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	apiDown := false
	for {
		done, err := e.checkJob(ctx, node, runID, job, want, &apiDown)
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("the node did not report %s within %s; the job keeps running on the host: "+
					"re-run the same command to resume, or inspect %s on the host", strings.TrimSuffix(want.prefix, "://"), timeout, nodeexec.JournalPath(runID))
			}
			return ctx.Err()
		case <-wake:
		case <-tick.C:
		}
	}
}

func (e *Engine) checkJob(ctx context.Context, node, runID, job string, want runtimeWanted, apiDown *bool) (bool, error) {
	n, err := e.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		if ctx.Err() == nil && !*apiDown {
			*apiDown = true
			e.emit(node, job, PhaseInfo, "the API server does not answer ("+err.Error()+"); retrying")
		}
		return false, nil
	}
	if *apiDown {
		*apiDown = false
		e.emit(node, job, PhaseInfo, "the API server answers again")
	}
	if !inspect.NodeReady(n) {
		e.emit(node, job, PhaseProgress, "node NotReady, runtime "+n.Status.NodeInfo.ContainerRuntimeVersion)
		return false, nil
	}
	cctx, cancel := context.WithTimeout(ctx, jobCheckTimeout)
	defer cancel()
	js, err := e.Host.JobStatus(cctx, node, runID, job)
	if err != nil {
		return false, nil // the pod may die with the old runtime; look again
	}
	return e.jobOutcome(node, runID, job, js, want, n.Status.NodeInfo)
}

// jobOutcome decides, for a Ready node, whether the job is over and how.
// systemctl reboot stops the job's own unit at once: a job lost after it
// asked for the reboot has done its work, and the node (back with a new
// boot id, Ready, on the target runtime) says whether it worked.
func (e *Engine) jobOutcome(node, runID, job string, js nodeexec.JobStatus, want runtimeWanted, info corev1.NodeSystemInfo) (bool, error) {
	onTarget := strings.HasPrefix(info.ContainerRuntimeVersion, want.prefix)
	rebooted := info.BootID != want.oldBootID
	switch {
	case js.State == nodeexec.JobFailed:
		return true, jobFailure(runID, job, js)
	case js.State == nodeexec.JobLost && want.newBoot && journaled(js, "reboot", "started"):
		if onTarget && rebooted {
			e.emit(node, job, PhaseInfo, "the job was stopped by the reboot it asked for; the node came back on "+info.ContainerRuntimeVersion)
			return true, nil
		}
	case js.State == nodeexec.JobLost:
		return true, jobFailure(runID, job, js)
	case js.State == nodeexec.JobSucceeded && want.newBoot && !rebooted && journaled(js, "reboot", "failed"):
		if onTarget {
			e.emit(node, job, PhaseInfo, "warning: the node runs "+info.ContainerRuntimeVersion+" but could not be rebooted; reboot it by hand")
			return true, nil
		}
	case js.State == nodeexec.JobSucceeded:
		return onTarget && (!want.newBoot || rebooted), nil
	}
	return false, nil
}

// journaled tells whether the job journaled PHASE for STEP.
func journaled(js nodeexec.JobStatus, step, phase string) bool {
	for _, en := range js.Entries {
		if en.Step == step && en.Phase == phase {
			return true
		}
	}
	return false
}

func jobFailure(runID, job string, js nodeexec.JobStatus) error {
	msg := fmt.Sprintf("the %s job %s", job, strings.ToLower(string(js.State)))
	for i := len(js.Entries) - 1; i >= 0; i-- {
		en := js.Entries[i]
		if en.Phase == "failed" {
			msg = fmt.Sprintf("the %s job failed at %s: %s", job, en.Step, en.Message)
			break
		}
	}
	if rolledBack(js) {
		msg += "; the host restored its backups and runs docker again"
	}
	return fmt.Errorf("%s (journal: %s on the host)%s", msg, nodeexec.JournalPath(runID), logTail(runID, job, js.LogTail))
}

// logTail quotes the end of a failed job's output, where a job that died
// before it could journal a reason (a missing parameter, a shell error)
// says why.
func logTail(runID, job string, lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return fmt.Sprintf("; the last lines of %s on the host:\n  %s", nodeexec.JobLogPath(runID, job), strings.Join(lines, "\n  "))
}

// watchNode pokes wake on every change of the Node. client-go's
// RetryWatcher re-establishes the watch from the last resource version when
// it ends (API server restarts included); when it gives up (the version
// expired, or watch was refused), the Node is listed again after a pause.
func (e *Engine) watchNode(ctx context.Context, node string, wake chan<- struct{}) {
	// The API server going away is expected here (a control-plane node, a
	// reboot): the wait reports it itself, so the retries log nothing.
	ctx = klog.NewContext(ctx, logr.Discard())
	sel := fields.OneTermEqualSelector("metadata.name", node).String()
	nodes := e.Client.CoreV1().Nodes()
	lw := &cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.FieldSelector = sel
		return nodes.Watch(ctx, o)
	}}
	_ = wait.PollUntilContextCancel(ctx, 2*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := nodes.List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return false, nil
		}
		w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, lw)
		if err != nil {
			return false, nil
		}
		defer w.Stop()
		for range w.ResultChan() {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
		return false, nil
	})
}
