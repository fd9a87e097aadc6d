package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/i18n"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
	"github.com/crimig/kubectl-crimig/pkg/report"
)

var migrateLong = templates.LongDesc(i18n.T(`
	Migrate nodes from Docker to CRI-O (or containerd), one at a time.

	Each node goes through the same steps: lock, preflight, cordon and drain,
	back up every host file crimig may change, kernel settings, install the
	runtime, stage the translated configuration, then a detached host job swaps
	the runtime (the exec pod dies with docker) and the node is verified,
	annotated and uncordoned. State is kept in the node's crimig.io/state
	annotation and on the host, so an interrupted run resumes where it stopped
	when the same command runs again. Docker is stopped, disabled and held (so
	that nothing starts it again) but
	not removed: 'kubectl crimig rollback NODE' restores it.

	On a terminal a progress view follows each node. Its ctrl+c asks to stop
	after the current step: the steps in flight (a drain, the swap job) end
	normally, no further step or node starts, and the node's state says
	Stopped. A second ctrl+c interrupts at once. Either way the same command
	resumes. Without a terminal, Ctrl-C interrupts at once.

	The preflight stops on blockers (see 'kubectl crimig plan NODE'); accept a
	specific finding with --accept CRIMIGxxx. --accept all accepts every finding
	and is dangerous.`))

var migrateExample = templates.Examples(i18n.T(`
	# Review, then migrate one node to CRI-O
	kubectl crimig plan node-1
	kubectl crimig migrate node-1 --yes

	# Air-gapped: CRI-O from a private mirror, or from the offline release bundle
	kubectl crimig migrate node-1 --source repo=https://mirror.corp.example/cri-o --yes
	kubectl crimig migrate node-1 --source bundle=cri-o.amd64.v1.29.1.tar.gz --yes

	# Air-gapped without a registry: also copy the pause, DaemonSet and static
	# pod images (see 'kubectl crimig plan node-1') from docker into CRI-O's store
	kubectl crimig migrate node-1 --source bundle=cri-o.amd64.v1.29.1.tar.gz --carry-images --yes

	# Every docker node in waves of two, node-1 first, with an evidence bundle
	kubectl crimig migrate --all --max-unavailable 2 --canary node-1 --report ./crimig-report --yes

	# Accept a known blocker and stream events as JSON lines
	kubectl crimig migrate node-1 --accept CRIMIG010 --yes -o json`))

// MigrateOptions holds the flags of `kubectl crimig migrate`.
type MigrateOptions struct {
	Plan     *PlanOptions
	Accept   []string
	Yes      bool
	Drain    migrate.DrainOptions
	NoReboot bool
	// NoPodman skips podman, which the seed installs next to CRI-O.
	NoPodman    bool
	CarryImages bool
	SwapTimeout time.Duration
	Output      string
	DryRun      bool
	// reviewed holds the plans shown for confirmation, by node.
	reviewed sync.Map
	Fleet    FleetFlags
	// LogFile receives client logs while the progress view runs.
	LogFile string
	// SmokeImage is the smoke-test pod's image; empty means --image.
	SmokeImage string
	// ReportDir receives the evidence bundle (pkg/report).
	ReportDir string
	// sinkWrap records events besides showing them (the bundle's).
	sinkWrap func(migrate.Sink) migrate.Sink

	// noTerminal names the action in the no-terminal error, with its advice;
	// rollback and cleanup, which share these options, set their own.
	noTerminal string

	isTerminal func() bool
	genericiooptions.IOStreams
}

// NewMigrateOptions returns the defaults.
func NewMigrateOptions(streams genericiooptions.IOStreams) *MigrateOptions {
	return &MigrateOptions{
		Plan:        NewPlanOptions(streams),
		Drain:       migrate.DrainOptions{Timeout: 10 * time.Minute, IgnoreDaemonSets: true},
		SwapTimeout: migrate.DefaultSwapTimeout,
		noTerminal:  "migrate without confirmation: stdin is not a terminal; review 'kubectl crimig plan' and pass --yes",
		isTerminal:  func() bool { return isTerminal(streams.In) },
		IOStreams:   streams,
	}
}

// NewCmdMigrate builds `kubectl crimig migrate`.
func NewCmdMigrate(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewMigrateOptions(streams)
	cmd := &cobra.Command{
		Use:               "migrate NODE...",
		Short:             "Migrate nodes from Docker to CRI-O or containerd",
		Long:              migrateLong,
		Example:           migrateExample,
		ValidArgsFunction: nodeNameCompletion(f),
		RunE:              completeValidateRun(f, o),
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Plan.Target, "to", o.Plan.Target, "Target runtime: cri-o or containerd.")
	fs.StringVar(&o.Plan.TargetVersion, "target-version", "", "Runtime version to install; by default the one matching the kubelet's minor version.")
	addSourceFlags(fs, o.Plan)
	fs.StringSliceVar(&o.Accept, "accept", nil, "Accept a finding by ID and go on despite it (repeatable). 'all' accepts every finding: dangerous.")
	fs.BoolVarP(&o.Yes, "yes", "y", false, "Do not ask for confirmation. Required when stdin is not a terminal.")
	fs.DurationVar(&o.Drain.Timeout, "timeout", o.Drain.Timeout, "How long the drain may take; 0 waits forever (as kubectl drain).")
	fs.BoolVar(&o.Drain.DeleteEmptyDir, "delete-emptydir-data", false, "Drain pods with emptyDir volumes; their data is lost (as kubectl drain).")
	fs.BoolVar(&o.Drain.Force, "force", false, "Drain pods without a controller; they are not recreated (as kubectl drain).")
	fs.BoolVar(&o.Drain.IgnoreDaemonSets, "ignore-daemonsets", o.Drain.IgnoreDaemonSets, "Leave DaemonSet pods in place (as kubectl drain).")
	fs.BoolVar(&o.NoReboot, "no-reboot", false, "Do not reboot the node after the swap. By default it reboots, as the seed procedure does, and crimig waits for a new boot ID and Ready.")
	fs.BoolVar(&o.NoPodman, "no-podman", false, "Do not install podman next to CRI-O.")
	fs.BoolVar(&o.CarryImages, "carry-images", false, "Copy the images the node needs after the swap (pause, DaemonSet and static pods, crimig's own) from docker into the new runtime's store, for nodes that cannot pull. CRI-O's store is loaded with podman.")
	fs.DurationVar(&o.SwapTimeout, "swap-timeout", o.SwapTimeout, "How long to wait for the node to come back on the new runtime.")
	fs.StringVarP(&o.Output, "output", "o", "", "Output: empty for progress lines on stderr, json for events as JSON lines on stdout.")
	fs.BoolVar(&o.Fleet.All, "all", false, "Migrate every docker node (and resume unfinished ones), in waves.")
	fs.StringVarP(&o.Fleet.Selector, "selector", "l", "", "Migrate the docker nodes matching this label selector, in waves.")
	fs.StringVar(&o.Fleet.MaxUnavailable, "max-unavailable", "1", "Nodes in flight at once: a number or a percentage of the selected nodes. PodDisruptionBudgets can lower it per wave.")
	fs.StringVar(&o.Fleet.Canary, "canary", "", "Migrate this node alone first; the others wait for it to succeed.")
	fs.DurationVar(&o.Fleet.PauseBetween, "pause-between", 0, "Wait this long between waves.")
	fs.BoolVar(&o.Fleet.ContinueOnError, "continue-on-error", false, "Go on with the next waves after a node fails (never after the canary).")
	fs.BoolVar(&o.Fleet.AllowControlPlane, "allow-control-plane", false, "Allow control-plane nodes; they go last, one at a time.")
	fs.BoolVar(&o.DryRun, "dry-run", false, "Print what would be done, per node, and change nothing (the cordon is checked with a server-side dry run).")
	fs.StringVar(&o.ReportDir, "report", "", "Write an evidence bundle for change records to this new directory: per node the plan, host files before and after with diffs, the host job's journal, timings and the smoke test, plus summary.md.")
	fs.StringVar(&o.SmokeImage, "smoke-image", "", "Image of the smoke-test pod run on each migrated node (it needs sh and echo); by default --image. Use one from the registry your workloads pull from.")
	addLogFileFlag(fs, &o.LogFile)
	o.Plan.Exec.AddFlags(fs)
	return cmd
}

// Complete resolves clients.
func (o *MigrateOptions) Complete(f cmdutil.Factory, args []string) error {
	if len(args) == 0 && !o.Fleet.All && o.Fleet.Selector == "" {
		return errors.New("name at least one node: kubectl crimig migrate NODE, or select them with --all or --selector (list them with 'kubectl crimig plan')")
	}
	if err := o.Fleet.validate(args); err != nil {
		return err
	}
	return o.Plan.Complete(f, args)
}

// Validate checks flag values without contacting the cluster.
func (o *MigrateOptions) Validate() error {
	if err := o.Plan.Validate(); err != nil {
		return err
	}
	for _, id := range o.Accept {
		if id != "all" && !validFindingID(id) {
			return fmt.Errorf("--accept takes finding IDs such as CRIMIG010 (see 'kubectl crimig plan'), or 'all'; got %q", id)
		}
	}
	if o.Output != "" && o.Output != "json" {
		return fmt.Errorf("--output must be json or empty, got %q", o.Output)
	}
	if o.SwapTimeout < time.Minute {
		return fmt.Errorf("--swap-timeout must be at least 1m, got %s", o.SwapTimeout)
	}
	if o.CarryImages && o.NoPodman && o.Plan.Target == string(hostconf.TargetCRIO) {
		return errors.New("--carry-images loads images with podman; drop --no-podman")
	}
	if o.SmokeImage != "" && strings.TrimSpace(o.SmokeImage) == "" {
		return errors.New("--smoke-image must name an image with sh and echo, such as " + nodeexec.DefaultImage)
	}
	if o.ReportDir != "" && o.DryRun {
		return errors.New("--report records a migration; it cannot be combined with --dry-run")
	}
	if o.ReportDir != "" {
		if entries, err := os.ReadDir(o.ReportDir); err == nil && len(entries) > 0 {
			return fmt.Errorf("--report directory %s is not empty; give each run a new directory so that no evidence is overwritten", o.ReportDir)
		}
	}
	if !o.Yes && !o.DryRun && !o.isTerminal() {
		return errors.New("refusing to " + o.noTerminal)
	}
	return nil
}

func validFindingID(id string) bool {
	if len(id) != 9 || !strings.HasPrefix(id, "CRIMIG") {
		return false
	}
	for _, c := range id[6:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Run migrates the nodes one after the other, stopping at the first failure.
func (o *MigrateOptions) Run(ctx context.Context) error {
	if o.DryRun {
		return o.dryRun(ctx)
	}
	if err := o.Plan.checkAccess(ctx, "migrate"); err != nil {
		return err
	}
	ex, err := newExecutor(ctx, o.Plan.restConfig, o.Plan.client, o.Plan.Exec, o.ErrOut)
	if err != nil {
		return err
	}
	defer closeExecutor(ex, o.ErrOut)
	o.Plan.executor = ex
	engine := o.engine(ex)
	if err := o.selectNodes(ctx); err != nil {
		return err
	}
	if o.ReportDir == "" {
		return o.migrate(ctx, engine)
	}
	bundle, err := report.New(o.ReportDir, report.Run{Command: os.Args, Identity: engine.Identity, Target: o.Plan.Target})
	if err != nil {
		return err
	}
	o.sinkWrap = bundle.Sink
	engine.Sink = bundle.Sink(engine.Sink)
	engine.Preflight = bundle.Preflight(engine.Preflight)
	err = o.migrate(ctx, engine)
	// The evidence is written even when the run failed or was interrupted:
	// that is when a change review needs it most.
	fmt.Fprintf(o.ErrOut, "Writing the evidence bundle to %s ...\n", o.ReportDir)
	if rerr := bundle.Finish(context.WithoutCancel(ctx), o.Plan.client, ex, err); rerr != nil {
		fmt.Fprintf(o.ErrOut, "warning: the evidence bundle in %s is incomplete: %v\n", o.ReportDir, rerr)
	} else {
		fmt.Fprintf(o.ErrOut, "Evidence bundle: %s\n", filepath.Join(o.ReportDir, "summary.md"))
	}
	return err
}

// migrate runs the selected nodes: as a fleet, under the progress view, or
// one after the other with plain lines.
func (o *MigrateOptions) migrate(ctx context.Context, engine *migrate.Engine) error {
	if o.Fleet.active(o.Plan.Nodes) {
		return o.runFleet(ctx, engine)
	}
	if o.useProgressView() {
		return o.runWithProgressView(ctx, engine)
	}
	for _, node := range o.Plan.Nodes {
		if !o.Yes {
			ok, err := o.confirm(ctx, node)
			if err != nil || !ok {
				return err
			}
		}
		if err := engine.Migrate(ctx, node); err != nil {
			return o.explain(ctx, node, err)
		}
	}
	return nil
}

func (o *MigrateOptions) engine(ex *nodeexec.Executor) *migrate.Engine {
	accept := map[string]bool{}
	for _, id := range o.Accept {
		accept[id] = true
	}
	e := &migrate.Engine{
		Client:        o.Plan.client,
		Host:          ex,
		Sink:          newEventPrinter(o.IOStreams, o.Output),
		LockNamespace: o.Plan.Exec.PodNamespace,
		Identity:      identity(ex.RunID()),
		Preflight: func(ctx context.Context, node string) (*inspect.Plan, error) {
			// The plan the user just confirmed is the preflight: reading the
			// host facts again seconds later would only cost another pod.
			if p, ok := o.reviewed.LoadAndDelete(node); ok {
				return p.(*inspect.Plan), nil
			}
			return o.planNode(ctx, node)
		},
		Options: migrate.Options{
			Target: hostconf.Target(o.Plan.Target), Source: o.Plan.Source, InsecureRepo: o.Plan.InsecureRepo, Accept: accept,
			Drain: o.Drain, Reboot: !o.NoReboot, Podman: !o.NoPodman, SwapTimeout: o.SwapTimeout,
			AllowControlPlane: o.Fleet.AllowControlPlane,
			CarryImages:       o.CarryImages,
			SmokeImage:        o.smokeImage(), SmokePullSecrets: o.Plan.Exec.PullSecrets,
		},
	}
	// The view and the evidence bundle replace the engine's sink later:
	// transport events go to whichever it is then.
	o.Plan.Exec.events.setSink(func(ev migrate.Event) {
		if e.Sink != nil {
			e.Sink(ev)
		}
	})
	return e
}

func (o *MigrateOptions) smokeImage() string {
	if o.SmokeImage != "" {
		return o.SmokeImage
	}
	return o.Plan.Exec.Image
}

// explain turns an interruption into the next command to run.
func (o *MigrateOptions) explain(ctx context.Context, node string, err error) error {
	var locked *migrate.LockedError
	if errors.As(err, &locked) {
		return err
	}
	if !o.changed(node) {
		return err
	}
	if errors.Is(err, migrate.ErrStopped) {
		return fmt.Errorf("%w; the state is saved: resume with 'kubectl crimig migrate %s' or undo with 'kubectl crimig rollback %s'", err, node, node)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted during the migration of %s; the state is saved: resume with 'kubectl crimig migrate %s' or undo with 'kubectl crimig rollback %s'", node, node, node)
	}
	return fmt.Errorf("%w\nresume with 'kubectl crimig migrate %s' once fixed, or undo with 'kubectl crimig rollback %s'", err, node, node)
}

// planNode plans one node, host facts included.
func (o *MigrateOptions) planNode(ctx context.Context, node string) (*inspect.Plan, error) {
	po := *o.Plan
	po.Nodes = []string{node}
	return po.Build(ctx)
}

// changed tells whether a run left anything to resume or undo: the preflight
// refuses before cordoning, so a refused node has no step recorded.
func (o *MigrateOptions) changed(node string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := o.Plan.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return false
	}
	st, err := migrate.ReadState(n)
	return err == nil && st != nil && st.Step != "" && st.Step != inspect.StepLock
}

// identity names this run in Leases: user@host/run-id.
func identity(runID string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s/%s", osUser(), host, runID)
}

// currentUser is user.Current; tests replace it.
var currentUser = user.Current

// osUser is $USER, else the account of this process (sudo, cron, CI and
// containers often leave $USER empty), else its uid.
func osUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := currentUser(); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid" + strconv.Itoa(os.Getuid())
}
