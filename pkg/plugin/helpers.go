package plugin

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/completion"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// nodeNameCompletion completes node names with kubectl's own completion
// (a `kubectl get nodes` through the factory), leaving out the nodes
// already named: the commands take several.
func nodeNameCompletion(f cmdutil.Factory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		names := completion.CompGetResource(f, "node", toComplete)
		return slices.DeleteFunc(names, func(n string) bool { return slices.Contains(args, n) }), cobra.ShellCompDirectiveNoFileComp
	}
}

// addSourceFlags binds --source and --insecure-repo, which plan and migrate share.
func addSourceFlags(fs *pflag.FlagSet, o *PlanOptions) {
	fs.StringVar(&o.Source, "source", o.Source, "Where the runtime comes from: pkgs, repo=URL[,key=FILE] or bundle=FILE. "+
		"key=FILE is the mirror's ASCII-armored public signing key; without it the key comes from the mirror itself.")
	fs.BoolVar(&o.InsecureRepo, "insecure-repo", o.InsecureRepo,
		"Install from --source repo=URL without checking package signatures. Required for a plain-http mirror without key=FILE.")
}

// validateSource checks --source: pkgs, repo=URL[,key=FILE] or bundle=FILE.
func validateSource(source string, insecureRepo bool) error {
	src, err := inspect.ParseSource(source)
	if err != nil {
		return err
	}
	if err := src.CheckSigned(insecureRepo); err != nil {
		return err
	}
	switch {
	case src.KeyFile != "":
		_, err = inspect.ReadRepoKey(src.KeyFile)
		return err
	case src.Kind == "bundle":
		if _, err := os.Stat(src.File); err != nil {
			return fmt.Errorf("--source bundle=%s: %w; give the path of the runtime's release tarball", src.File, err)
		}
	}
	return nil
}

// clusterClients are the clients a command resolves in Complete from the
// kubeconfig flags: the typed clientset and the REST config that pod exec
// and plan's own listers are built from.
type clusterClients struct {
	client     kubernetes.Interface
	restConfig *rest.Config
}

// completeClients resolves both clients through the factory.
func (c *clusterClients) completeClients(f cmdutil.Factory) error {
	var err error
	if c.restConfig, err = f.ToRESTConfig(); err != nil {
		return err
	}
	c.client, err = f.KubernetesClientSet()
	return err
}

// commandOptions is a command's Options, run the kubectl way.
type commandOptions interface {
	Complete(f cmdutil.Factory, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// completeValidateRun is the RunE of a command whose Options take the
// positional arguments: Complete, then Validate (no API calls), then Run.
func completeValidateRun(f cmdutil.Factory, o commandOptions) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(f, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}
