package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
	"github.com/crimig/kubectl-crimig/pkg/tui"
)

// runTUI opens the interactive view; klog goes to --log-file meanwhile.
func (o *StatusOptions) runTUI(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src := fleetstatus.NewWatchSource(o.client, o.Exec.PodNamespace, o.Nodes)
	if err := src.Start(ctx); err != nil {
		return err
	}
	logs, restore, err := redirectKlog(o.LogFile)
	if err != nil {
		return err
	}
	defer restore()
	journal := &lazyJournal{o: o, log: logs}
	defer journal.close(o.ErrOut)
	m := tui.NewStatus(tui.StatusConfig{Context: ctx, Source: src, Journal: journal.read})
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(o.In), tea.WithOutput(o.Out), tea.WithAltScreen())
	_, err = p.Run()
	// Stop the watches and any journal read before the node pod is deleted.
	cancel()
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("the status view failed: %w; use -o table instead", err)
	}
	return nil
}

// lazyJournal creates the node pod executor on the first journal read, so
// that looking at the table never starts a pod.
type lazyJournal struct {
	o   *StatusOptions
	log io.Writer
	mu  sync.Mutex
	ex  *nodeexec.Executor
}

func (j *lazyJournal) read(ctx context.Context, node, runID string) ([]nodeexec.JournalEntry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ex == nil {
		ex, err := newExecutor(ctx, j.o.restConfig, j.o.client, j.o.Exec, j.log)
		if err != nil {
			return nil, err
		}
		j.ex = ex
	}
	return j.ex.JobLog(ctx, node, runID)
}

func (j *lazyJournal) close(errOut io.Writer) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ex != nil {
		closeExecutor(j.ex, errOut)
	}
}
