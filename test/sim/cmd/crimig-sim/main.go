// Command crimig-sim is the node simulator of the crimig sandbox. It is a
// multi-call binary: run as nsenter (or as a stub command inside a host
// root) it acts as that command; otherwise it takes a subcommand:
//
//	crimig-sim add-node   --kubeconfig K --hosts DIR --name NODE --fixture centos7|rocky9|ubuntu22 [--control-plane]
//	crimig-sim build-root --hosts DIR --name NODE --fixture F [--control-plane]   (no API server)
//	crimig-sim controller --kubeconfig K --hosts DIR --kubelet-port P [--apiserver-proxy-listen A --apiserver-proxy-upstream U]
//	crimig-sim install-crds --kubeconfig K
//	crimig-sim stages                                           (print stages.yaml)
//	crimig-sim toml-check FILE...
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/crimig/kubectl-crimig/test/sim/applets"
	"github.com/crimig/kubectl-crimig/test/sim/cmd/crimig-sim/app"
)

func main() {
	name := filepath.Base(os.Args[0])
	if name == "nsenter" {
		os.Exit(applets.Nsenter(os.Args[1:]))
	}
	if f, ok := applets.Lookup(name); ok && name != "crimig-sim" {
		os.Exit(f(applets.NewEnv(), os.Args[1:]))
	}
	if err := app.Main(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "crimig-sim: %v\n", err)
		os.Exit(1)
	}
}
