package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// JournalFunc reads the host journal of a run; the status view calls it in
// a tea.Cmd when the user opens a node's details.
type JournalFunc func(ctx context.Context, node, runID string) ([]nodeexec.JournalEntry, error)

// journalMsg carries the journal read for node's run.
type journalMsg struct {
	node, runID string
	entries     []nodeexec.JournalEntry
	err         error
}

func fetchJournal(ctx context.Context, fn JournalFunc, node, runID string) tea.Cmd {
	return func() tea.Msg {
		entries, err := fn(ctx, node, runID)
		return journalMsg{node: node, runID: runID, entries: entries, err: err}
	}
}

// detailPane shows one node: its state, the step timeline and the journal
// of its last run in a scrollable viewport.
type detailPane struct {
	node       fleetstatus.NodeStatus
	loading    bool
	journal    []nodeexec.JournalEntry
	journalErr error
	vp         viewport.Model
	bar        progress.Model
	styles     styles
	width      int
	height     int
}

func newDetailPane(n fleetstatus.NodeStatus, s styles, width, height int) *detailPane {
	d := &detailPane{node: n, styles: s, vp: viewport.New(width, 5),
		bar: progress.New(progress.WithSolidFill("#5A56E0"), progress.WithoutPercentage())}
	d.setSize(width, height)
	return d
}

func (d *detailPane) setNode(n fleetstatus.NodeStatus) {
	d.node = n
	d.setSize(d.width, d.height)
}

// setSize gives the journal viewport what the summary leaves.
func (d *detailPane) setSize(width, height int) {
	d.width, d.height = width, height
	d.bar.Width = min(max(width-20, 10), 40)
	d.vp.Width = width
	// The summary and timeline end in a newline; the journal title takes two.
	used := strings.Count(d.summary()+d.timeline(time.Time{}), "\n") + 2
	d.vp.Height = max(height-used, 3)
	d.vp.SetContent(d.journalText())
}

func (d *detailPane) setJournal(msg journalMsg) {
	d.loading = false
	d.journal, d.journalErr = msg.entries, msg.err
	d.vp.SetContent(d.journalText())
}

func (d *detailPane) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	d.vp, cmd = d.vp.Update(msg)
	return cmd
}

func (d *detailPane) view(now time.Time) string {
	var b strings.Builder
	b.WriteString(d.summary())
	b.WriteString(d.timeline(now))
	b.WriteString("\n" + d.styles.title.Render("Journal of the last run") + "\n")
	b.WriteString(d.vp.View())
	return b.String()
}

func (d *detailPane) summary() string {
	n := d.node
	var b strings.Builder
	ready := "NotReady"
	if n.Ready {
		ready = "Ready"
	}
	line := []string{d.styles.title.Render(n.Name), n.Role, n.RuntimeString(), "kubelet " + n.KubeletVersion, ready}
	if n.Cordoned {
		line = append(line, "cordoned")
	}
	b.WriteString(strings.Join(line, " · ") + "\n\n")
	if n.Lock != nil {
		fmt.Fprintf(&b, "Lock:     %s held by %s\n", n.Lock.Name, n.Lock.Holder)
	}
	if n.StateError != "" {
		b.WriteString(d.styles.bad.Render("State:    "+n.StateError) + "\n")
		return b.String()
	}
	s := n.State
	if s == nil {
		b.WriteString("State:    crimig has not run on this node\n")
		return b.String()
	}
	fmt.Fprintf(&b, "Run:      %s (%s → %s)\n", s.RunID, dashIfEmpty(s.From), dashIfEmpty(s.To))
	if s.Phase == migrate.StateFailed && s.FailedStep != "" {
		fmt.Fprintf(&b, "Phase:    %s at step %s, last completed step %s\n", s.Phase, s.FailedStep, dashIfEmpty(s.Step))
	} else {
		fmt.Fprintf(&b, "Phase:    %s, last completed step %s\n", s.Phase, n.Step())
	}
	fmt.Fprintf(&b, "Started:  %s   Updated: %s\n", stamp(s.Started), stamp(s.Updated))
	fmt.Fprintf(&b, "Cordoned by crimig: %s\n", fleetstatus.YesNo(s.CordonedByCrimig))
	if s.LastError != "" {
		b.WriteString(d.styles.bad.Render("Error:    "+s.LastError) + "\n")
	}
	return b.String()
}

// timeline marks each step done (✓), failed (✗), running (▶) or to do (·).
func (d *detailPane) timeline(now time.Time) string {
	n := d.node
	if n.State == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s %s %d/%d, %s\n", d.styles.title.Render("Steps"), d.bar.ViewAs(float64(n.StepsDone)/float64(max(n.StepsTotal, 1))),
		n.StepsDone, n.StepsTotal, fleetstatus.FormatElapsed(n.Elapsed(now)))
	for i, name := range fleetstatus.StepNames() {
		mark, style := "·", d.styles.dim
		switch {
		case i < n.StepsDone:
			mark, style = "✓", d.styles.ok
		case i == n.StepsDone && n.Failed():
			mark, style = "✗", d.styles.bad
		case i == n.StepsDone && n.InFlight():
			mark, style = "▶", d.styles.warn
		}
		b.WriteString("  " + style.Render(mark+" "+name) + "\n")
	}
	return b.String()
}

func (d *detailPane) journalText() string {
	switch {
	case d.node.State == nil:
		return d.styles.dim.Render("no run recorded")
	case d.loading:
		return d.styles.dim.Render("reading the journal from the node…")
	case d.journalErr != nil:
		return d.styles.bad.Render("could not read the journal: " + d.journalErr.Error())
	case len(d.journal) == 0:
		return d.styles.dim.Render("the journal is empty")
	}
	lines := make([]string, len(d.journal))
	for i, e := range d.journal {
		line := fmt.Sprintf("%s %-8s %-14s %-12s %s", e.Time.UTC().Format("15:04:05"), e.Job, dashIfEmpty(e.Step), e.Phase, e.Message)
		if e.ExitCode != nil {
			line += fmt.Sprintf(" (exit %d)", *e.ExitCode)
		}
		lines[i] = truncate(strings.TrimRight(line, " "), d.width)
	}
	return strings.Join(lines, "\n")
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// hasRun reports whether there is a journal to read for the node.
func hasRun(n fleetstatus.NodeStatus) bool { return n.State != nil && n.State.RunID != "" }
