package migrate

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// A podman that install.sh could not install does not stop the run, but
// shows as a warning event and stays in the node's state.
func TestInstallWarnsAboutAPodmanThatFailed(t *testing.T) {
	e, host, events := newTestEngine(t)
	host.stdout = map[string]string{hostscripts.Install: "Error: Unable to find a match: podman\n" +
		`{"installed":true,"method":"pkgs","binary":"/usr/bin/crio","version":"1.23.5","podman":"failed","files":["/etc/yum.repos.d/crimig-cri-o.repo"]}` + "\n"}
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	var warned, installed bool
	for _, ev := range *events {
		warned = warned || (ev.Phase == PhaseWarning && ev.Step == inspect.StepInstall && strings.Contains(ev.Message, "podman could not be installed"))
		installed = installed || (ev.Phase == PhaseInfo && ev.Message == "installed cri-o 1.23.5 at /usr/bin/crio from pkgs")
	}
	if !warned || !installed {
		t.Errorf("warning %v, install info %v in %+v", warned, installed, *events)
	}
	_, st := nodeState(t, e)
	if st.Phase != StateSucceeded || len(st.Warnings) != 1 || !strings.HasPrefix(st.Warnings[0], "install: podman could not be installed") {
		t.Errorf("state %+v", st)
	}
}

// A backup that left a path out of its manifest is no backup: the step fails
// before anything on the host changed.
func TestBackupChecksEveryPathIsInTheManifest(t *testing.T) {
	e, host, _ := newTestEngine(t)
	host.stdout = map[string]string{hostscripts.Backup: `{"dir":"/var/lib/crimig/run-1/backup","files":[{"path":"/etc/sysctl.d/99-crimig.conf","absent":true}]}` + "\n"}
	err := e.Migrate(context.Background(), "node-1")
	if err == nil || !strings.Contains(err.Error(), "backup.sh did not record /etc/modules-load.d/crimig.conf") {
		t.Fatalf("err = %v", err)
	}
	if slices.Contains(host.calls, "run "+hostscripts.Kernel) {
		t.Errorf("kernel.sh ran after a failed backup: %v", host.calls)
	}
}

// kernel.sh's result names what it loaded; a result without one fails the step.
func TestKernelReportsItsResult(t *testing.T) {
	e, host, events := newTestEngine(t)
	host.stdout = map[string]string{hostscripts.Kernel: `{"changed":["/etc/sysctl.d/99-crimig.conf"],"modules":["overlay","br_netfilter"],"present":["overlay"]}` + "\n"}
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	want := "modules overlay, br_netfilter: loaded now br_netfilter, already in the kernel overlay; wrote /etc/sysctl.d/99-crimig.conf"
	if !slices.ContainsFunc(*events, func(ev Event) bool { return ev.Step == inspect.StepKernel && ev.Message == want }) {
		t.Errorf("no kernel event %q in %+v", want, *events)
	}

	e, host, _ = newTestEngine(t)
	host.stdout = map[string]string{hostscripts.Kernel: ""}
	if err := e.Migrate(context.Background(), "node-1"); err == nil || !strings.Contains(err.Error(), "step kernel: decode kernel.sh result") {
		t.Errorf("err = %v", err)
	}
}

// The swap job waits for the socket of the very endpoint the kubelet is
// given, whichever runtime it moves to.
func TestSwapJobGetsTheRuntimeSocket(t *testing.T) {
	for target, want := range map[hostconf.Target]string{hostconf.TargetCRIO: "/var/run/crio/crio.sock", hostconf.TargetContainerd: "/run/containerd/containerd.sock"} {
		env, err := swapEnv("swap", string(target), false)
		if err != nil || env["CRIMIG_RUNTIME_SOCKET"] != want {
			t.Errorf("%s: env %v, %v; want the socket %s", target, env, err, want)
		}
	}
	e, host, _ := newTestEngine(t)
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	if env := host.envs["job swap"]; env["CRIMIG_RUNTIME_SOCKET"] != "/var/run/crio/crio.sock" || env["CRIMIG_MODE"] != "swap" {
		t.Errorf("swap job env = %v", env)
	}
}
