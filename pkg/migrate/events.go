package migrate

import (
	"slices"
	"time"

	"github.com/crimig/kubectl-crimig/pkg/redact"
)

// Phase of an Event.
type Phase string

// Event phases.
const (
	PhaseStarted  Phase = "started"
	PhaseProgress Phase = "progress"
	PhaseDone     Phase = "done"
	PhaseSkipped  Phase = "skipped"
	PhaseFailed   Phase = "failed"
	PhaseInfo     Phase = "info"
	// PhaseWarning is something the user should act on that did not stop
	// the step; the node's state keeps it too (State.Warnings).
	PhaseWarning Phase = "warning"
)

// Event is one thing the engine reports. Progress is 0..1 when known, -1
// otherwise.
type Event struct {
	Time     time.Time `json:"time"`
	Node     string    `json:"node"`
	Step     string    `json:"step"`
	Phase    Phase     `json:"phase"`
	Message  string    `json:"message,omitempty"`
	Progress float64   `json:"progress"`
	Err      string    `json:"error,omitempty"`
}

// Sink receives events. It must not block for long.
type Sink func(Event)

func (e *Engine) emit(node, step string, phase Phase, msg string) {
	e.emitProgress(node, step, phase, msg, -1)
}

func (e *Engine) emitProgress(node, step string, phase Phase, msg string, progress float64) {
	if e.Sink == nil {
		return
	}
	e.Sink(Event{Time: e.eventTime(), Node: node, Step: step, Phase: phase, Message: redact.Text(msg), Progress: progress})
}

// eventTime stamps events to the millisecond, for step timings; the state
// annotation keeps whole seconds.
func (e *Engine) eventTime() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

func (e *Engine) emitErr(node, step string, err error) {
	if e.Sink == nil {
		return
	}
	e.Sink(Event{Time: e.eventTime(), Node: node, Step: step, Phase: PhaseFailed, Err: redact.Text(err.Error()), Progress: -1})
}

// warn reports a warning and records it in the node's state, which the
// next saveState writes.
func (r *run) warn(step, msg string) {
	r.e.emit(r.node, step, PhaseWarning, msg)
	msg = step + ": " + redact.Text(msg)
	if !slices.Contains(r.state.Warnings, msg) {
		r.state.Warnings = append(r.state.Warnings, msg)
	}
}
