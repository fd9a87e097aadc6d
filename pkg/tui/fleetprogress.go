package tui

import (
	"fmt"
	"strings"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// fleetProgress folds the fleet events of a run in waves: the wave, the
// count of nodes done, and the last word on the fleet (a pause, a stop).
type fleetProgress struct {
	seen        bool
	wave, waves int
	why         string
	// counted is set once a node ended; done, failed and total come from
	// the engine's count then.
	counted             bool
	done, failed, total int
	note                string
	stopped             bool
}

func (f *fleetProgress) apply(ev migrate.Event) {
	f.seen = true
	switch ev.Phase {
	case migrate.PhaseProgress:
		if done, failed, total, ok := migrate.ParseFleetCount(ev.Message); ok {
			f.counted, f.done, f.failed, f.total = true, done, failed, total
		}
	case migrate.PhaseFailed:
		f.stopped, f.note = true, ev.Message
		if f.note == "" {
			f.note = ev.Err
		}
	default:
		if wave, waves, why, ok := migrate.ParseFleetWave(ev.Message); ok {
			f.wave, f.waves, f.why, f.note = wave, waves, why, ""
		} else if ev.Message != "" {
			f.note = ev.Message
		}
	}
}

// fleetView is the line above the node rows: "fleet  wave 2/4  ███░░░
// 3/8 nodes done · 1 failed: node-5 · pausing 1m0s before the next wave ·
// up to 2 at once".
func (m *ProgressModel) fleetView() string {
	f := &m.fleet
	line := m.styles.title.Render("fleet")
	if f.wave > 0 {
		line += fmt.Sprintf("  wave %d/%d", f.wave, f.waves)
	}
	done, total := f.done, f.total
	if !f.counted {
		total = len(m.nodes)
	}
	pct := 0.0
	if total > 0 {
		pct = float64(done) / float64(total)
	}
	line += fmt.Sprintf("  %s %d/%d nodes done", m.stepBar.ViewAs(pct), done, total)
	var failed []string
	for _, np := range m.nodes {
		if np.failed {
			failed = append(failed, np.name)
		}
	}
	if n := max(f.failed, len(failed)); n > 0 {
		what := fmt.Sprintf("%d failed", n)
		if len(failed) > 0 {
			what += ": " + shortList(failed, 3)
		}
		line += " · " + m.styles.bad.Render(what)
	}
	if f.note != "" {
		style := m.styles.warn
		if f.stopped {
			style = m.styles.bad
		}
		line += " · " + style.Render(f.note)
	}
	if f.why != "" {
		// Last: the reason of a wave can be long, the counts matter more.
		line += " · " + m.styles.dim.Render(f.why)
	}
	return line
}

// shortList joins up to n names, then says how many more there are.
func shortList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}
