package plugin

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// nodeNameCompletion completes node names, as `kubectl get nodes` would.
func nodeNameCompletion(f cmdutil.Factory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		client, err := f.KubernetesClientSet()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		nodes, err := client.CoreV1().Nodes().List(cmd.Context(), metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		seen := map[string]bool{}
		for _, a := range args {
			seen[a] = true
		}
		var out []string
		for _, n := range nodes.Items {
			if !seen[n.Name] && strings.HasPrefix(n.Name, toComplete) {
				out = append(out, n.Name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
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
