package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

// StepCleanup names cleanup's events.
const StepCleanup = "cleanup"

// CleanupResult is what cleanup.sh removed, and what it left on purpose.
type CleanupResult struct {
	Packages []string `json:"packages"`
	Data     []string `json:"data"`
	// Removed lists what went besides packages and data: units, drop-ins,
	// binaries, services stopped and disabled.
	Removed []string `json:"removed"`
	// Left lists "<what>: <why>" for what cleanup kept on purpose.
	Left []string `json:"left"`
}

// Cleanup removes docker's packages (and, with removeData, /var/lib/docker)
// from a node whose migration finished. Rollback is impossible afterwards.
func (e *Engine) Cleanup(ctx context.Context, node string, removeData bool) (*CleanupResult, error) {
	_, st, err := e.nodeState(ctx, node)
	if err != nil {
		return nil, err
	}
	if st == nil || st.Phase != StateSucceeded {
		where := "has never been migrated"
		if st != nil {
			where = "is in phase " + st.Phase
		}
		return nil, errors.New("node " + node + " " + where + "; cleanup only runs after a finished migration, because it makes rollback impossible")
	}
	lock, err := e.acquire(ctx, node)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	e.emit(node, StepCleanup, PhaseStarted, "")
	env := map[string]string{"CRIMIG_TARGET": st.To, "CRIMIG_REMOVE_DATA": boolEnv(removeData)}
	res, err := e.Host.Run(ctx, node, hostscripts.Get(hostscripts.Cleanup), env)
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("cleanup.sh exited %d: %s", res.ExitCode, lastLines(res.Stderr, 5))
	}
	if err != nil {
		e.emitErr(node, StepCleanup, err)
		return nil, fmt.Errorf("node %s, cleanup: %w", node, err)
	}
	var out CleanupResult
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(res.Stdout))), &out); err != nil {
		return nil, fmt.Errorf("node %s: cleanup.sh printed %q: %w", node, res.Stdout, err)
	}
	st.CleanedUp = true
	if err := e.saveState(ctx, node, st); err != nil {
		return nil, err
	}
	e.reportCleanup(node, &out)
	return &out, nil
}

func (e *Engine) reportCleanup(node string, out *CleanupResult) {
	for _, r := range out.Removed {
		e.emit(node, StepCleanup, PhaseInfo, "removed "+r)
	}
	for _, l := range out.Left {
		e.emit(node, StepCleanup, PhaseInfo, "left "+l)
	}
	e.emit(node, StepCleanup, PhaseDone, fmt.Sprintf("removed packages %s; data %s; %d other item(s) removed, %d left on purpose",
		listOrNone(out.Packages), listOrNone(out.Data), len(out.Removed), len(out.Left)))
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}
