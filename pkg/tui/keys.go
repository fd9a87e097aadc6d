package tui

import "github.com/charmbracelet/bubbles/key"

// statusKeys are the keys of the status view; help renders them.
type statusKeys struct {
	Up, Down, Filter, Sort, Reverse, Detail, Back, Help, Quit key.Binding
}

func newStatusKeys() statusKeys {
	return statusKeys{
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up/scroll")),
		Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down/scroll")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort column")),
		Reverse: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
		Detail:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp implements help.KeyMap.
func (k statusKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Filter, k.Sort, k.Detail, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap.
func (k statusKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.Detail, k.Back}, {k.Filter, k.Sort, k.Reverse}, {k.Help, k.Quit}}
}

// detailKeys are the keys of the node detail pane.
type detailKeys struct{ statusKeys }

// ShortHelp implements help.KeyMap.
func (k detailKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Back, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap.
func (k detailKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.Back, k.Help, k.Quit}}
}

// progressKeys are the keys of the migrate progress view.
type progressKeys struct {
	Stop, Yes, No key.Binding
}

func newProgressKeys() progressKeys {
	return progressKeys{
		Stop: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "stop after the current step")),
		Yes:  key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:   key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no")),
	}
}
