package plugin

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// factsProgressEvery is how often, at most, a progress line is written when
// stderr is no terminal, besides one at each tenth of the nodes.
const factsProgressEvery = 5 * time.Second

// factsProgress reports how far reading host facts is, on stderr: on a
// terminal one line rewritten in place, otherwise a line at each tenth of
// the nodes or every few seconds. A node that fails gets a line of its own.
type factsProgress struct {
	out   io.Writer
	tty   bool
	total int
	now   func() time.Time

	mu                  sync.Mutex
	start, last         time.Time
	done, failed, tenth int
}

func newFactsProgress(out io.Writer, tty bool, total int, now func() time.Time) *factsProgress {
	t := now()
	return &factsProgress{out: out, tty: tty, total: total, now: now, start: t, last: t}
}

// nodeDone records one node's result.
func (p *factsProgress) nodeDone(node string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if err != nil {
		p.failed++
		if p.tty {
			fmt.Fprint(p.out, "\r\033[K")
		}
		fmt.Fprintf(p.out, "  %s: failed: %v\n", node, err)
	}
	t := p.now()
	tenth := p.done * 10 / max(p.total, 1)
	switch {
	case p.tty:
		fmt.Fprint(p.out, "\r\033[K"+p.line(t))
		if p.done == p.total {
			fmt.Fprintln(p.out)
		}
	case tenth > p.tenth || t.Sub(p.last) >= factsProgressEvery:
		fmt.Fprintln(p.out, p.line(t))
		p.last = t
	}
	p.tenth = tenth
}

func (p *factsProgress) line(t time.Time) string {
	s := fmt.Sprintf("collecting host facts: %d/%d nodes", p.done, p.total)
	if p.failed > 0 {
		s += fmt.Sprintf(", %d failed", p.failed)
	}
	return s + fmt.Sprintf(" (%s)", t.Sub(p.start).Round(100*time.Millisecond))
}
