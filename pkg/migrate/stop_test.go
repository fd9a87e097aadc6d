package migrate

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// stopAt returns a sink that records events and closes stop when a step
// starts on a node, as a user pressing "stop" while that step runs.
func stopAt(events *[]Event, stop chan struct{}, node, step string) Sink {
	var mu sync.Mutex
	var once sync.Once
	return func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		*events = append(*events, ev)
		if ev.Node == node && ev.Step == step && ev.Phase == PhaseStarted {
			once.Do(func() { close(stop) })
		}
	}
}

// A stop asked during the drain lets the drain finish, starts no other
// step, and saves a state the same command resumes.
func TestStopAfterStepEndsTheStepInFlight(t *testing.T) {
	e, host, _ := newTestEngine(t)
	var events []Event
	stop := make(chan struct{})
	e.Sink = stopAt(&events, stop, "node-1", inspect.StepDrain)
	ctx := WithStopAfterStep(context.Background(), stop)
	err := e.Migrate(ctx, "node-1")
	if !errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "after step drain") {
		t.Fatalf("err = %v, want a stop after the drain", err)
	}
	n, st := nodeState(t, e)
	if st.Phase != StateStopped || st.Step != inspect.StepDrain || !n.Spec.Unschedulable {
		t.Errorf("state %+v, cordoned %v: want Stopped after drain, cordoned", st, n.Spec.Unschedulable)
	}
	if len(host.calls) != 0 {
		t.Errorf("the host was touched after the stop: %v", host.calls)
	}
	var said bool
	for _, ev := range events {
		if ev.Step == inspect.StepBackup {
			t.Errorf("the backup step began: %+v", ev)
		}
		said = said || (ev.Step == "" && strings.Contains(ev.Message, "stopped as asked after step drain"))
	}
	if !said {
		t.Error("no event says the run stopped")
	}

	// The same command, without a stop, resumes the run.
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if _, st2 := nodeState(t, e); st2.Phase != StateSucceeded || st2.RunID != st.RunID {
		t.Errorf("resumed state %+v, want Succeeded with run %s", st2, st.RunID)
	}
}

// A stop during a wave lets every node of the wave end its current step,
// and starts no later wave.
func TestFleetStopAfterStepStartsNoOtherWave(t *testing.T) {
	e, _, _ := newTestEngine(t)
	addFleetNodes(t, e, "node-2", "node-3")
	var events []Event
	stop := make(chan struct{})
	e.Sink = stopAt(&events, stop, "node-1", inspect.StepBackup)
	ctx := WithStopAfterStep(context.Background(), stop)
	waves := []Wave{{Nodes: []string{"node-1", "node-2"}, Why: "up to 2 at once"}, {Nodes: []string{"node-3"}, Why: "up to 2 at once"}}
	err := e.MigrateFleet(ctx, waves, FleetOptions{MaxUnavailable: 2})
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("err = %v, want a stop", err)
	}
	n1, _ := e.Client.CoreV1().Nodes().Get(context.Background(), "node-1", metav1.GetOptions{})
	if st, _ := ReadState(n1); st == nil || st.Phase != StateStopped || st.Step != inspect.StepBackup {
		t.Errorf("node-1: state %+v, want Stopped after the backup", st)
	}
	// node-2 ran beside it: it stopped after its own step, or had finished.
	n2, _ := e.Client.CoreV1().Nodes().Get(context.Background(), "node-2", metav1.GetOptions{})
	if st, _ := ReadState(n2); st == nil || (st.Phase != StateStopped && st.Phase != StateSucceeded) {
		t.Errorf("node-2: state %+v, want Stopped or Succeeded", st)
	}
	n3, _ := e.Client.CoreV1().Nodes().Get(context.Background(), "node-3", metav1.GetOptions{})
	if _, ok := n3.Annotations[AnnotationState]; ok || n3.Spec.Unschedulable {
		t.Error("node-3, in the next wave, was touched")
	}
	var said bool
	for _, ev := range events {
		said = said || (ev.Step == StepFleet && strings.Contains(ev.Message, "stopped as asked in wave 1"))
		if ev.Phase == PhaseFailed {
			t.Errorf("a stop is not a failure: %+v", ev)
		}
	}
	if !said {
		t.Error("no fleet event says the run stopped")
	}
	if err := e.MigrateFleet(context.Background(), waves, FleetOptions{MaxUnavailable: 2}); err != nil {
		t.Fatalf("resumed fleet: %v", err)
	}
	for _, name := range []string{"node-1", "node-2", "node-3"} {
		n, _ := e.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if st, _ := ReadState(n); st == nil || st.Phase != StateSucceeded {
			t.Errorf("%s after the re-run: state %+v", name, st)
		}
	}
}
