// Package plugin holds the cobra commands of kubectl crimig. Commands only turn
// flags into options and options into engine calls; business logic lives in
// the engine packages (inspect, migrate, nodeexec).
package plugin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // cloud auth providers, as kubectl has them
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/kubectl/pkg/cmd/options"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/i18n"
	"k8s.io/kubectl/pkg/util/templates"
)

var rootLong = templates.LongDesc(i18n.T(`
	Move Kubernetes nodes from Docker (dockershim or cri-dockerd) to CRI-O or
	containerd, one node at a time, keeping workloads running.

	crimig inspects every Docker node through a short-lived privileged pod, shows
	exactly what it would change, and then runs the migration as a resumable,
	lockable and reversible sequence of steps. Every host file is backed up
	before it is changed.`))

var rootExample = templates.Examples(i18n.T(`
	# Show what would happen on every Docker node, and what could break
	kubectl crimig plan

	# Print the plugin and cluster versions as JSON
	kubectl crimig version -o json`))

// Client rate limits for the plugin's own requests.
const (
	clientQPS   = 50
	clientBurst = 100
)

// NewCmdRoot builds the root command with the standard kubectl flags.
func NewCmdRoot(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:          "crimig",
		Short:        "Migrate nodes from Docker to CRI-O or containerd",
		Long:         rootLong,
		Example:      rootExample,
		SilenceUsage: true,
		// Errors are printed once, kubectl-style, by Execute.
		SilenceErrors: true,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl crimig",
		},
		// Runnable, like kubectl's root, so help shows the `options` hint.
		Run: func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
		// Completion for `kubectl crimig` comes from kubectl_complete-crimig;
		// the generator stays available for the standalone binary.
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	configFlags := genericclioptions.NewConfigFlags(true)
	// client-go's default of 5 requests/s (burst 10) throttled every step
	// of a migration (state patches, events, pods): about 4.5 s of a 17 s
	// run on the sandbox. The API server's priority and fairness still
	// protects it.
	configFlags.WrapConfigFn = func(c *rest.Config) *rest.Config {
		if c.QPS < clientQPS {
			c.QPS, c.Burst = clientQPS, clientBurst
		}
		return c
	}
	configFlags.AddFlags(cmd.PersistentFlags())
	addKlogFlags(cmd.PersistentFlags())
	f := cmdutil.NewFactory(configFlags)

	groups := templates.CommandGroups{
		{Message: "Inspect Commands:", Commands: []*cobra.Command{NewCmdPlan(f, streams), NewCmdStatus(f, streams)}},
		{Message: "Migration Commands:", Commands: []*cobra.Command{NewCmdMigrate(f, streams), NewCmdRollback(f, streams), NewCmdCleanup(f, streams)}},
		{Message: "Other Commands:", Commands: []*cobra.Command{NewCmdVersion(f, streams)}},
	}
	groups.Add(cmd)
	// cobra adds help and completion when the command runs; both are hidden,
	// and left unfiltered they would make an empty second "Other Commands:".
	templates.ActsAsRootCommand(cmd, []string{"options", "help", "completion"}, groups...)
	cmd.AddCommand(options.NewCmdOptions(streams.Out))
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	return cmd
}

// ExitError carries a specific process exit code, such as 2 for "blockers found".
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Execute runs the command and turns its error into kubectl-style output and an
// exit code.
func Execute(cmd *cobra.Command, streams genericiooptions.IOStreams) int {
	// Ctrl-C cancels the command's context; commands then clean up (node
	// pods, locks) with contexts of their own before returning.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := explainForbidden(cmd.ExecuteContext(ctx))
	if err == nil {
		return 0
	}
	code := 1
	var exitErr *ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.Code
		if exitErr.Err == nil {
			return code
		}
	}
	msg, ok := cmdutil.StandardErrorMessage(err)
	if !ok {
		msg = err.Error()
	}
	if len(msg) < 7 || msg[:7] != "error: " {
		msg = "error: " + msg
	}
	_, _ = fmt.Fprintln(streams.ErrOut, msg)
	return code
}

// addKlogFlags adds kubectl's -v and --vmodule: -v=2 shows what the node
// executor does, such as an exec falling back to SPDY.
func addKlogFlags(fs *pflag.FlagSet) {
	gofs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gofs)
	for _, name := range []string{"v", "vmodule"} {
		fs.AddGoFlag(gofs.Lookup(name))
	}
}
