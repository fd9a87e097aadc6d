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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

func isTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newEventPrinter renders engine events. Without -o, readable lines go to
// stderr (see linePrinter). -o json writes one compact JSON object per event
// on stdout (JSON lines, as kubectl prints watch events); every other format
// (yaml, jsonpath, go-template…) is cli-runtime's printer over each event's
// JSON, on stdout.
func newEventPrinter(streams genericiooptions.IOStreams, output string) migrate.Sink {
	var mu sync.Mutex
	switch output {
	case "":
		p := &linePrinter{out: streams.ErrOut, held: map[string]*heldLine{}}
		return p.print
	case "json":
		enc := json.NewEncoder(streams.Out)
		return func(ev migrate.Event) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(ev)
		}
	}
	printer, err := newEventPrintFlags(&output).ToPrinter()
	return func(ev migrate.Event) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			var raw []byte
			if raw, err = json.Marshal(ev); err == nil {
				// An event has no kind: cli-runtime's printers take its
				// JSON as is.
				err = printer.PrintObj(&runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}, streams.Out)
			}
		}
		if err != nil {
			// Validate rejects a bad format first; a template that fails
			// on an event says so on each, as kubectl does per object.
			fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
			err = nil
		}
	}
}

// newEventPrintFlags are the -o formats of migrate, rollback and cleanup:
// json is JSON lines, printed by the command; the others are cli-runtime's.
// Events have no name, so there is no -o name.
func newEventPrintFlags(output *string) *printFlags {
	return newPrintFlags(output, false, "json")
}

// eventOutputHelp is the help of their -o flag.
func eventOutputHelp() string {
	var none string
	var others []string
	for _, format := range newEventPrintFlags(&none).AllowedFormats() {
		if format != "json" {
			others = append(others, format)
		}
	}
	return fmt.Sprintf("Output: empty for progress lines on stderr; json for events as JSON lines on stdout; or one of (%s), applied to each event.",
		strings.Join(others, ", "))
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
