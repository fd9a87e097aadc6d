package tui

import (
	"time"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// stepStatus is where one step of one node stands.
type stepStatus int

const (
	stepPending stepStatus = iota
	stepRunning
	stepDone
	stepSkipped
	stepFailed
)

type stepState struct {
	name     string
	status   stepStatus
	progress float64 // -1 when unknown
	note     string  // the last message, shown next to the step
}

// nodeProgress folds one node's events into its step list and log tail.
type nodeProgress struct {
	name     string
	steps    []stepState
	current  int // index of the running or last touched step; -1 before
	log      []string
	logLines int
	started  time.Time
	ended    time.Time
	done     bool
	failed   bool
	err      string
	info     string // the last node-level message
}

func newNodeProgress(name string, logLines int) *nodeProgress {
	np := &nodeProgress{name: name, current: -1, logLines: logLines}
	for _, s := range fleetstatus.StepNames() {
		np.steps = append(np.steps, stepState{name: s, progress: -1})
	}
	return np
}

func (np *nodeProgress) apply(ev migrate.Event) {
	if np.started.IsZero() {
		np.started = ev.Time
	}
	if ev.Step == "" {
		np.applyNode(ev)
		return
	}
	i := np.step(ev.Step)
	s := &np.steps[i]
	np.current = i
	if ev.Message != "" {
		s.note = ev.Message
		np.addLog(ev.Step, ev.Message)
	}
	switch ev.Phase {
	case migrate.PhaseStarted:
		s.status, s.progress = stepRunning, -1
		np.log = nil
	case migrate.PhaseProgress:
		if s.status == stepPending {
			s.status = stepRunning
		}
		if ev.Progress >= 0 {
			s.progress = ev.Progress
		}
	case migrate.PhaseDone:
		s.status, s.progress = stepDone, 1
	case migrate.PhaseSkipped:
		s.status = stepSkipped
	case migrate.PhaseFailed:
		s.status = stepFailed
		np.failed, np.err, np.ended = true, ev.Err, ev.Time
		np.addLog(ev.Step, "error: "+ev.Err)
	}
}

// applyNode handles events about the whole node: resume notes and the end
// of its run.
func (np *nodeProgress) applyNode(ev migrate.Event) {
	if ev.Message != "" {
		np.info = ev.Message
		np.addLog("", ev.Message)
	}
	switch ev.Phase {
	case migrate.PhaseDone:
		np.done, np.ended = true, ev.Time
	case migrate.PhaseFailed:
		np.failed, np.err, np.ended = true, ev.Err, ev.Time
	}
}

// step finds a step by name; names the list does not know (rollback) are
// added at the end.
func (np *nodeProgress) step(name string) int {
	for i, s := range np.steps {
		if s.name == name {
			return i
		}
	}
	np.steps = append(np.steps, stepState{name: name, progress: -1})
	return len(np.steps) - 1
}

func (np *nodeProgress) addLog(step, msg string) {
	if step != "" {
		msg = step + ": " + msg
	}
	np.log = append(np.log, msg)
	if over := len(np.log) - np.logLines; over > 0 {
		np.log = np.log[over:]
	}
}

// completed counts done and skipped steps.
func (np *nodeProgress) completed() int {
	n := 0
	for _, s := range np.steps {
		if s.status == stepDone || s.status == stepSkipped {
			n++
		}
	}
	return n
}

func (np *nodeProgress) running() bool {
	return !np.started.IsZero() && !np.done && !np.failed
}

func (np *nodeProgress) elapsed(now time.Time) time.Duration {
	if np.started.IsZero() {
		return 0
	}
	if !np.ended.IsZero() {
		return np.ended.Sub(np.started)
	}
	return now.Sub(np.started)
}
