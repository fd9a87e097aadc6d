package sim_test

import (
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

func TestNsenterRunsInTheNodesRoot(t *testing.T) {
	for fixture, id := range map[string]string{"centos7": `ID="centos"`, "rocky9": `ID="rocky"`, "ubuntu22": "ID=ubuntu"} {
		t.Run(fixture, func(t *testing.T) {
			root := simtest.Root(t, fixture, "node-"+fixture)
			out, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "cat /etc/os-release; hostname")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, id+"\n") || !strings.Contains(out, "node-"+fixture+"\n") {
				t.Errorf("os-release/hostname of the wrong root:\n%s", out)
			}
		})
	}
}

func TestNsenterForwardsStdinAndExitCode(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	out, _, code := simtest.Exec(t, root, "read x; echo got:$x; exit 7\nhello\n", "/bin/sh", "-s")
	if code != 7 || !strings.HasPrefix(out, "got:") {
		t.Fatalf("want exit 7 and the script's output, got %d %q", code, out)
	}
	out, _, _ = simtest.Exec(t, root, "hello\n", "/bin/sh", "-c", "read x; echo got:$x")
	if out != "got:hello\n" {
		t.Errorf("stdin not forwarded: %q", out)
	}
	recs := host.New(root).ExecRecords()
	if len(recs) == 0 || recs[0].Pod != "crimig-test" {
		t.Errorf("exec not recorded: %+v", recs)
	}
}

func TestNsenterRefusesWhileKubeletIsDown(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	host.New(root).Stop("kubelet")
	_, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "true")
	if code == 0 || !strings.Contains(errOut, "connection refused") {
		t.Fatalf("exec reached a node whose kubelet is stopped: %d %q", code, errOut)
	}
}
