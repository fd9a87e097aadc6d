package plugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/i18n"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

var statusLong = templates.LongDesc(i18n.T(`
	Show every node's runtime and where crimig stands on it: the phase and last
	completed step of the current or last run (from the crimig.io/state
	annotation), how long it has been going, its last error, and who holds the
	node's lock. While a fleet run (migrate --all, --selector or several nodes)
	holds the crimig-fleet Lease, status also shows its wave, the nodes in
	flight and how many are done, failed or waiting.

	On a terminal, status opens an interactive view that follows the cluster
	through watches: / filters, s and S sort, enter shows a node's steps and the
	host journal of its last run (read through a short-lived node pod), ? shows
	every key. Elsewhere, or with -o, it prints the nodes once; --watch then
	prints each node again whenever it changes, until Ctrl-C. -o takes
	kubectl's formats too: json, yaml, name, jsonpath, go-template and
	custom-columns, over a NodeStatusList with one item per node.

	The data comes from one paginated list of Nodes and one of the Leases in
	--pod-namespace; nothing is changed.`))

var statusExample = templates.Examples(i18n.T(`
	# Follow the fleet interactively
	kubectl crimig status

	# Two nodes, once, with run ids, lock holders and errors
	kubectl crimig status node-1 node-2 -o wide

	# Print nodes as they change, for a log or a second terminal
	kubectl crimig status --watch

	# Machine-readable, e.g. for dashboards
	kubectl crimig status -o json

	# The phase of every node, as kubectl prints fields
	kubectl crimig status -o custom-columns=NAME:.name,PHASE:.state.phase,STEP:.state.step
	kubectl crimig status -o jsonpath='{range .items[?(@.state.phase=="Failed")]}{.name}{"\n"}{end}'`))

// StatusOptions holds the flags of `kubectl crimig status`.
type StatusOptions struct {
	Nodes []string
	// Output is -o; PrintFlags binds it: status prints table and wide
	// itself, kubectl's printers print the rest.
	Output     string
	PrintFlags *printFlags
	Watch      bool
	LogFile    string
	// Exec names the pod namespace (Leases) and the node pod used to read a
	// run's journal from the interactive view.
	Exec *NodeExecFlags

	printer printers.ResourcePrinter
	clusterClients
	isTerminal func() bool
	genericiooptions.IOStreams
}

// NewStatusOptions returns the defaults.
func NewStatusOptions(streams genericiooptions.IOStreams) *StatusOptions {
	o := &StatusOptions{
		Exec:       NewNodeExecFlags(),
		isTerminal: func() bool { return isTerminal(streams.In) && isTerminalWriter(streams.Out) },
		IOStreams:  streams,
	}
	o.PrintFlags = newPrintFlags(&o.Output, true, "table", "wide")
	return o
}

// NewCmdStatus builds `kubectl crimig status`.
func NewCmdStatus(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewStatusOptions(streams)
	cmd := &cobra.Command{
		Use:               "status [NODE...]",
		Short:             "Show each node's runtime and migration state, live on a terminal",
		Long:              statusLong,
		Example:           statusExample,
		ValidArgsFunction: nodeNameCompletion(f),
		RunE:              completeValidateRun(f, o),
	}
	fs := cmd.Flags()
	o.PrintFlags.AddFlags(cmd, "Output format.")
	fs.Lookup("output").Usage += " Default: the interactive view on a terminal, table otherwise."
	fs.BoolVarP(&o.Watch, "watch", "w", false, "After the list, print each node again whenever it changes, until Ctrl-C.")
	addLogFileFlag(fs, &o.LogFile)
	o.Exec.AddFlags(fs)
	return cmd
}

// Complete resolves the printer and clients.
func (o *StatusOptions) Complete(f cmdutil.Factory, args []string) error {
	o.Nodes = args
	if err := o.completePrinter(); err != nil {
		return err
	}
	return o.completeClients(f)
}

// completePrinter resolves -o: a table status prints itself, or one of
// kubectl's printers.
func (o *StatusOptions) completePrinter() error {
	if o.PrintFlags.IsTable() {
		o.printer = nil
		return nil
	}
	var err error
	o.printer, err = o.PrintFlags.ToPrinter()
	return err
}

// Validate checks flag values without contacting the cluster.
func (o *StatusOptions) Validate() error {
	return o.Exec.Validate()
}

func (o *StatusOptions) wide() bool { return o.PrintFlags.Format() == "wide" }

// Run prints the status, follows it with --watch, or opens the view.
func (o *StatusOptions) Run(ctx context.Context) error {
	switch {
	case o.Watch:
		return o.watch(ctx)
	case o.PrintFlags.Format() == "" && o.isTerminal():
		return o.runTUI(ctx)
	}
	st, err := fleetstatus.List(ctx, o.client, o.Exec.PodNamespace, o.Nodes)
	if err != nil {
		return err
	}
	if err := o.checkNodes(st); err != nil {
		return err
	}
	return o.print(st)
}

// checkNodes fails on named nodes that do not exist, as kubectl get does.
func (o *StatusOptions) checkNodes(st *fleetstatus.Status) error {
	found := map[string]bool{}
	for _, n := range st.Items {
		found[n.Name] = true
	}
	var missing []string
	for _, n := range o.Nodes {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("node(s) not found: %s; list them with 'kubectl get nodes'", strings.Join(missing, ", "))
	}
	return nil
}

func (o *StatusOptions) print(st *fleetstatus.Status) error {
	for _, w := range st.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}
	if o.printer != nil {
		return PrintObject(o.printer, st, o.Out)
	}
	if st.FleetLock != nil {
		fmt.Fprintln(o.ErrOut, fleetLine(st.FleetLock, time.Now()))
	}
	w := printers.GetNewTabWriter(o.Out)
	fmt.Fprintln(w, statusHeader(o.wide()))
	for _, n := range st.Items {
		fmt.Fprintln(w, statusRow(n, o.wide(), time.Now()))
	}
	return w.Flush()
}

// fleetLine is the fleet run for the plain outputs: who runs it, the wave
// and why, the nodes in flight, done, failed and waiting.
func fleetLine(l *fleetstatus.LeaseStatus, now time.Time) string {
	line := "A fleet run holds " + l.Name + ": " + strings.TrimPrefix(fleetstatus.FormatFleetRun(l, now), "fleet run: ")
	if l.Fleet != nil && l.Fleet.Wave > 0 && l.Fleet.WaveWhy != "" {
		line += fmt.Sprintf(" (wave %d: %s)", l.Fleet.Wave, l.Fleet.WaveWhy)
	}
	return line
}

func statusHeader(wide bool) string {
	h := "NAME\tROLE\tRUNTIME\tKUBELET\tREADY\tCORDONED\tPHASE\tSTEP\tPROGRESS\tELAPSED"
	if wide {
		h += "\tRUN\tTO\tLOCK-HOLDER\tLAST-ERROR"
	}
	return h
}

func statusRow(n fleetstatus.NodeStatus, wide bool, now time.Time) string {
	progress := "-"
	if n.State != nil {
		progress = fmt.Sprintf("%d/%d", n.StepsDone, n.StepsTotal)
	}
	cells := []string{n.Name, n.Role, dash(n.RuntimeString()), dash(n.KubeletVersion), fleetstatus.YesNo(n.Ready), fleetstatus.YesNo(n.Cordoned),
		n.Phase(), n.Step(), progress, fleetstatus.FormatElapsed(n.Elapsed(now))}
	if wide {
		run, to, holder := "-", "-", "-"
		if n.State != nil {
			run, to = dash(n.State.RunID), dash(n.State.To)
		}
		if n.Lock != nil {
			holder = dash(n.Lock.Holder)
		}
		cells = append(cells, run, to, holder, dash(oneLine(n.LastError())))
	}
	return strings.Join(cells, "\t")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// watch prints the list, then each node again when its row changes, the way
// kubectl get --watch does.
func (o *StatusOptions) watch(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src := fleetstatus.NewWatchSource(o.client, o.Exec.PodNamespace, o.Nodes)
	if err := src.Start(ctx); err != nil {
		return err
	}
	wp := &watchPrinter{o: o, printed: map[string]string{}, seen: map[string]fleetstatus.NodeStatus{}}
	for st := range src.Updates() {
		if err := wp.printChanged(st); err != nil {
			return err
		}
	}
	return nil
}

// watchPrinter remembers the rows it printed and the column widths, so that
// later rows line up with the first ones.
type watchPrinter struct {
	o       *StatusOptions
	printed map[string]string
	// seen are the rows as last compared: a row the source did not change
	// is skipped without rendering it.
	seen   map[string]fleetstatus.NodeStatus
	widths []int
	header bool
	// fleet is the fleet run as last printed, "" when there was none.
	fleet string
}

func (wp *watchPrinter) printChanged(st *fleetstatus.Status) error {
	now := time.Now()
	wp.printFleet(st.FleetLock, now)
	for _, n := range st.Items {
		if old, ok := wp.seen[n.Name]; ok && old == n {
			continue
		}
		wp.seen[n.Name] = n
		// Elapsed ticks on its own; only real changes print a row.
		key := statusRow(n, true, time.Time{})
		if wp.printed[n.Name] == key {
			continue
		}
		wp.printed[n.Name] = key
		if err := wp.print(n, now); err != nil {
			return err
		}
	}
	return nil
}

// printFleet says on stderr when a fleet run starts, moves on or ends.
func (wp *watchPrinter) printFleet(l *fleetstatus.LeaseStatus, now time.Time) {
	line := ""
	if l != nil {
		line = fleetLine(l, now)
	}
	switch {
	case line == wp.fleet:
		return
	case line != "":
		fmt.Fprintln(wp.o.ErrOut, line)
	default:
		fmt.Fprintln(wp.o.ErrOut, "The fleet run released "+migrate.FleetLeaseName+".")
	}
	wp.fleet = line
}

func (wp *watchPrinter) print(n fleetstatus.NodeStatus, now time.Time) error {
	out := wp.o.Out
	if wp.o.printer != nil {
		return PrintObject(wp.o.printer, &n, out)
	}
	wide := wp.o.wide()
	if !wp.header {
		wp.header = true
		wp.fit(statusHeader(wide))
		if _, err := fmt.Fprintln(out, wp.pad(statusHeader(wide))); err != nil {
			return err
		}
	}
	row := statusRow(n, wide, now)
	wp.fit(row)
	_, err := fmt.Fprintln(out, wp.pad(row))
	return err
}

func (wp *watchPrinter) fit(row string) {
	for i, c := range strings.Split(row, "\t") {
		if i >= len(wp.widths) {
			wp.widths = append(wp.widths, 0)
		}
		// Leave room for values a little longer than the first ones.
		wp.widths[i] = max(wp.widths[i], len(c)+2)
	}
}

func (wp *watchPrinter) pad(row string) string {
	cells := strings.Split(row, "\t")
	for i := range cells[:len(cells)-1] {
		cells[i] = fmt.Sprintf("%-*s", wp.widths[i]+1, cells[i])
	}
	return strings.Join(cells, "")
}
