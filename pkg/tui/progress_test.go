package tui

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// stepClock returns testNow on its first call (the view's start) and
// 3m12s later afterwards, so elapsed times are stable.
func stepClock() func() time.Time {
	var mu sync.Mutex
	calls := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return testNow
		}
		return testNow.Add(192 * time.Second)
	}
}

var stillSpinner = spinner.Spinner{Frames: []string{"*"}, FPS: time.Hour}

type eventFeed struct {
	ch   chan migrate.Event
	at   time.Duration
	node string
}

func (f *eventFeed) send(step string, phase migrate.Phase, msg string, progress float64) {
	f.at += 5 * time.Second
	f.ch <- migrate.Event{Time: testNow.Add(f.at), Node: f.node, Step: step, Phase: phase, Message: msg, Progress: progress}
}

// steps runs the named steps to completion.
func (f *eventFeed) steps(names ...string) {
	for _, s := range names {
		f.send(s, migrate.PhaseStarted, "", -1)
		f.send(s, migrate.PhaseDone, "", -1)
	}
}

func (f *eventFeed) fail(step, err string) {
	f.at += 5 * time.Second
	f.ch <- migrate.Event{Time: testNow.Add(f.at), Node: f.node, Step: step, Phase: migrate.PhaseFailed, Err: err, Progress: -1}
}

func startProgress(t *testing.T, cfg ProgressConfig, nodes ...string) (*teatest.TestModel, chan migrate.Event) {
	t.Helper()
	ch := make(chan migrate.Event, 256)
	cfg.Events, cfg.Nodes, cfg.Target, cfg.Now, cfg.Spinner = ch, nodes, "cri-o", stepClock(), &stillSpinner
	tm := teatest.NewTestModel(t, NewProgress(cfg), teatest.WithInitialTermSize(110, 40))
	return tm, ch
}

func finalProgress(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	return tm.FinalModel(t, teatest.WithFinalTimeout(waitTimeout)).View()
}

func TestProgressSuccess(t *testing.T) {
	tm, ch := startProgress(t, ProgressConfig{}, "node-1")
	f := &eventFeed{ch: ch, node: "node-1"}
	f.steps("lock", "preflight")
	f.send("drain", migrate.PhaseStarted, "", -1)
	f.send("drain", migrate.PhaseInfo, "cordoned", -1)
	f.send("drain", migrate.PhaseProgress, "evicting 4 pod(s)", 0)
	f.send("drain", migrate.PhaseProgress, "evicted default/web-1 (1/4)", 0.25)
	f.send("drain", migrate.PhaseProgress, "evicted default/web-2 (2/4)", 0.5)
	waitFor(t, tm, "web-2")
	f.send("drain", migrate.PhaseDone, "", -1)
	// The rest of the steps, whichever inspect lists.
	for _, step := range fleetstatus.StepNames()[3:] {
		switch step {
		case "install":
			f.send(step, migrate.PhaseStarted, "", -1)
			f.send(step, migrate.PhaseProgress, "uploading cri-o.tar.gz: 35/70 MiB", 0.5)
			f.send(step, migrate.PhaseDone, "", -1)
		case "annotate":
			f.send(step, migrate.PhaseSkipped, "the node has no kubeadm cri-socket annotation", -1)
		default:
			f.steps(step)
		}
	}
	f.send("", migrate.PhaseDone, "node node-1 runs cri-o (run r-1)", 1)
	close(ch)
	view := finalProgress(t, tm)
	total := len(fleetstatus.StepNames())
	if !strings.Contains(view, "1 of 1 node(s) migrated") || !strings.Contains(view, fmt.Sprintf("%d/%d steps", total, total)) {
		t.Errorf("unexpected final view:\n%s", view)
	}
	golden.RequireEqual(t, []byte(view))
}

// TestProgressDrain freezes the view during the drain: bar, log tail and
// spinner.
func TestProgressDrain(t *testing.T) {
	tm, ch := startProgress(t, ProgressConfig{LogLines: 3}, "node-1", "node-2")
	f := &eventFeed{ch: ch, node: "node-1"}
	f.steps("lock", "preflight")
	f.send("drain", migrate.PhaseStarted, "", -1)
	for i, pod := range []string{"web-1", "web-2", "web-3"} {
		f.send("drain", migrate.PhaseProgress, "evicted default/"+pod, float64(i+1)/4)
	}
	waitFor(t, tm, "web-3")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	golden.RequireEqual(t, []byte(finalProgress(t, tm)))
}

func TestProgressFailure(t *testing.T) {
	tm, ch := startProgress(t, ProgressConfig{}, "node-1", "node-2")
	f := &eventFeed{ch: ch, node: "node-1"}
	f.steps("lock", "preflight", "drain", "backup", "kernel", "install", "configure")
	f.send("swap", migrate.PhaseStarted, "", -1)
	f.send("swap", migrate.PhaseInfo, "swap job started on the host as unit crimig-r-1-swap", -1)
	f.fail("swap", "the host job failed: crio did not start; docker was restored")
	close(ch)
	view := finalProgress(t, tm)
	for _, want := range []string{"✗ swap", "0 of 2 node(s) migrated", "kubectl crimig rollback node-1"} {
		if !strings.Contains(view, want) {
			t.Errorf("final view lacks %q:\n%s", want, view)
		}
	}
	golden.RequireEqual(t, []byte(view))
}

func TestProgressCtrlC(t *testing.T) {
	var cancels, aborts atomic.Int32
	cfg := ProgressConfig{Cancel: func() { cancels.Add(1) }, Abort: func() { aborts.Add(1) }}
	tm, ch := startProgress(t, cfg, "node-1")
	f := &eventFeed{ch: ch, node: "node-1"}
	f.steps("lock", "preflight", "drain", "backup")
	f.send("kernel", migrate.PhaseStarted, "", -1)
	waitFor(t, tm, "kernel")

	// "n" keeps going.
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	waitFor(t, tm, "Stop after the current step? y/n")
	tm.Type("n")
	waitFor(t, tm, "ctrl+c stop after the current step")
	if cancels.Load() != 0 {
		t.Fatal("cancel was called after n")
	}

	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	waitFor(t, tm, "y/n")
	tm.Type("y")
	waitFor(t, tm, "Stopping after the current step")
	if cancels.Load() != 1 || aborts.Load() != 0 {
		t.Fatalf("cancel called %d times, abort %d, want 1 and 0", cancels.Load(), aborts.Load())
	}
	// The engine ends the step, stops and closes the channel; the view quits.
	f.send("kernel", migrate.PhaseDone, "", -1)
	close(ch)
	view := finalProgress(t, tm)
	if !strings.Contains(view, "resume with 'kubectl crimig migrate node-1'") {
		t.Errorf("the final view does not say how to resume:\n%s", view)
	}
	golden.RequireEqual(t, []byte(view))
}

func TestProgressSecondCtrlCAborts(t *testing.T) {
	var aborts atomic.Int32
	tm, ch := startProgress(t, ProgressConfig{Cancel: func() {}, Abort: func() { aborts.Add(1) }}, "node-1")
	f := &eventFeed{ch: ch, node: "node-1"}
	f.send("drain", migrate.PhaseStarted, "", -1)
	waitFor(t, tm, "drain")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.Type("y")
	waitFor(t, tm, "Stopping")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	waitFor(t, tm, "Interrupting")
	f.fail("drain", "context canceled")
	close(ch)
	_ = finalProgress(t, tm)
	if aborts.Load() != 1 {
		t.Errorf("abort called %d times, want 1", aborts.Load())
	}
}

func (f *eventFeed) fleet(phase migrate.Phase, msg string, progress float64) {
	f.ch <- migrate.Event{Time: testNow.Add(f.at), Step: migrate.StepFleet, Phase: phase, Message: msg, Progress: progress}
}

// TestProgressFleet: a run in waves shows the wave, the count of nodes
// done and the failures above the node rows, and fleet events make no row
// of their own.
func TestProgressFleet(t *testing.T) {
	tm, ch := startProgress(t, ProgressConfig{LogLines: 2}, "node-1", "node-2", "node-3", "node-4")
	fleet := &eventFeed{ch: ch}
	fleet.fleet(migrate.PhaseInfo, "wave 1/2 (up to 2 at once): [node-1 node-2]", -1)
	n1, n2 := &eventFeed{ch: ch, node: "node-1"}, &eventFeed{ch: ch, node: "node-2"}
	n1.steps(fleetstatus.StepNames()...)
	n1.send("", migrate.PhaseDone, "node node-1 runs cri-o (run r-1)", 1)
	fleet.fleet(migrate.PhaseProgress, "node-1 done: 1/4 nodes done", 0.25)
	n2.steps("lock", "preflight", "drain", "backup", "kernel")
	n2.send("install", migrate.PhaseStarted, "", -1)
	n2.fail("install", "install.sh exited 3: no repo provides cri-o")
	fleet.fleet(migrate.PhaseProgress, "node-2 failed: 1/4 nodes done, 1 failed", 0.25)
	fleet.fleet(migrate.PhaseInfo, "wave 2/2 (up to 2 at once; PodDisruptionBudgets keep the rest for later waves): [node-3 node-4]", -1)
	n3 := &eventFeed{ch: ch, node: "node-3"}
	n3.steps("lock", "preflight")
	n3.send("drain", migrate.PhaseStarted, "", -1)
	n3.send("drain", migrate.PhaseProgress, "evicting 2 pod(s)", 0)
	waitFor(t, tm, "evicting 2 pod(s)")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(waitTimeout)).(*ProgressModel)
	view := final.View()
	for _, want := range []string{"fleet  wave 2/2  ", "1/4 nodes done · 1 failed: node-2 · up to 2 at once"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	if len(final.nodes) != 4 {
		t.Errorf("%d node rows, want 4: fleet events made a row", len(final.nodes))
	}
	golden.RequireEqual(t, []byte(view))
}

// TestProgressFleetStopped: the fleet's stop stays on its line in the last
// frame; before any node ended, the count is out of the run's nodes.
func TestProgressFleetStopped(t *testing.T) {
	tm, ch := startProgress(t, ProgressConfig{}, "node-1", "node-2")
	fleet := &eventFeed{ch: ch}
	fleet.fleet(migrate.PhaseInfo, "wave 1/2 (canary): [node-1]", -1)
	waitFor(t, tm, "0/2 nodes done")
	n1 := &eventFeed{ch: ch, node: "node-1"}
	n1.send("lock", migrate.PhaseStarted, "", -1)
	n1.fail("lock", "node node-1 is locked by \"bob\"")
	fleet.fleet(migrate.PhaseProgress, "node-1 failed: 0/2 nodes done, 1 failed", 0)
	fleet.fleet(migrate.PhaseFailed, "stopped after wave 1; the remaining nodes are untouched", -1)
	close(ch)
	final := tm.FinalModel(t, teatest.WithFinalTimeout(waitTimeout)).(*ProgressModel)
	view := final.View()
	for _, want := range []string{"fleet  wave 1/2  ", "0/2 nodes done · 1 failed: node-1 · stopped after wave 1", "0 of 2 node(s) migrated"} {
		if !strings.Contains(view, want) {
			t.Errorf("final view lacks %q:\n%s", want, view)
		}
	}
	if line := final.fleetView(); !strings.HasSuffix(line, "stopped after wave 1; the remaining nodes are untouched · canary") {
		t.Errorf("fleet line %q", line)
	}
}

func TestFleetProgressLine(t *testing.T) {
	m := NewProgress(ProgressConfig{Nodes: []string{"a", "b", "c", "d", "e"}, Events: make(chan migrate.Event)})
	for _, ev := range []migrate.Event{
		{Step: migrate.StepFleet, Phase: migrate.PhaseInfo, Message: "wave 3/3 (control plane, alone): [cp-1]"},
		{Step: migrate.StepFleet, Phase: migrate.PhaseProgress, Message: "e failed: 0/5 nodes done, 4 failed", Progress: 0},
		{Step: migrate.StepFleet, Phase: migrate.PhaseInfo, Message: "pausing 1m0s before the next wave"},
	} {
		m.apply(ev)
	}
	for _, n := range []string{"a", "b", "c", "e"} {
		m.node(n).apply(migrate.Event{Node: n, Phase: migrate.PhaseFailed, Err: "x"})
	}
	got := m.fleetView()
	if !strings.Contains(got, "fleet  wave 3/3  ") || !strings.Contains(got, "0/5 nodes done · 4 failed: a, b, c and 1 more · pausing 1m0s before the next wave · control plane, alone") {
		t.Errorf("fleet line %q", got)
	}
	m.apply(migrate.Event{Step: migrate.StepFleet, Phase: migrate.PhaseInfo, Message: "wave 4/4 (x): [z]"})
	if strings.Contains(m.fleetView(), "pausing") {
		t.Errorf("the pause outlived the next wave: %q", m.fleetView())
	}
}
