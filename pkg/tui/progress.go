package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// ProgressConfig is what the migrate progress view needs from its caller.
type ProgressConfig struct {
	// Events come from the engine's Sink; closing the channel means the
	// engine finished, and the view then quits.
	Events <-chan migrate.Event
	// Nodes are the nodes of the run, in order.
	Nodes []string
	// Target names the runtime in the title.
	Target string
	// Cancel asks the engine to stop after the current step; Abort, when
	// set, interrupts the current step as well (second Ctrl-C).
	Cancel func()
	Abort  func()
	// LogLines is how many messages of the current step stay visible.
	LogLines int
	// Now is the clock and Spinner the busy glyph; tests replace both.
	Now     func() time.Time
	Spinner *spinner.Spinner
}

// Messages of the progress view.
type (
	eventMsg     migrate.Event
	eventsEndMsg struct{}
)

// waitForEvent reads one engine event in a Cmd; Update re-arms it.
func waitForEvent(ch <-chan migrate.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsEndMsg{}
		}
		return eventMsg(ev)
	}
}

// stop states of the progress view.
type stopState int

const (
	running stopState = iota
	confirming
	stopping
	aborting
)

// ProgressModel shows a migration as it happens: a row per node with an
// overall bar, then the steps and log tail of the node that last reported.
type ProgressModel struct {
	cfg      ProgressConfig
	keys     progressKeys
	styles   styles
	nodes    []*nodeProgress
	focus    *nodeProgress
	fleet    fleetProgress
	spinner  spinner.Model
	overall  progress.Model
	stepBar  progress.Model
	log      viewport.Model
	started  time.Time
	ended    time.Time
	stop     stopState
	finished bool
	width    int
}

// NewProgress builds the progress view.
func NewProgress(cfg ProgressConfig) *ProgressModel {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LogLines <= 0 {
		cfg.LogLines = 6
	}
	sp := spinner.New(spinner.WithSpinner(spinner.MiniDot))
	if cfg.Spinner != nil {
		sp.Spinner = *cfg.Spinner
	}
	m := &ProgressModel{
		cfg: cfg, keys: newProgressKeys(), styles: newStyles(), spinner: sp, started: cfg.Now(),
		overall: progress.New(progress.WithSolidFill("#5A56E0"), progress.WithoutPercentage()),
		stepBar: progress.New(progress.WithSolidFill("#04B575"), progress.WithoutPercentage()),
		log:     viewport.New(80, cfg.LogLines),
	}
	for _, n := range cfg.Nodes {
		m.nodes = append(m.nodes, newNodeProgress(n, cfg.LogLines))
	}
	m.resize(100)
	return m
}

// Init implements tea.Model.
func (m *ProgressModel) Init() tea.Cmd {
	return tea.Batch(waitForEvent(m.cfg.Events), m.spinner.Tick, clockTick())
}

// Update implements tea.Model.
func (m *ProgressModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width)
	case eventMsg:
		m.apply(migrate.Event(msg))
		return m, waitForEvent(m.cfg.Events)
	case eventsEndMsg:
		m.finished, m.ended = true, m.cfg.Now()
		return m, tea.Quit
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case clockMsg:
		if !m.finished {
			return m, clockTick()
		}
	case tea.KeyMsg:
		return m, m.onKey(msg)
	}
	return m, nil
}

func (m *ProgressModel) apply(ev migrate.Event) {
	if ev.Step == migrate.StepFleet {
		m.fleet.apply(ev)
		return
	}
	np := m.node(ev.Node)
	np.apply(ev)
	m.focus = np
	m.log.SetContent(strings.Join(np.log, "\n"))
	m.log.GotoBottom()
}

func (m *ProgressModel) node(name string) *nodeProgress {
	for _, np := range m.nodes {
		if np.name == name {
			return np
		}
	}
	np := newNodeProgress(name, m.cfg.LogLines)
	m.nodes = append(m.nodes, np)
	return np
}

// onKey: Ctrl-C asks before stopping; a second Ctrl-C while stopping
// interrupts the current step too.
func (m *ProgressModel) onKey(msg tea.KeyMsg) tea.Cmd {
	switch m.stop {
	case running:
		if key.Matches(msg, m.keys.Stop) {
			m.stop = confirming
		}
	case confirming:
		switch {
		case key.Matches(msg, m.keys.Yes):
			m.stop = stopping
			if m.cfg.Cancel != nil {
				m.cfg.Cancel()
			}
		case key.Matches(msg, m.keys.No), key.Matches(msg, m.keys.Stop):
			m.stop = running
		}
	case stopping:
		if key.Matches(msg, m.keys.Stop) && m.cfg.Abort != nil {
			m.stop = aborting
			m.cfg.Abort()
		}
	}
	return nil
}

func (m *ProgressModel) resize(width int) {
	m.width = width
	m.overall.Width = min(max(width-40, 10), 50)
	m.stepBar.Width = min(max(width/5, 10), 24)
	m.log.Width = width
}

// View implements tea.Model.
func (m *ProgressModel) View() string {
	var b strings.Builder
	b.WriteString(m.titleView() + "\n\n")
	if m.fleet.seen {
		b.WriteString(truncate(m.fleetView(), m.width) + "\n")
	}
	for _, np := range m.nodes {
		b.WriteString(truncate(m.nodeRow(np), m.width) + "\n")
	}
	if m.focus != nil {
		b.WriteString("\n" + m.stepsView(m.focus))
		if len(m.focus.log) > 0 {
			b.WriteString("\n" + m.styles.dim.Render(m.focus.name+" log") + "\n" + m.log.View() + "\n")
		}
	}
	b.WriteString("\n" + m.footerView())
	if m.finished {
		// The renderer returns the cursor to the start of the last line
		// when it stops; keep that line empty so that what the command
		// prints next does not overwrite the summary.
		b.WriteString("\n")
	}
	return b.String()
}

func (m *ProgressModel) now() time.Time {
	if m.finished {
		return m.ended
	}
	return m.cfg.Now()
}

func (m *ProgressModel) titleView() string {
	title := "crimig migrate"
	if m.cfg.Target != "" {
		title += " → " + m.cfg.Target
	}
	done, total := 0, 0
	for _, np := range m.nodes {
		done += np.completed()
		total += len(np.steps)
	}
	pct := 0.0
	if total > 0 {
		pct = float64(done) / float64(total)
	}
	return fmt.Sprintf("%s  %s %d/%d steps  %s", m.styles.title.Render(title), m.overall.ViewAs(pct), done, total,
		fleetstatus.FormatElapsed(m.now().Sub(m.started)))
}

// nodeRow is one line per node: state glyph, current step, its bar, the
// last message and the time spent.
func (m *ProgressModel) nodeRow(np *nodeProgress) string {
	glyph, what := m.styles.dim.Render("·"), "waiting"
	switch {
	case np.failed:
		glyph, what = m.styles.bad.Render("✗"), "failed: "+np.err
	case np.done:
		glyph, what = m.styles.ok.Render("✓"), "done"
	case np.running() && m.finished:
		glyph, what = m.styles.warn.Render("■"), "stopped"
	case np.running():
		glyph, what = m.spinner.View(), "starting"
	}
	if np.current >= 0 && !np.done && !np.failed {
		what = m.currentStep(np)
	}
	if np.done && np.info != "" {
		what = "done: " + np.info
	}
	return fmt.Sprintf("%s %-*s %6s  %s", glyph, m.nameWidth(), np.name, fleetstatus.FormatElapsed(np.elapsed(m.now())), what)
}

// currentStep describes the step a node is in: its bar and last message
// while it runs, or where the node stopped.
func (m *ProgressModel) currentStep(np *nodeProgress) string {
	s := np.steps[np.current]
	if s.status != stepRunning {
		if m.finished {
			return "stopped after " + s.name
		}
		return s.name + " " + m.styles.dim.Render("done")
	}
	what := s.name
	if s.progress >= 0 {
		what += " " + m.stepBar.ViewAs(s.progress) + fmt.Sprintf(" %3.0f%%", s.progress*100)
	}
	if s.note != "" {
		what += "  " + m.styles.dim.Render(s.note)
	}
	if m.finished {
		what = "stopped in " + what
	}
	return what
}

func (m *ProgressModel) nameWidth() int {
	w := 4
	for _, np := range m.nodes {
		w = max(w, len(np.name))
	}
	return w
}

// stepsView lists the steps of one node with ✓, the spinner, ✗ or ·.
func (m *ProgressModel) stepsView(np *nodeProgress) string {
	var b strings.Builder
	b.WriteString(m.styles.title.Render("Steps on "+np.name) + "\n")
	for _, s := range np.steps {
		var glyph string
		switch s.status {
		case stepDone:
			glyph = m.styles.ok.Render("✓")
		case stepSkipped:
			glyph = m.styles.dim.Render("✓")
		case stepFailed:
			glyph = m.styles.bad.Render("✗")
		case stepRunning:
			glyph = m.spinner.View()
			if m.finished {
				glyph = m.styles.warn.Render("■")
			}
		default:
			glyph = m.styles.dim.Render("·")
		}
		line := "  " + glyph + " " + s.name
		if s.status == stepSkipped {
			line += m.styles.dim.Render(" (skipped)")
		}
		if s.status == stepRunning && s.progress >= 0 {
			line += " " + m.stepBar.ViewAs(s.progress)
		}
		b.WriteString(truncate(line, m.width) + "\n")
	}
	return b.String()
}

func (m *ProgressModel) footerView() string {
	switch {
	case m.finished:
		return m.summaryView()
	case m.stop == confirming:
		return m.styles.warn.Render("Stop after the current step? y/n")
	case m.stop == stopping:
		return m.styles.warn.Render("Stopping after the current step… (ctrl+c again interrupts it)") + "\n" + m.nextView()
	case m.stop == aborting:
		return m.styles.warn.Render("Interrupting the current step…") + "\n" + m.nextView()
	}
	return m.styles.dim.Render("ctrl+c stop after the current step")
}

// summaryView is the last frame: what happened and, for a node that did
// not finish, what to run next.
func (m *ProgressModel) summaryView() string {
	done := 0
	for _, np := range m.nodes {
		if np.done {
			done++
		}
	}
	line := fmt.Sprintf("%d of %d node(s) migrated in %s", done, len(m.nodes), fleetstatus.FormatElapsed(m.ended.Sub(m.started)))
	if next := m.nextView(); next != "" {
		return line + "\n" + next
	}
	return line
}

// nextView names the commands that resume or undo an unfinished node.
func (m *ProgressModel) nextView() string {
	var lines []string
	for _, np := range m.nodes {
		if np.failed || np.running() {
			lines = append(lines, fmt.Sprintf("%s: resume with 'kubectl crimig migrate %s' or roll back with 'kubectl crimig rollback %s'", np.name, np.name, np.name))
		}
	}
	return strings.Join(lines, "\n")
}
