package tui

import (
	"strconv"

	"github.com/charmbracelet/x/ansi"
)

func itoa(i int) string { return strconv.Itoa(i) }

func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return ansi.Truncate(s, width, "…")
}
