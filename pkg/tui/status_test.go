package tui

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	fst "github.com/crimig/kubectl-crimig/pkg/fleetstatus/fleetstatustest"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

const waitTimeout = 5 * time.Second

func startStatus(t *testing.T, cfg StatusConfig, w, h int) (*teatest.TestModel, *fakeSource) {
	t.Helper()
	src := newFakeSource()
	cfg.Source, cfg.Now = src, fixedNow
	tm := teatest.NewTestModel(t, NewStatus(cfg), teatest.WithInitialTermSize(w, h))
	src.ch <- fleet()
	waitFor(t, tm, "node-d")
	return tm, src
}

func waitFor(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(text)) },
		teatest.WithDuration(waitTimeout), teatest.WithCheckInterval(10*time.Millisecond))
}

func finalView(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	return tm.FinalModel(t, teatest.WithFinalTimeout(waitTimeout)).View()
}

func TestStatusTable(t *testing.T) {
	tm, _ := startStatus(t, StatusConfig{}, 140, 14)
	view := finalView(t, tm)
	for _, want := range []string{"docker 4 · cri-o 1 · migrating 1 · failed 1", "fleet run: alice@laptop/fleet-7 · wave 2/3 · in flight: node-c · 1 done, 1 failed (node-d)", "swap: crio did not start"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q", want)
		}
	}
	golden.RequireEqual(t, []byte(view))
}

func TestStatusFilter(t *testing.T) {
	tm, _ := startStatus(t, StatusConfig{}, 140, 14)
	tm.Type("/")
	tm.Type("cri-o")
	waitFor(t, tm, "cri-o")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "esc clears")
	view := finalView(t, tm)
	if strings.Contains(view, "cp-1") {
		t.Errorf("the filter kept cp-1:\n%s", view)
	}
	golden.RequireEqual(t, []byte(view))
}

func TestStatusSort(t *testing.T) {
	tm, _ := startStatus(t, StatusConfig{}, 140, 14)
	// NODE → ROLE → RUNTIME → KUBELET → READY → CORDONED → PHASE, reversed.
	tm.Type("ssssss")
	waitFor(t, tm, "PHASE ↑")
	tm.Type("S")
	waitFor(t, tm, "PHASE ↓")
	golden.RequireEqual(t, []byte(finalView(t, tm)))
}

func TestStatusDetail(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	journal := func(_ context.Context, node, runID string) ([]nodeexec.JournalEntry, error) {
		mu.Lock()
		calls = append(calls, node+"/"+runID)
		mu.Unlock()
		exit := 1
		return []nodeexec.JournalEntry{
			{Time: testNow.Add(-21 * time.Minute), Job: "swap", Phase: "started"},
			{Time: testNow.Add(-21 * time.Minute), Job: "swap", Step: "start-runtime", Phase: "failed", Message: "crio did not start"},
			{Time: testNow.Add(-20 * time.Minute), Job: "swap", Step: "swap", Phase: "rolled-back"},
			{Time: testNow.Add(-20 * time.Minute), Job: "swap", Phase: "exited", ExitCode: &exit},
		}, nil
	}
	tm, _ := startStatus(t, StatusConfig{Journal: journal}, 120, 40)
	tm.Type("jjjj")
	waitFor(t, tm, "› node-d")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "rolled-back")
	view := finalView(t, tm)
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || calls[0] != "node-d/r-0d3" {
		t.Errorf("journal calls = %v, want [node-d/r-0d3]", calls)
	}
	golden.RequireEqual(t, []byte(view))
}

func TestStatusDetailJournalError(t *testing.T) {
	journal := func(context.Context, string, string) ([]nodeexec.JournalEntry, error) {
		return nil, errors.New("node pod did not start")
	}
	tm, _ := startStatus(t, StatusConfig{Journal: journal}, 120, 40)
	tm.Type("jjj")
	waitFor(t, tm, "› node-c")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "did not start")
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitFor(t, tm, "NODE ↑")
	if v := finalView(t, tm); !strings.Contains(v, "› node-c") {
		t.Errorf("esc did not go back to the table with node-c selected:\n%s", v)
	}
}

func TestStatusResize(t *testing.T) {
	tm, _ := startStatus(t, StatusConfig{}, 140, 14)
	tm.Send(tea.WindowSizeMsg{Width: 72, Height: 10})
	tm.Type("?")
	waitFor(t, tm, "reverse sort")
	golden.RequireEqual(t, []byte(finalView(t, tm)))
}

// TestStatusFollowsWatch: a new snapshot replaces the rows, and the
// selection stays on the same node.
func TestStatusFollowsWatch(t *testing.T) {
	tm, src := startStatus(t, StatusConfig{}, 140, 14)
	tm.Type("jj")
	waitFor(t, tm, "› node-b")
	s := fst.Fleet()
	s.Nodes = s.Nodes[1:]
	s.Nodes[0].Status.NodeInfo.ContainerRuntimeVersion = "containerd://2.1.0"
	src.ch <- fleetstatus.BuildStatus(s, nil)
	waitFor(t, tm, "containerd 2.1.0")
	close(src.ch)
	waitFor(t, tm, "watch ended")
	v := finalView(t, tm)
	if strings.Contains(v, "cp-1") || !strings.Contains(v, "› node-b") {
		t.Errorf("unexpected view after the update:\n%s", v)
	}
}

// TestNoColor: with NO_COLOR the selected row loses its background and
// keeps only weight, so that it is still readable.
func TestNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	s := newStyles()
	if _, hasBg := s.selected.GetBackground().(lipgloss.NoColor); !hasBg {
		t.Errorf("the selected row keeps a background under NO_COLOR")
	}
	if !s.selected.GetBold() {
		t.Errorf("the selected row is not bold under NO_COLOR")
	}
}
