package nodeexec

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func fixedSuffix(t *testing.T) {
	t.Helper()
	old := nameSuffixFunc
	nameSuffixFunc = func(n int) string { return strings.Repeat("x", n) }
	t.Cleanup(func() { nameSuffixFunc = old })
}

func TestBuildPodGolden(t *testing.T) {
	fixedSuffix(t)
	got := BuildPod(PodSpecInput{
		Node:        "node-1",
		Image:       "registry.example.com/mirror/busybox:1.36",
		Namespace:   "crimig-system",
		PullSecrets: []string{"mirror-pull"},
		RunID:       "r20261126",
		Deadline:    30 * time.Minute,
	})
	golden := filepath.Join("testdata", "pod.golden.yaml")
	if *update {
		out, err := yaml.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	var want corev1.Pod
	if err := yaml.UnmarshalStrict(raw, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("pod differs from %s (-want +got); rerun with -update if intended:\n%s", golden, diff)
	}
}

func TestBuildPodDefaults(t *testing.T) {
	fixedSuffix(t)
	p := BuildPod(PodSpecInput{Node: "n"})
	c := p.Spec.Containers[0]
	if c.Image != DefaultImage || p.Namespace != DefaultNamespace || *p.Spec.ActiveDeadlineSeconds != 3600 {
		t.Errorf("defaults not applied: image=%s ns=%s deadline=%d", c.Image, p.Namespace, *p.Spec.ActiveDeadlineSeconds)
	}
	if strings.Join(c.Command, " ") != "sleep 3600" {
		t.Errorf("command = %v", c.Command)
	}
	if _, ok := p.Labels[LabelRunID]; ok {
		t.Error("run-id label set without a run id")
	}
}

func TestPodNameFits(t *testing.T) {
	fixedSuffix(t)
	tests := []struct{ node, want string }{
		{"node-1", "crimig-node-1-xxxxx"},
		{strings.Repeat("a", 49) + "-b", "crimig-" + strings.Repeat("a", 49) + "-xxxxx"},
		{"ip-10-0-0-1.eu-west-1.compute.internal", "crimig-ip-10-0-0-1.eu-west-1.compute.internal-xxxxx"},
	}
	for _, tt := range tests {
		got := PodName(tt.node)
		if got != tt.want || len(got) > 63 {
			t.Errorf("PodName(%q) = %q (%d chars), want %q", tt.node, got, len(got), tt.want)
		}
	}
}

func TestLabelValueForLongNodeNames(t *testing.T) {
	long := strings.Repeat("very-long-node-name.", 5) + "example.com"
	v := labelValue(long)
	if len(v) > 63 || v == labelValue(long+"x") {
		t.Errorf("labelValue(%q) = %q", long, v)
	}
	if labelValue("node-1") != "node-1" {
		t.Error("a valid value was changed")
	}
}
