package plugin

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/i18n"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

var planLong = templates.LongDesc(i18n.T(`
	Inspect the cluster and every Docker node's host, and print what a migration
	would do and what could break: findings with stable IDs (CRIMIG0xx), the exact
	files that would be written, and the ordered steps.

	Cluster facts come from one paginated list per kind. Host facts come from a
	short-lived privileged pod per node (see --image); --no-host skips them.
	Nothing is changed on the cluster or the hosts.

	The table groups nodes that share role, runtime, kubelet, source, target,
	verdict and kinds of findings into one row, and findings by ID; -o wide lists
	every node and finding. -o takes kubectl's formats: json, yaml, jsonpath and
	go-template read the plan document; name and custom-columns print a line per
	node.

	Exit status: 0 when no blocker was found, 2 when blockers were found, 1 on error.`))

var planExample = templates.Examples(i18n.T(`
	# What would happen on every Docker node
	kubectl crimig plan

	# The exact files and steps for one node, for change review
	kubectl crimig plan node-1 -o yaml

	# Plan a move to containerd, cluster checks only
	kubectl crimig plan --to containerd --no-host

	# Every node and every finding on its own row
	kubectl crimig plan -o wide

	# The names of the nodes ready to migrate
	kubectl crimig plan -o jsonpath='{range .nodes[?(@.verdict=="ready")]}{.name}{"\n"}{end}'`))

// PlanOptions holds the flags of `kubectl crimig plan`.
type PlanOptions struct {
	Nodes         []string
	Target        string
	TargetVersion string
	Source        string
	InsecureRepo  bool
	NoHost        bool
	Output        string
	PrintFlags    *printFlags
	Exec          *NodeExecFlags

	clusterClients
	// listers read the cluster facts: protobuf, and metadata only where
	// that is enough (see inspect.CollectFacts).
	listers inspect.Listers
	// executor, when set, is shared with the caller (migrate) and not closed here.
	executor *nodeexec.Executor
	genericiooptions.IOStreams
}

// NewPlanOptions returns the defaults.
func NewPlanOptions(streams genericiooptions.IOStreams) *PlanOptions {
	o := &PlanOptions{Target: string(hostconf.TargetCRIO), Source: "pkgs", Exec: NewNodeExecFlags(), IOStreams: streams}
	o.PrintFlags = newPrintFlags(&o.Output, true, "table", "wide")
	return o
}

// NewCmdPlan builds `kubectl crimig plan`.
func NewCmdPlan(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewPlanOptions(streams)
	cmd := &cobra.Command{
		Use:               "plan [NODE...]",
		Short:             "Show what a migration would do on each Docker node, and what could break",
		Long:              planLong,
		Example:           planExample,
		ValidArgsFunction: nodeNameCompletion(f),
		RunE:              completeValidateRun(f, o),
	}
	o.AddFlags(cmd)
	return cmd
}

// AddFlags binds the plan flags.
func (o *PlanOptions) AddFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&o.Target, "to", o.Target, "Target runtime: cri-o or containerd.")
	fs.StringVar(&o.TargetVersion, "target-version", o.TargetVersion, "Runtime version to install; by default the one matching each kubelet's minor version.")
	addSourceFlags(fs, o)
	fs.BoolVar(&o.NoHost, "no-host", o.NoHost, "Skip the host checks: no pods are created on nodes.")
	o.PrintFlags.AddFlags(cmd, "Output format: the table by default, grouping nodes alike; wide lists every node and finding. name and custom-columns print a line per node (custom-columns reads a node's entry of -o json's .nodes[]).")
	o.Exec.AddFlags(fs)
}

// Complete resolves clients.
func (o *PlanOptions) Complete(f cmdutil.Factory, args []string) error {
	o.Nodes = args
	if err := o.completeClients(f); err != nil {
		return err
	}
	var err error
	o.listers, err = newListers(o.restConfig)
	return err
}

// newListers returns the clients plan lists the cluster with: a protobuf
// clientset of its own (the other requests keep the factory's client), which
// also streams the pods, and a metadata client.
func newListers(cfg *rest.Config) (inspect.Listers, error) {
	typed, err := kubernetes.NewForConfig(inspect.ProtobufConfig(cfg))
	if err != nil {
		return inspect.Listers{}, err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return inspect.Listers{}, err
	}
	return inspect.Listers{Typed: typed, Metadata: meta, PodStream: inspect.PodListStream(typed)}, nil
}

// Validate checks flag values without contacting the cluster.
func (o *PlanOptions) Validate() error {
	if _, err := hostconf.Target(o.Target).Endpoint(); err != nil {
		return fmt.Errorf("--to must be cri-o or containerd, got %q", o.Target)
	}
	if err := validateSource(o.Source, o.InsecureRepo); err != nil {
		return err
	}
	if err := o.PrintFlags.Validate(); err != nil {
		return err
	}
	return o.Exec.Validate()
}

// Run inspects and prints the plan.
func (o *PlanOptions) Run(ctx context.Context) error {
	plan, err := o.buildChecked(ctx)
	if err != nil {
		return err
	}
	if err := printPlan(o.Out, plan, o.PrintFlags); err != nil {
		return err
	}
	if plan.Summary.Blockers > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("%d blocker(s) found; fix them, or accept a specific one with 'kubectl crimig migrate --accept CRIMIGxxx'", plan.Summary.Blockers)}
	}
	return nil
}

// Build gathers the facts and assembles the plan; migrate reuses it.
func (o *PlanOptions) Build(ctx context.Context) (*inspect.Plan, error) {
	facts, err := inspect.CollectFacts(ctx, o.listers)
	if err != nil {
		return nil, err
	}
	opts := inspect.Options{Target: hostconf.Target(o.Target), TargetVersion: o.TargetVersion, Nodes: o.Nodes, Source: o.Source}
	plan, err := facts.Plan(nil, opts)
	if err != nil {
		return nil, err
	}
	if o.NoHost {
		return plan, nil
	}
	hosts, err := o.hostFacts(ctx, eligibleNodes(plan), kubeletVersions(plan))
	if err != nil {
		return nil, err
	}
	return facts.Plan(hosts, opts)
}

func eligibleNodes(p *inspect.Plan) []string {
	var out []string
	for _, n := range p.Nodes {
		if n.Eligible {
			out = append(out, n.Name)
		}
	}
	sort.Strings(out)
	return out
}

// hostFacts runs facts.sh on each node, a few at a time. A node that fails
// becomes a blocker finding, not an error: the rest of the plan still helps.
func kubeletVersions(p *inspect.Plan) map[string]string {
	out := map[string]string{}
	for _, n := range p.Nodes {
		out[n.Name] = n.KubeletVersion
	}
	return out
}

func (o *PlanOptions) hostFacts(ctx context.Context, nodes []string, versions map[string]string) (map[string]inspect.HostResult, error) {
	hosts := map[string]inspect.HostResult{}
	if len(nodes) == 0 {
		return hosts, nil
	}
	ex := o.executor
	if ex == nil {
		var err error
		if ex, err = newExecutor(ctx, o.restConfig, o.client, o.Exec, o.ErrOut); err != nil {
			return nil, err
		}
		defer closeExecutor(ex, o.ErrOut)
	}
	fmt.Fprintf(o.ErrOut, "Reading host facts from %d node(s) through pods in namespace %s…\n", len(nodes), o.Exec.PodNamespace)
	var mu sync.Mutex
	progress := newFactsProgress(o.ErrOut, isTerminalWriter(o.ErrOut), len(nodes), time.Now)
	_ = ex.ForEachNode(ctx, nodes, func(ctx context.Context, node string) error {
		facts, err := ex.Facts(ctx, node)
		var probe *inspect.SourceProbe
		if err == nil {
			probe = o.probeSource(ctx, ex, node, versions[node])
		}
		mu.Lock()
		hosts[node] = inspect.HostResult{Facts: facts, Err: err, Source: probe}
		mu.Unlock()
		progress.nodeDone(node, err)
		return nil
	})
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted while reading host facts; no changes were made: %w", ctx.Err())
	}
	return hosts, nil
}

// newExecutor collects leftovers of earlier runs, checks the pod namespace
// and returns an Executor for this command.
func newExecutor(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, flags *NodeExecFlags, errOut io.Writer) (*nodeexec.Executor, error) {
	if deleted, err := nodeexec.CleanupOrphans(ctx, client, flags.PodNamespace); err != nil {
		fmt.Fprintf(errOut, "warning: could not collect leftover crimig pods: %v\n", err)
	} else if len(deleted) > 0 {
		fmt.Fprintf(errOut, "Deleted %d leftover crimig pod(s) from an earlier run.\n", len(deleted))
	}
	if err := nodeexec.PrepareNamespace(ctx, client, flags.PodNamespace); err != nil {
		return nil, err
	}
	return nodeexec.New(cfg, client, flags.Options())
}

// closeExecutor deletes the command's node pods even after Ctrl-C, with a
// context of its own.
func closeExecutor(ex *nodeexec.Executor, errOut io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ex.Close(ctx); err != nil {
		fmt.Fprintf(errOut, "warning: could not delete every crimig pod: %v; the next crimig command collects them\n", err)
	}
}
