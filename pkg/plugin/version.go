package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/i18n"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/version"
)

var versionExample = templates.Examples(i18n.T(`
	# Print the plugin version and, when a cluster is reachable, the server version
	kubectl crimig version

	# Machine-readable output
	kubectl crimig version -o json

	# Only the plugin, without contacting the cluster
	kubectl crimig version --client`))

// VersionOutput is the stable document printed by `version -o json|yaml`
// and read by its templates.
type VersionOutput struct {
	inspect.DocumentMeta
	Client      version.Info `json:"client"`
	Server      *ServerInfo  `json:"server,omitempty"`
	ServerError string       `json:"serverError,omitempty"`
}

// DeepCopyObject implements runtime.Object.
func (v *VersionOutput) DeepCopyObject() runtime.Object {
	out := *v
	if v.Server != nil {
		s := *v.Server
		out.Server = &s
	}
	return &out
}

// ServerInfo is the part of the API server's version that users compare.
type ServerInfo struct {
	GitVersion string `json:"gitVersion"`
	Platform   string `json:"platform"`
}

// VersionOptions holds the flags of `kubectl crimig version`.
type VersionOptions struct {
	Output     string
	PrintFlags *printFlags
	ClientOnly bool

	serverVersion func(ctx context.Context) (*ServerInfo, error)
	genericiooptions.IOStreams
}

// NewVersionOptions returns options with defaults.
func NewVersionOptions(streams genericiooptions.IOStreams) *VersionOptions {
	o := &VersionOptions{IOStreams: streams}
	o.PrintFlags = newPrintFlags(&o.Output, false)
	return o
}

// NewCmdVersion builds `kubectl crimig version`.
func NewCmdVersion(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewVersionOptions(streams)
	cmd := &cobra.Command{
		Use:     "version [--client] [-o json|yaml]",
		Short:   "Print the plugin version and the cluster's version",
		Example: versionExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(f); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.PrintFlags.AddFlags(cmd, "Output format: plain text when empty.")
	cmd.Flags().BoolVar(&o.ClientOnly, "client", false, "Print only the plugin's version; do not contact the cluster.")
	return cmd
}

// Complete resolves the discovery client used for the server version.
func (o *VersionOptions) Complete(f cmdutil.Factory) error {
	if o.ClientOnly {
		return nil
	}
	o.serverVersion = func(ctx context.Context) (*ServerInfo, error) {
		dc, err := f.ToDiscoveryClient()
		if err != nil {
			return nil, err
		}
		type result struct {
			info *ServerInfo
			err  error
		}
		ch := make(chan result, 1)
		go func() {
			v, err := dc.ServerVersion()
			if err != nil {
				ch <- result{err: err}
				return
			}
			ch <- result{info: &ServerInfo{GitVersion: v.GitVersion, Platform: v.Platform}}
		}()
		// A missing cluster must not make `version` hang for a minute.
		select {
		case r := <-ch:
			return r.info, r.err
		case <-time.After(10 * time.Second):
			return nil, fmt.Errorf("the server did not answer within 10s")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return nil
}

// Validate checks flag values without touching the cluster.
func (o *VersionOptions) Validate() error {
	return o.PrintFlags.Validate()
}

// Run prints the versions.
func (o *VersionOptions) Run(ctx context.Context) error {
	// The plan's API version: both documents belong to crimig.io/v1alpha1.
	out := VersionOutput{DocumentMeta: inspect.NewDocumentMeta("Version"), Client: version.Get()}
	if o.serverVersion != nil {
		if ctx == nil {
			ctx = context.Background()
		}
		info, err := o.serverVersion(ctx)
		if err != nil {
			out.ServerError = err.Error()
		}
		out.Server = info
	}
	if _, own := o.PrintFlags.ownFormat(); own {
		return o.printText(out)
	}
	printer, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	return printer.PrintObj(&out, o.Out)
}

func (o *VersionOptions) printText(out VersionOutput) error {
	c := out.Client
	fmt.Fprintf(o.Out, "Plugin Version: %s (commit %s, built %s, %s, %s)\n", c.Version, c.Commit, c.BuildDate, c.GoVersion, c.Platform)
	if out.Server != nil {
		fmt.Fprintf(o.Out, "Server Version: %s\n", out.Server.GitVersion)
	}
	if out.ServerError != "" {
		fmt.Fprintf(o.ErrOut, "warning: could not reach the cluster: %s\n", out.ServerError)
	}
	return nil
}
