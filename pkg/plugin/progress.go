package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/tui"
)

// addLogFileFlag binds --log-file, where logs go while a full-screen view
// owns the terminal.
func addLogFileFlag(fs *pflag.FlagSet, path *string) {
	fs.StringVar(path, "log-file", *path, "While the interactive view runs, write client logs (warnings, retries) to this file instead of discarding them.")
}

// redirectKlog sends klog (client-go's warnings and retries) to path, or
// discards it, so that nothing draws over the view. restore puts klog back
// on stderr.
func redirectKlog(path string) (w io.Writer, restore func(), err error) {
	w = io.Discard
	var f *os.File
	if path != "" {
		if f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return nil, nil, fmt.Errorf("--log-file: %w", err)
		}
		w = f
	}
	klog.Flush()
	klog.LogToStderr(false)
	klog.SetOutput(w)
	return w, func() {
		klog.Flush()
		klog.LogToStderr(true)
		if f != nil {
			_ = f.Close()
		}
	}, nil
}

// isTerminalWriter is isTerminal for an output stream.
func isTerminalWriter(out io.Writer) bool {
	f, ok := out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// useProgressView: the view draws on stderr, where progress goes, and
// reads keys from stdin; both must be terminals, and -o json wants lines.
func (o *MigrateOptions) useProgressView() bool {
	return o.Output == "" && o.isTerminal() && isTerminalWriter(o.ErrOut)
}

// runWithProgressView is Run's loop under the progress view. Confirmations
// come first, on the plain terminal, because the view owns it afterwards.
func (o *MigrateOptions) runWithProgressView(ctx context.Context, engine *migrate.Engine) error {
	if !o.Yes {
		for _, node := range o.Plan.Nodes {
			ok, err := o.confirm(ctx, node)
			if err != nil || !ok {
				return err
			}
		}
	}
	restore, err := o.quietForView()
	if err != nil {
		return err
	}
	defer restore()
	pv := progressView{streams: o.IOStreams, target: o.Plan.Target}
	return pv.run(ctx, o.Plan.Nodes, func(ctx context.Context, node string, sink migrate.Sink) error {
		engine.Sink = o.wrapSink(sink)
		if err := engine.Migrate(ctx, node); err != nil {
			return o.explain(ctx, node, err)
		}
		return nil
	})
}

// runFleetWithProgressView is runFleet's MigrateFleet under the view: one
// row per node of the waves and the fleet line above them.
func (o *MigrateOptions) runFleetWithProgressView(ctx context.Context, engine *migrate.Engine, nodes []string, run func(context.Context) error) error {
	restore, err := o.quietForView()
	if err != nil {
		return err
	}
	defer restore()
	pv := progressView{streams: o.IOStreams, target: o.Plan.Target}
	return pv.runOnce(ctx, nodes, func(ctx context.Context, sink migrate.Sink) error {
		engine.Sink = o.wrapSink(sink)
		return run(ctx)
	})
}

// quietForView keeps klog and the preflight's re-planning (which reports
// on stderr) off the terminal the view owns, sending them to --log-file or
// nowhere; restore undoes it.
func (o *MigrateOptions) quietForView() (restore func(), err error) {
	logs, restoreKlog, err := redirectKlog(o.LogFile)
	if err != nil {
		return nil, err
	}
	planErrOut := o.Plan.ErrOut
	o.Plan.ErrOut = logs
	return func() {
		o.Plan.ErrOut = planErrOut
		restoreKlog()
	}, nil
}

// wrapSink adds what the command records besides the display (the
// evidence bundle's event log).
func (o *MigrateOptions) wrapSink(s migrate.Sink) migrate.Sink {
	if o.sinkWrap != nil {
		return o.sinkWrap(s)
	}
	return s
}

// progressView runs an engine function per node while the progress view
// shows its events.
type progressView struct {
	streams genericiooptions.IOStreams
	target  string
	// options are extra program options; tests pass input and output.
	options []tea.ProgramOption
}

// run calls fn for each node in turn and stops at the first error, as the
// line printer does. fn's sink feeds the view through a channel; closing it
// ends the view. The returned error is fn's. The caller keeps klog and
// other writers off the terminal meanwhile.
func (pv progressView) run(ctx context.Context, nodes []string, fn func(ctx context.Context, node string, sink migrate.Sink) error) error {
	return pv.show(ctx, nodes, func(ctx context.Context, feed *eventFeed) error {
		return feed.runNodes(ctx, nodes, fn)
	})
}

// runOnce calls fn once (a fleet run, whose nodes overlap) under the view.
func (pv progressView) runOnce(ctx context.Context, nodes []string, fn func(ctx context.Context, sink migrate.Sink) error) error {
	return pv.show(ctx, nodes, func(ctx context.Context, feed *eventFeed) error {
		return fn(ctx, feed.sink)
	})
}

// show runs work while the view draws its events.
func (pv progressView) show(ctx context.Context, nodes []string, work func(ctx context.Context, feed *eventFeed) error) error {
	engineCtx, abort := context.WithCancel(ctx)
	defer abort()
	feed := newEventFeed()
	errc := make(chan error, 1)
	go func() {
		err := work(migrate.WithStopAfterStep(engineCtx, feed.stop), feed)
		close(feed.events)
		errc <- err
	}()
	m := tui.NewProgress(tui.ProgressConfig{Events: feed.events, Nodes: nodes, Target: pv.target, Cancel: feed.stopAfterStep, Abort: abort})
	opts := append([]tea.ProgramOption{tea.WithInput(pv.streams.In), tea.WithOutput(pv.streams.ErrOut)}, pv.options...)
	if _, err := tea.NewProgram(m, opts...).Run(); err != nil {
		// The view is gone but the engine is not: stop it at the next
		// step boundary and keep reporting as lines.
		feed.stopAfterStep()
		fmt.Fprintf(pv.streams.ErrOut, "the progress view failed (%v); stopping after the current step\n", err)
	}
	print := newEventPrinter(pv.streams, "")
	for ev := range feed.events {
		print(ev)
	}
	return <-errc
}

// eventFeed is the sink side of the view: it forwards events, remembers
// which nodes reported a failure, and carries "stop after the current step"
// to the engine, which ends the steps in flight and starts no other (see
// migrate.WithStopAfterStep).
type eventFeed struct {
	events   chan migrate.Event
	stop     chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	failed   map[string]bool
}

func newEventFeed() *eventFeed {
	// Buffered so that the engine does not wait on rendering.
	return &eventFeed{events: make(chan migrate.Event, 1024), stop: make(chan struct{}), failed: map[string]bool{}}
}

func (f *eventFeed) stopAfterStep() {
	f.stopOnce.Do(func() { close(f.stop) })
}

// stopping tells whether a stop was asked.
func (f *eventFeed) stopping() bool {
	select {
	case <-f.stop:
		return true
	default:
		return false
	}
}

func (f *eventFeed) sink(ev migrate.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ev.Phase == migrate.PhaseFailed {
		f.failed[ev.Node] = true
	}
	f.events <- ev
}

func (f *eventFeed) runNodes(ctx context.Context, nodes []string, fn func(context.Context, string, migrate.Sink) error) error {
	for _, node := range nodes {
		if f.stopping() {
			return fmt.Errorf("stopped before %s as asked; run the same command again to go on", node)
		}
		if err := fn(ctx, node, f.sink); err != nil {
			f.reportFailure(node, err)
			return err
		}
	}
	return nil
}

// reportFailure shows errors that came before any step (reading the node,
// the lock) on the node's row.
func (f *eventFeed) reportFailure(node string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed[node] || errors.Is(err, migrate.ErrStopped) {
		return // shown already, or not a failure
	}
	f.events <- migrate.Event{Time: time.Now(), Node: node, Phase: migrate.PhaseFailed, Err: err.Error(), Progress: -1}
}
