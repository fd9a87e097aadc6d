package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

func isTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newEventPrinter renders engine events: JSON lines on stdout for -o json,
// otherwise readable lines on stderr (see linePrinter).
func newEventPrinter(streams genericiooptions.IOStreams, output string) migrate.Sink {
	if output == "json" {
		var mu sync.Mutex
		enc := json.NewEncoder(streams.Out)
		return func(ev migrate.Event) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(ev)
		}
	}
	p := &linePrinter{out: streams.ErrOut, held: map[string]*heldLine{}}
	return p.print
}

// linePrinter writes one line per event, but a node's state is printed
// once: while the engine reports the same line again (the wait for the
// swap polls the Node every few seconds), nothing is printed, and when the
// node's next different event comes, a line first says how long that state
// lasted, as in "node NotReady, runtime cri-o://1.23.0 (for 39s)".
type linePrinter struct {
	mu  sync.Mutex
	out io.Writer
	// held is each node's last line (fleet events have node ""), with the
	// time it was first printed and how often it came again since.
	held map[string]*heldLine
}

type heldLine struct {
	text    string
	since   time.Time
	repeats int
}

func (p *linePrinter) print(ev migrate.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	text := formatEventBody(ev)
	h := p.held[ev.Node]
	if h != nil && h.text == text {
		h.repeats++
		return
	}
	if h != nil && h.repeats > 0 {
		fmt.Fprintf(p.out, "%s %s (for %s)\n", stamp(ev), h.text, duration.HumanDuration(ev.Time.Sub(h.since)))
	}
	fmt.Fprintf(p.out, "%s %s\n", stamp(ev), text)
	p.held[ev.Node] = &heldLine{text: text, since: ev.Time}
}

func stamp(ev migrate.Event) string { return ev.Time.Format("15:04:05") }

// formatEventBody is an event's line without its time.
func formatEventBody(ev migrate.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %-10s %-8s", ev.Node, dash(ev.Step), ev.Phase)
	if ev.Progress >= 0 && ev.Phase == migrate.PhaseProgress {
		fmt.Fprintf(&b, " [%3.0f%%]", ev.Progress*100)
	}
	if ev.Message != "" {
		b.WriteString(" " + ev.Message)
	}
	if ev.Err != "" {
		b.WriteString(" error: " + ev.Err)
	}
	return b.String()
}

// confirm shows the node's plan summary and asks on the terminal.
func (o *MigrateOptions) confirm(ctx context.Context, node string) (bool, error) {
	plan, err := o.planNode(ctx, node)
	if err != nil {
		return false, err
	}
	o.reviewed.Store(node, plan)
	if err := printPlanTable(o.ErrOut, plan, false); err != nil {
		return false, err
	}
	fmt.Fprintf(o.ErrOut, "\nMigrate %s from docker to %s now? The node is drained first. [y/N] ", node, o.Plan.Target)
	line, _ := bufio.NewReader(o.In).ReadString('\n')
	if answer := strings.ToLower(strings.TrimSpace(line)); answer == "y" || answer == "yes" {
		return true, nil
	}
	fmt.Fprintln(o.ErrOut, "Nothing was changed.")
	return false, nil
}

func askYes(streams genericiooptions.IOStreams, prompt string) bool {
	fmt.Fprint(streams.ErrOut, prompt)
	line, _ := bufio.NewReader(streams.In).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}
