package plugin

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
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

// validateSource checks --source: pkgs, repo=URL or bundle=FILE.
func validateSource(source string) error {
	kind, value, hasValue := strings.Cut(source, "=")
	switch {
	case source == "pkgs":
		return nil
	case kind == "repo" && hasValue && (strings.HasPrefix(value, "http://") || strings.HasPrefix(value, "https://") || strings.HasPrefix(value, "file://")):
		return nil
	case kind == "repo":
		return fmt.Errorf("--source repo=URL needs an http(s):// or file:// URL of your package mirror, got %q", source)
	case kind == "bundle" && hasValue:
		if _, err := os.Stat(value); err != nil {
			return fmt.Errorf("--source bundle=%s: %w; give the path of the runtime's release tarball", value, err)
		}
		return nil
	}
	return fmt.Errorf("--source must be pkgs, repo=URL or bundle=FILE, got %q", source)
}
