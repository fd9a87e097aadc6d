package plugin

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFactsProgressLines(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	var out bytes.Buffer
	p := newFactsProgress(&out, false, 20, now)
	for i := 1; i <= 20; i++ {
		at = at.Add(100 * time.Millisecond)
		if i == 5 {
			// a slow node: the next one done prints although no tenth passed
			at = at.Add(6 * time.Second)
		}
		var err error
		if i == 7 {
			err = errors.New("pod did not start")
		}
		p.nodeDone(fmt.Sprintf("node-%d", i), err)
	}
	want := []string{
		"collecting host facts: 2/20 nodes (200ms)",
		"collecting host facts: 4/20 nodes (400ms)",
		"collecting host facts: 5/20 nodes (6.5s)",
		"collecting host facts: 6/20 nodes (6.6s)",
		"  node-7: failed: pod did not start",
		"collecting host facts: 8/20 nodes, 1 failed (6.8s)",
		"collecting host facts: 10/20 nodes, 1 failed (7s)",
		"collecting host facts: 12/20 nodes, 1 failed (7.2s)",
		"collecting host facts: 14/20 nodes, 1 failed (7.4s)",
		"collecting host facts: 16/20 nodes, 1 failed (7.6s)",
		"collecting host facts: 18/20 nodes, 1 failed (7.8s)",
		"collecting host facts: 20/20 nodes, 1 failed (8s)",
	}
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFactsProgressTerminal(t *testing.T) {
	var out bytes.Buffer
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newFactsProgress(&out, true, 3, func() time.Time { return at })
	p.nodeDone("a", nil)
	p.nodeDone("b", errors.New("boom"))
	p.nodeDone("c", nil)
	want := "\r\033[Kcollecting host facts: 1/3 nodes (0s)" +
		"\r\033[K  b: failed: boom\n\r\033[Kcollecting host facts: 2/3 nodes, 1 failed (0s)" +
		"\r\033[Kcollecting host facts: 3/3 nodes, 1 failed (0s)\n"
	if got := out.String(); got != want {
		t.Errorf("terminal output %q, want %q", got, want)
	}
}
