package fleetstatus

import (
	"fmt"
	"time"
)

// FormatElapsed renders a duration the way kubectl renders ages: 45s, 3m12s,
// 2h05m; zero is "-".
func FormatElapsed(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d <= 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// YesNo renders a boolean column.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
