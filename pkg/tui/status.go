package tui

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
)

// StatusConfig is what the status view needs from its caller.
type StatusConfig struct {
	// Context bounds the journal reads.
	Context context.Context
	Source  fleetstatus.Source
	// Journal reads a run's host journal; nil hides the journal.
	Journal JournalFunc
	// Now is the clock, replaceable in tests.
	Now func() time.Time
}

// Messages of the status view.
type (
	statusMsg       *fleetstatus.Status
	sourceClosedMsg struct{}
	clockMsg        time.Time
)

// waitForUpdate blocks on the source in a Cmd; Update re-arms it after each
// status, so the watch feeds the view without a polling loop.
func waitForUpdate(ch <-chan *fleetstatus.Status) tea.Cmd {
	return func() tea.Msg {
		s, ok := <-ch
		if !ok {
			return sourceClosedMsg{}
		}
		return statusMsg(s)
	}
}

// clockTick refreshes the elapsed column once a second; it reads no API.
func clockTick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return clockMsg(t) })
}

// StatusModel is the fleet status view: header, node table, filter, detail
// pane and help, each rendered by its own part.
type StatusModel struct {
	cfg       StatusConfig
	keys      statusKeys
	styles    styles
	help      help.Model
	table     nodeTable
	filter    textinput.Model
	filtering bool
	detail    *detailPane
	status    *fleetstatus.Status
	loaded    bool
	closed    bool
	width     int
	height    int
}

// NewStatus builds the status view.
func NewStatus(cfg StatusConfig) *StatusModel {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	s := newStyles()
	ti := textinput.New()
	ti.Prompt = "/"
	ti.Placeholder = "filter nodes"
	m := &StatusModel{cfg: cfg, keys: newStatusKeys(), styles: s, help: help.New(), table: newNodeTable(s), filter: ti, width: 120, height: 24,
		status: &fleetstatus.Status{}}
	m.layout()
	return m
}

// Init implements tea.Model.
func (m *StatusModel) Init() tea.Cmd {
	return tea.Batch(waitForUpdate(m.cfg.Source.Updates()), clockTick())
}

// Update implements tea.Model.
func (m *StatusModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case statusMsg:
		m.applyStatus(msg)
		return m, waitForUpdate(m.cfg.Source.Updates())
	case sourceClosedMsg:
		m.closed = true
		return m, nil
	case clockMsg:
		m.table.tick(m.cfg.Now())
		return m, clockTick()
	case journalMsg:
		if m.detail != nil && m.detail.node.Name == msg.node {
			m.detail.setJournal(msg)
		}
		return m, nil
	case tea.KeyMsg:
		return m, m.onKey(msg)
	}
	return m, nil
}

// applyStatus takes a new status: only the rows that changed move or are
// rendered again.
func (m *StatusModel) applyStatus(st *fleetstatus.Status) {
	m.status = st
	m.loaded = true
	m.table.setData(st.Items, m.cfg.Now())
	if m.detail != nil {
		name := m.detail.node.Name
		if i, ok := slices.BinarySearchFunc(st.Items, name, func(n fleetstatus.NodeStatus, name string) int { return strings.Compare(n.Name, name) }); ok {
			m.detail.setNode(st.Items[i])
		}
	}
	m.layout()
}

func (m *StatusModel) onKey(msg tea.KeyMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.filtering {
		return m.onFilterKey(msg)
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return tea.Quit
	case key.Matches(msg, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.layout()
		return nil
	}
	if m.detail != nil {
		if key.Matches(msg, m.keys.Back) {
			m.detail = nil
			return nil
		}
		return m.detail.update(msg)
	}
	now := m.cfg.Now()
	switch {
	case key.Matches(msg, m.keys.Filter):
		m.filtering = true
		m.layout()
		return m.filter.Focus()
	case key.Matches(msg, m.keys.Sort):
		m.table.cycleSort(now)
	case key.Matches(msg, m.keys.Reverse):
		m.table.toggleReverse(now)
	case key.Matches(msg, m.keys.Detail):
		return m.openDetail()
	case key.Matches(msg, m.keys.Back):
		m.filter.SetValue("")
		m.table.setFilter("", now)
		m.layout()
	default:
		return m.table.update(msg)
	}
	return nil
}

// onFilterKey edits the filter; enter keeps it, esc clears it.
func (m *StatusModel) onFilterKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEnter:
		m.filtering = false
		m.filter.Blur()
		m.layout()
		return nil
	case tea.KeyEsc:
		m.filtering = false
		m.filter.Blur()
		m.filter.SetValue("")
		m.table.setFilter("", m.cfg.Now())
		m.layout()
		return nil
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	m.table.setFilter(m.filter.Value(), m.cfg.Now())
	return cmd
}

// openDetail shows the selected node and reads its journal in a Cmd.
func (m *StatusModel) openDetail() tea.Cmd {
	n, ok := m.table.Selected()
	if !ok {
		return nil
	}
	m.detail = newDetailPane(n, m.styles, m.width, m.bodyHeight())
	if !hasRun(n) || m.cfg.Journal == nil {
		return nil
	}
	m.detail.loading = true
	m.detail.setNode(n)
	return fetchJournal(m.cfg.Context, m.cfg.Journal, n.Name, n.State.RunID)
}

// layout sizes the panes to the window.
func (m *StatusModel) layout() {
	m.help.Width = m.width
	m.filter.Width = max(m.width-4, 10)
	h := m.bodyHeight()
	m.table.setSize(m.width, h)
	if m.detail != nil {
		m.detail.setSize(m.width, h)
	}
}

func (m *StatusModel) bodyHeight() int {
	used := lineCount(m.headerView()) + lineCount(m.footerView())
	return max(m.height-used, 4)
}

func lineCount(s string) int {
	if s == "" {
		return 0
	}
	return strings.Count(s, "\n") + 1
}

// View implements tea.Model.
func (m *StatusModel) View() string {
	body := m.table.View()
	if m.detail != nil {
		body = m.detail.view(m.cfg.Now())
	}
	if !m.loaded {
		body = m.styles.dim.Render("waiting for the node list…")
	}
	return m.headerView() + "\n" + body + "\n" + m.footerView()
}

func (m *StatusModel) headerView() string {
	line := m.styles.title.Render("crimig status")
	if m.loaded {
		line += "  " + fleetstatus.FormatCounts(m.status.Counts)
	}
	lines := []string{truncate(line, m.width)}
	if l := m.status.FleetLock; l != nil {
		lines = append(lines, truncate(m.styles.warn.Render(fleetstatus.FormatFleetRun(l, m.cfg.Now())), m.width))
	}
	for _, w := range m.status.Warnings {
		lines = append(lines, truncate(m.styles.warn.Render("warning: "+w), m.width))
	}
	if m.closed {
		lines = append(lines, m.styles.bad.Render("the watch ended; the view no longer updates (q to quit)"))
	}
	return strings.Join(lines, "\n")
}

func (m *StatusModel) footerView() string {
	var lines []string
	switch {
	case m.filtering:
		lines = append(lines, m.filter.View())
	case m.filter.Value() != "":
		lines = append(lines, m.styles.dim.Render("filter: "+m.filter.Value()+"  (esc clears)"))
	}
	if m.detail != nil {
		lines = append(lines, m.help.View(detailKeys{m.keys}))
	} else {
		lines = append(lines, m.help.View(m.keys))
	}
	return strings.Join(lines, "\n")
}
