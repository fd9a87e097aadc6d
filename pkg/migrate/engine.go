package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// HostOps is what the engine needs from nodeexec; tests substitute it.
type HostOps interface {
	Run(ctx context.Context, node, script string, env map[string]string) (nodeexec.Result, error)
	Upload(ctx context.Context, node, hostPath string, r io.Reader, size int64, mode os.FileMode) error
	StartDetached(ctx context.Context, node, runID, job, script string, env map[string]string) error
	JobStatus(ctx context.Context, node, runID, job string) (nodeexec.JobStatus, error)
	// ExecPod runs a command in a container of an ordinary pod on node.
	ExecPod(ctx context.Context, node, namespace, pod, container string, cmd []string) (stdout, stderr []byte, err error)
}

// PreflightFunc plans one node, host facts included.
type PreflightFunc func(ctx context.Context, node string) (*inspect.Plan, error)

// DrainOptions mirror kubectl drain's flags.
type DrainOptions struct {
	Timeout          time.Duration
	DeleteEmptyDir   bool
	Force            bool
	IgnoreDaemonSets bool
}

// Options are the user's choices for a migration.
type Options struct {
	Target hostconf.Target
	// Source is pkgs, repo=URL[,key=FILE] or bundle=FILE.
	Source string
	// InsecureRepo installs from repo=URL without a signature check.
	InsecureRepo bool
	// Accept holds finding IDs the user accepted; "all" accepts every one.
	Accept      map[string]bool
	Drain       DrainOptions
	Reboot      bool
	Podman      bool
	SwapTimeout time.Duration
	// AllowControlPlane lets control-plane nodes through the preflight.
	AllowControlPlane bool
	// SmokeImage is the smoke-test pod's image; it needs sh and echo. Empty
	// skips the smoke test.
	SmokeImage       string
	SmokePullSecrets []string
	// SmokeTimeout bounds the wait for the smoke pod to run (default 3m).
	SmokeTimeout time.Duration
	// CarryImages copies the images the node needs after the swap from
	// docker into the new runtime's store, for nodes that cannot pull (see
	// carryImages).
	CarryImages bool
}

// Engine migrates and rolls back nodes.
type Engine struct {
	Client        kubernetes.Interface
	Host          HostOps
	Sink          Sink
	Preflight     PreflightFunc
	LockNamespace string
	// Identity names this run in Leases, for "locked by" messages.
	Identity string
	Options  Options
	// NewRunID and Now are replaceable for tests.
	NewRunID func() string
	Now      func() time.Time
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now().UTC().Truncate(time.Second)
}

// run is one node's migration in progress.
type run struct {
	e     *Engine
	node  string
	state *State
	plan  *inspect.NodePlan
	full  *inspect.Plan
}

// ErrAlreadyDone means there was nothing to do.
var ErrAlreadyDone = errors.New("already migrated")

// Migrate moves node to the target runtime, resuming an interrupted run.
func (e *Engine) Migrate(ctx context.Context, node string) error {
	n, st, err := e.nodeState(ctx, node)
	if err != nil {
		return err
	}
	if st != nil && st.Phase == StateSucceeded && st.To == string(e.Options.Target) {
		e.emit(node, "", PhaseInfo, fmt.Sprintf("already migrated to %s by run %s", st.To, st.RunID))
		return nil
	}
	lock, err := e.acquire(ctx, node)
	if err != nil {
		return err
	}
	defer lock.Release()
	r := &run{e: e, node: node, state: e.resumeOrStart(n, st)}
	return r.execute(ctx)
}

// nodeState reads a Node and its crimig state (nil when it has none).
func (e *Engine) nodeState(ctx context.Context, node string) (*corev1.Node, *State, error) {
	n, err := e.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("reading node %s: %w", node, err)
	}
	st, err := ReadState(n)
	return n, st, err
}

// resumeOrStart continues an unfinished run with its run id, or starts anew.
func (e *Engine) resumeOrStart(n *corev1.Node, st *State) *State {
	resumable := st != nil && st.To == string(e.Options.Target) &&
		(st.Phase == StateRunning || st.Phase == StateSwapping || st.Phase == StateFailed || st.Phase == StateStopped)
	if resumable {
		e.emit(n.Name, "", PhaseInfo, fmt.Sprintf("resuming run %s after step %q", st.RunID, st.Step))
		return st
	}
	rt, _ := inspect.SplitRuntime(n.Status.NodeInfo.ContainerRuntimeVersion)
	newID := e.NewRunID
	if newID == nil {
		newID = nodeexec.NewRunID
	}
	return &State{RunID: newID(), From: rt, To: string(e.Options.Target), Started: e.now(),
		OriginalSocket: n.Annotations[inspect.AnnotationCRISocket]}
}

type step struct {
	name string
	fn   func(ctx context.Context) error
}

func (r *run) steps() []step {
	return []step{
		{inspect.StepLock, func(context.Context) error { return nil }},
		{inspect.StepPreflight, r.preflight},
		{inspect.StepDrain, r.drain},
		{inspect.StepBackup, r.backup},
		{inspect.StepKernel, r.kernel},
		{inspect.StepInstall, r.install},
		{inspect.StepCarryImages, r.carryImages},
		{inspect.StepConfigure, r.configure},
		{inspect.StepSwap, r.swap},
		{inspect.StepVerify, r.verify},
		{inspect.StepSmoke, r.smoke},
		{inspect.StepAnnotate, r.annotate},
		{inspect.StepKubeletConfig, r.kubeletConfigMap},
		{inspect.StepUncordon, r.uncordon},
	}
}

func (r *run) execute(ctx context.Context) error {
	steps := r.steps()
	skip := stepIndex(steps, r.state.Step)
	r.state.Phase, r.state.LastError, r.state.FailedStep = StateRunning, "", ""
	for i, s := range steps {
		if i <= skip {
			r.e.emit(r.node, s.name, PhaseSkipped, "done in an earlier attempt")
			continue
		}
		if i > skip+1 && stopRequested(ctx) {
			return r.stop(ctx, steps[i-1].name)
		}
		if err := r.runStep(ctx, s); err != nil {
			return err
		}
	}
	r.state.Phase = StateSucceeded
	if err := r.e.saveState(context.WithoutCancel(ctx), r.node, r.state); err != nil {
		return err
	}
	r.e.emitProgress(r.node, "", PhaseDone, fmt.Sprintf("node %s runs %s (run %s)", r.node, r.state.To, r.state.RunID), 1)
	return nil
}

// stop ends the run between two steps, as the user asked: the state says
// where it stopped, and the same command resumes it.
func (r *run) stop(ctx context.Context, after string) error {
	r.state.Phase, r.state.LastError = StateStopped, "stopped as asked after step "+after
	if err := r.e.saveState(context.WithoutCancel(ctx), r.node, r.state); err != nil {
		return err
	}
	r.e.emit(r.node, "", PhaseInfo, fmt.Sprintf("stopped as asked after step %s; run the same command again to go on", after))
	return fmt.Errorf("node %s: %w after step %s", r.node, ErrStopped, after)
}

func (r *run) runStep(ctx context.Context, s step) error {
	r.e.emit(r.node, s.name, PhaseStarted, "")
	if err := r.e.saveState(ctx, r.node, r.state); err != nil {
		return err
	}
	if err := s.fn(ctx); err != nil {
		// Record the failure even when ctx was cancelled (Ctrl-C).
		r.state.Phase, r.state.LastError, r.state.FailedStep = StateFailed, err.Error(), s.name
		_ = r.e.saveState(context.WithoutCancel(ctx), r.node, r.state)
		r.e.emitErr(r.node, s.name, err)
		return fmt.Errorf("node %s, step %s: %w", r.node, s.name, err)
	}
	r.state.Step = s.name
	if err := r.e.saveState(context.WithoutCancel(ctx), r.node, r.state); err != nil {
		return err
	}
	r.e.emit(r.node, s.name, PhaseDone, "")
	return nil
}

// stepIndex is the index of the last completed step, -1 when none.
func stepIndex(steps []step, name string) int {
	for i, s := range steps {
		if s.name == name {
			return i
		}
	}
	return -1
}
