package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// StepRollback names rollback's events.
const StepRollback = "rollback"

// Rollback returns node to docker from the backups of its last run.
func (e *Engine) Rollback(ctx context.Context, node string) error {
	_, st, err := e.nodeState(ctx, node)
	if err != nil {
		return err
	}
	if st == nil {
		return errors.New("node " + node + " has no crimig state: crimig never migrated it, so there is nothing to roll back")
	}
	if st.CleanedUp {
		return errors.New("docker was removed from node " + node + " by 'kubectl crimig cleanup'; rollback is no longer possible")
	}
	if st.Phase == StateRolledBack {
		e.emit(node, StepRollback, PhaseInfo, "already rolled back (run "+st.RunID+")")
		return nil
	}
	lock, err := e.acquire(ctx, node)
	if err != nil {
		return err
	}
	defer lock.Release()
	phase, lastErr, failedStep := st.Phase, st.LastError, st.FailedStep
	st.Phase, st.LastError, st.FailedStep = StateRollingBack, "", ""
	if err := e.saveState(ctx, node, st); err != nil {
		return err
	}
	// Pods running on the new runtime die with it: move them first.
	err = e.drainNode(ctx, node, StepRollback, st)
	var refused *DrainRefusedError
	if errors.As(err, &refused) {
		// Nothing changed: leave the state as it was, too.
		st.Phase, st.LastError, st.FailedStep = phase, lastErr, failedStep
		_ = e.saveState(context.WithoutCancel(ctx), node, st)
		e.emitErr(node, StepRollback, err)
		return fmt.Errorf("node %s: rollback refused: %w; then run the rollback again", node, err)
	}
	if err == nil {
		err = e.rollbackHost(ctx, node, st)
	}
	if err != nil {
		st.Phase, st.LastError, st.FailedStep = StateFailed, "rollback: "+err.Error(), StepRollback
		_ = e.saveState(context.WithoutCancel(ctx), node, st)
		e.emitErr(node, StepRollback, err)
		return fmt.Errorf("node %s, rollback: %w", node, err)
	}
	return e.finishRollback(ctx, node, st)
}

func (e *Engine) rollbackHost(ctx context.Context, node string, st *State) error {
	js, err := e.Host.JobStatus(ctx, node, st.RunID, jobRollback)
	if err != nil {
		return fmt.Errorf("checking for an earlier rollback job: %w", err)
	}
	if js.State == nodeexec.JobNotStarted || js.State == nodeexec.JobFailed || js.State == nodeexec.JobLost {
		env, err := swapEnv("rollback", st.To, false)
		if err != nil {
			return err
		}
		job := jobRollback
		if js.State != nodeexec.JobNotStarted {
			job = jobRollback + "-retry"
		}
		if err := e.Host.StartDetached(ctx, node, st.RunID, job, hostscripts.Get(hostscripts.Swap), env); err != nil {
			return err
		}
		e.emit(node, StepRollback, PhaseInfo, "rollback job started on the host as unit "+nodeexec.JobUnit(st.RunID, job))
		return e.waitJob(ctx, node, st.RunID, job, runtimeWanted{prefix: "docker://"})
	}
	return e.waitJob(ctx, node, st.RunID, jobRollback, runtimeWanted{prefix: "docker://"})
}

func (e *Engine) finishRollback(ctx context.Context, node string, st *State) error {
	if st.OriginalSocket != "" {
		if err := e.patchAnnotation(ctx, node, inspect.AnnotationCRISocket, &st.OriginalSocket); err != nil {
			return fmt.Errorf("restoring %s: %w", inspect.AnnotationCRISocket, err)
		}
	}
	if st.CordonedByCrimig {
		if err := e.uncordonNode(ctx, node); err != nil {
			return err
		}
	}
	st.Phase = StateRolledBack
	if err := e.saveState(ctx, node, st); err != nil {
		return err
	}
	e.emitProgress(node, StepRollback, PhaseDone, "node "+node+" runs docker again", 1)
	return nil
}
