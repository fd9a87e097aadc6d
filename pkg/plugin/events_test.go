package plugin

import (
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
