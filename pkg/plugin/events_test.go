package plugin

import (
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// TestFleetEventLines: without the progress view, each fleet event is one
// line: the wave, each node's end with the count, the stop.
func TestFleetEventLines(t *testing.T) {
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	print := newEventPrinter(streams, "")
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, ev := range []migrate.Event{
		{Time: at, Step: migrate.StepFleet, Phase: migrate.PhaseInfo, Message: "wave 2/3 (up to 2 at once): [node-3 node-4]", Progress: -1},
		{Time: at, Step: migrate.StepFleet, Phase: migrate.PhaseProgress, Message: "node-4 failed: 2/5 nodes done, 1 failed", Progress: 0.4},
		{Time: at, Step: migrate.StepFleet, Phase: migrate.PhaseFailed, Message: "stopped after wave 2; the remaining nodes are untouched", Progress: -1},
	} {
		print(ev)
	}
	want := "12:00:00          fleet      info     wave 2/3 (up to 2 at once): [node-3 node-4]\n" +
		"12:00:00          fleet      progress [ 40%] node-4 failed: 2/5 nodes done, 1 failed\n" +
		"12:00:00          fleet      failed   stopped after wave 2; the remaining nodes are untouched\n"
	if got := errOut.String(); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
}

// TestRepeatedStateLines: the swap's wait reports the same Node state every
// few seconds; the line is printed once, and when the state changes, a line
// says how long it lasted. Each node's states are followed on their own.
func TestRepeatedStateLines(t *testing.T) {
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	print := newEventPrinter(streams, "")
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ev := func(sec int, node string, phase migrate.Phase, msg string) migrate.Event {
		return migrate.Event{Time: at.Add(time.Duration(sec) * time.Second), Node: node, Step: "swap", Phase: phase, Message: msg, Progress: -1}
	}
	docker, crio := "node NotReady, runtime docker://20.10.24", "node NotReady, runtime cri-o://1.23.0"
	events := []migrate.Event{
		ev(0, "node-1", migrate.PhaseInfo, "swap job started"),
		ev(2, "node-1", migrate.PhaseProgress, docker),
		ev(2, "node-1", migrate.PhaseProgress, docker),
		ev(3, "node-1", migrate.PhaseProgress, crio),
	}
	for sec := 6; sec <= 39; sec += 3 {
		events = append(events, ev(sec, "node-1", migrate.PhaseProgress, crio))
		if sec == 9 {
			// Another node's events neither print node-1's state again
			// nor end it.
			events = append(events, ev(sec, "node-2", migrate.PhaseProgress, crio), ev(sec+1, "node-2", migrate.PhaseProgress, crio))
		}
	}
	events = append(events, ev(42, "node-1", migrate.PhaseDone, ""), ev(43, "node-2", migrate.PhaseDone, ""))
	for _, e := range events {
		print(e)
	}
	want := "12:00:00 node-1   swap       info     swap job started\n" +
		"12:00:02 node-1   swap       progress " + docker + "\n" +
		"12:00:03 node-1   swap       progress " + docker + " (for 1s)\n" +
		"12:00:03 node-1   swap       progress " + crio + "\n" +
		"12:00:09 node-2   swap       progress " + crio + "\n" +
		"12:00:42 node-1   swap       progress " + crio + " (for 39s)\n" +
		"12:00:42 node-1   swap       done    \n" +
		"12:00:43 node-2   swap       progress " + crio + " (for 34s)\n" +
		"12:00:43 node-2   swap       done    \n"
	if got := errOut.String(); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
}

// TestEventOutputFormats: -o json stays JSON lines; yaml and the templates
// are cli-runtime's printers over each event, on stdout.
func TestEventOutputFormats(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	events := []migrate.Event{
		{Time: at, Node: "node-1", Step: "drain", Phase: migrate.PhaseStarted, Progress: -1},
		{Time: at, Node: "node-1", Step: "drain", Phase: migrate.PhaseDone, Message: "3 pods evicted", Progress: 1},
	}
	cases := map[string]string{
		"json": `{"time":"2026-11-26T12:00:00Z","node":"node-1","step":"drain","phase":"started","progress":-1}` + "\n" +
			`{"time":"2026-11-26T12:00:00Z","node":"node-1","step":"drain","phase":"done","message":"3 pods evicted","progress":1}` + "\n",
		`jsonpath={.node} {.step} {.phase}{"\n"}`: "node-1 drain started\nnode-1 drain done\n",
		`go-template={{.phase}}:{{.progress}} `:   "started:-1 done:1 ",
		"yaml": "node: node-1\nphase: started\nprogress: -1\nstep: drain\ntime: \"2026-11-26T12:00:00Z\"\n---\n" +
			"message: 3 pods evicted\nnode: node-1\nphase: done\nprogress: 1\nstep: drain\ntime: \"2026-11-26T12:00:00Z\"\n",
	}
	for format, want := range cases {
		streams, _, out, errOut := genericiooptions.NewTestIOStreams()
		if err := newEventPrintFlags(&format).Validate(); err != nil {
			t.Fatalf("-o %s: %v", format, err)
		}
		print := newEventPrinter(streams, format)
		for _, ev := range events {
			print(ev)
		}
		if out.String() != want || errOut.Len() != 0 {
			t.Errorf("-o %s:\n%s\nstderr: %s\nwant:\n%s", format, out, errOut, want)
		}
	}
	for format, want := range map[string]string{
		"xml":  `unable to match a printer suitable for the output format "xml"`,
		"name": `unable to match a printer suitable for the output format "name"`,
	} {
		if err := newEventPrintFlags(&format).Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("-o %s: %v, want %q", format, err, want)
		}
	}
}
