package tui

import (
	"os"

	"github.com/charmbracelet/bubbles/table"
	"github.com/charmbracelet/lipgloss"
)

// styles are the few colours and weights the views use. Colour follows
// lipgloss's detected profile, which already honours NO_COLOR; glyphs (✓ ✗ ›)
// carry the meaning, so nothing is lost without colour.
type styles struct {
	title, dim, ok, bad, warn, selected, header lipgloss.Style
}

func newStyles() styles {
	s := styles{
		title:    lipgloss.NewStyle().Bold(true),
		dim:      lipgloss.NewStyle().Faint(true),
		ok:       lipgloss.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "28", Dark: "42"}),
		bad:      lipgloss.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "160", Dark: "203"}),
		warn:     lipgloss.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "130", Dark: "214"}),
		selected: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.AdaptiveColor{Light: "0", Dark: "229"}).Background(lipgloss.AdaptiveColor{Light: "153", Dark: "57"}),
		header:   lipgloss.NewStyle().Bold(true),
	}
	if noColor() {
		s.ok, s.bad, s.warn = lipgloss.NewStyle(), lipgloss.NewStyle(), lipgloss.NewStyle()
		s.selected = lipgloss.NewStyle().Bold(true)
	}
	return s
}

// noColor: https://no-color.org; lipgloss strips colour too, this also drops
// the background of the selected row so that it stays readable.
func noColor() bool {
	_, set := os.LookupEnv("NO_COLOR")
	return set
}

func (s styles) table() table.Styles {
	ts := table.DefaultStyles()
	// One space between columns: the table has eleven of them.
	ts.Header = ts.Header.Bold(true).Padding(0, 1, 0, 0).BorderStyle(lipgloss.NormalBorder()).BorderBottom(true)
	ts.Cell = ts.Cell.Padding(0, 1, 0, 0)
	ts.Selected = s.selected
	return ts
}
