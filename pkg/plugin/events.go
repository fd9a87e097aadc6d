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

	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

func isTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newEventPrinter renders engine events: JSON lines on stdout for -o json,
// otherwise one readable line per event on stderr.
func newEventPrinter(streams genericiooptions.IOStreams, output string) migrate.Sink {
	var mu sync.Mutex
	if output == "json" {
		enc := json.NewEncoder(streams.Out)
		return func(ev migrate.Event) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(ev)
		}
	}
	return func(ev migrate.Event) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(streams.ErrOut, formatEvent(ev))
	}
}

func formatEvent(ev migrate.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-8s %-10s %-8s", ev.Time.Format("15:04:05"), ev.Node, dash(ev.Step), ev.Phase)
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
