// Package app holds crimig-sim's subcommands.
package app

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/crimig/kubectl-crimig/test/sim"
	"github.com/crimig/kubectl-crimig/test/sim/apiproxy"
	"github.com/crimig/kubectl-crimig/test/sim/applets"
	"github.com/crimig/kubectl-crimig/test/sim/bundle"
	"github.com/crimig/kubectl-crimig/test/sim/controller"
	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/rootfs"
)

// Main runs a subcommand.
func Main(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: crimig-sim add-node|build-root|controller|install-crds|stages|nsenter|APPLET ...")
	}
	switch args[0] {
	case "add-node":
		return addNode(args[1:], true)
	case "build-root":
		return addNode(args[1:], false)
	case "controller":
		return runController(args[1:])
	case "install-crds":
		return installCRDs(args[1:])
	case "make-bundle":
		return makeBundle(args[1:])
	case "stages":
		_, err := os.Stdout.Write(sim.Stages)
		return err
	case "nsenter":
		os.Exit(applets.Nsenter(args[1:]))
	case "console":
		if len(args) < 2 {
			return fmt.Errorf("usage: crimig-sim console ROOT [CMD...]")
		}
		os.Exit(applets.Console(args[1], args[2:]))
	}
	if f, ok := applets.Lookup(args[0]); ok {
		os.Exit(f(applets.NewEnv(), args[1:]))
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func clients(kubeconfig string) (kubernetes.Interface, dynamic.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	return cs, dyn, err
}

func addNode(args []string, withAPI bool) error {
	fl := flag.NewFlagSet("add-node", flag.ContinueOnError)
	kubeconfig := fl.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the sandbox API server")
	hosts := fl.String("hosts", "", "directory holding the host roots")
	name := fl.String("name", "", "node name")
	fixture := fl.String("fixture", "", "centos7, rocky9 or ubuntu22")
	busybox := fl.String("busybox", "/bin/busybox", "static busybox to copy into the root")
	controlPlane := fl.Bool("control-plane", false, "a kubeadm control-plane node: static pods, role labels and taint")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *hosts == "" || *name == "" || *fixture == "" {
		return fmt.Errorf("--hosts, --name and --fixture are required")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, _ := filepath.Abs(filepath.Join(*hosts, *name))
	fixtures, err := fs.Sub(sim.Fixtures, "fixtures")
	if err != nil {
		return err
	}
	fresh, err := rootfs.Build(rootfs.Options{Fixtures: fixtures, Fixture: *fixture, Dir: dir, Name: *name, Self: self, Busybox: *busybox, ControlPlane: *controlPlane})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "host root %s ready (new=%v)\n", dir, fresh)
	if !withAPI {
		return nil
	}
	cs, _, err := clients(*kubeconfig)
	if err != nil {
		return err
	}
	m, err := host.New(dir).Meta()
	if err != nil {
		return err
	}
	return controller.EnsureNode(context.Background(), cs, *name, m)
}

func runController(args []string) error {
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the sandbox API server")
	hosts := fs.String("hosts", "", "directory holding the host roots")
	port := fs.Int("kubelet-port", 10247, "port of kwok's kubelet server, published as the node's kubelet port")
	interval := fs.Duration("interval", 0, "host polling period (default 150ms)")
	warmup := fs.Duration("kubelet-warmup", 0, "how long a (re)started kubelet reports NotReady (default 1s; negative: none)")
	proxyListen := fs.String("apiserver-proxy-listen", "", "serve the API server here (host:port) only while a control-plane node runs it")
	proxyUpstream := fs.String("apiserver-proxy-upstream", "", "the real API server (host:port) the proxy forwards to")
	staticStart := fs.Duration("static-pod-start", 0, "how long a static pod takes to run after its kubelet, runtime or manifest restarts (default 1s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hosts == "" {
		return fmt.Errorf("--hosts is required")
	}
	if (*proxyListen == "") != (*proxyUpstream == "") {
		return fmt.Errorf("--apiserver-proxy-listen and --apiserver-proxy-upstream go together")
	}
	abs, _ := filepath.Abs(*hosts)
	cs, dyn, err := clients(*kubeconfig)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, crd := range sim.CRDs {
		if err := controller.InstallCRD(ctx, dyn, crd); err != nil {
			fmt.Fprintf(os.Stderr, "crimig-sim: %v (exec and logs routing need it)\n", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	c := &controller.Controller{Client: cs, Dynamic: dyn, Hosts: abs, KubeletPort: int32(*port), Interval: *interval,
		KubeletWarmup: *warmup, SimExe: self, StaticPodStart: *staticStart}
	if *proxyListen != "" {
		p := &apiproxy.Proxy{Listen: *proxyListen, Upstream: *proxyUpstream}
		defer p.Close()
		c.APIServer = p
	}
	return c.Run(ctx)
}

func installCRDs(args []string) error {
	fs := flag.NewFlagSet("install-crds", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, dyn, err := clients(*kubeconfig)
	if err != nil {
		return err
	}
	for _, crd := range sim.CRDs {
		if err := controller.InstallCRD(context.Background(), dyn, crd); err != nil {
			return err
		}
	}
	return nil
}

func makeBundle(args []string) error {
	fl := flag.NewFlagSet("make-bundle", flag.ContinueOnError)
	version := fl.String("version", "1.29.1", "CRI-O version the bundle claims")
	out := fl.String("out", "", "output file, e.g. cri-o.amd64.v1.29.1.tar.gz")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := bundle.Write(f, *version); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
