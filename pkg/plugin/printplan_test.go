package plugin

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestPlanTableShowsReasons: the table for one node (which migrate
// --dry-run prints too) is what an operator reviews, so each changed file
// says why it is written and why each setting in it changes.
func TestPlanTableShowsReasons(t *testing.T) {
	p := &inspect.Plan{Target: "cri-o", Nodes: []inspect.NodePlan{{
		NodeSummary: inspect.NodeSummary{Name: "vm", Role: "worker", Runtime: "docker", RuntimeVersion: "20.10.24",
			KubeletVersion: "v1.37.2", Source: "cri-dockerd"},
		Verdict: inspect.VerdictReady, TargetVersion: "1.36", Eligible: true,
		Files: []inspect.PlanFile{{
			Path: hostconf.KubeletConfigPath, Mode: "0644", Changed: true,
			Reason: "the kubelet's settings for the new runtime",
			Edits: []hostconf.Edit{
				{Key: "runtimeRequestTimeout", Before: "0s", After: "5m", Reason: "creations after the swap"},
				{Key: "containerRuntimeEndpoint", After: hostconf.CrioEndpoint, Reason: "points the kubelet at CRI-O"},
			},
			Diff: "--- a/var/lib/kubelet/config.yaml\n+++ b/var/lib/kubelet/config.yaml\n@@ -1 +1 @@\n-runtimeRequestTimeout: 0s\n+runtimeRequestTimeout: 5m\n",
		}, {
			Path: hostconf.KubeadmFlagsEnv, Mode: "0644", Changed: true, Reason: "the kubelet's flags",
			Edits: []hostconf.Edit{{Key: "--pod-infra-container-image", Before: "reg/pause:3.10.1", Reason: "kubelet 1.37 rejects it"}},
		}, {
			Path: hostconf.DefaultKubelet, Mode: "0644", Reason: "nothing to change",
		}},
	}}}
	var out bytes.Buffer
	if err := printPlanTable(&out, p, false); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "plan-table-reasons.txt")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("plan table differs from %s (-want +got):\n%s", golden, diff)
	}
}
