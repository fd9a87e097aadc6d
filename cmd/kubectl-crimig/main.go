// Command kubectl-crimig is the kubectl plugin that moves nodes from Docker to
// CRI-O or containerd. main stays tiny: streams in, root command, exit code.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/crimig/kubectl-crimig/pkg/plugin"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(plugin.Execute(plugin.NewCmdRoot(streams), streams))
}
