package realnode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// deployWorkload applies testdata/workload.yaml and waits for its pods.
func deployWorkload(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	if out, err := kubectl(t, "apply", "-f", filepath.Join(repoRoot(), "test", "realnode", "testdata", "workload.yaml")); err != nil {
		t.Fatalf("applying the workload: %v\n%s", err, out)
	}
	waitWorkload(t, cs, 3*time.Minute)
}

// waitWorkload waits until web and agent each have a Ready pod on the node.
func waitWorkload(t *testing.T, cs kubernetes.Interface, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, "the web and agent pods Ready on "+NodeName, func() (bool, error) {
		pods, err := cs.CoreV1().Pods("apps").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		found := map[string]bool{}
		for _, p := range pods.Items {
			if p.Spec.NodeName == NodeName && podReady(&p) && p.DeletionTimestamp == nil {
				found[p.Labels["app"]] = true
			}
		}
		return found["web"] && found["agent"], nil
	})
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// assertExecAndLogs checks `kubectl exec` and `kubectl logs` through the API
// server (default feature gates) to the node's current runtime. cri-dockerd
// 0.4 cannot serve exec over WebSocket behind an API server of 1.36 or newer
// (it answers HTTP to the API server's HTTPS), so on docker the exec goes
// over SPDY, as crimig's own exec falls back to.
func assertExecAndLogs(t *testing.T, onDocker bool) {
	t.Helper()
	var env []string
	if onDocker {
		env = []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"}
	}
	out, err := kubectlEnv(t, env, "exec", "-n", "apps", "deploy/web", "--", "echo", "exec-ok")
	if err != nil || strings.TrimSpace(out) != "exec-ok" {
		t.Errorf("kubectl exec into web: %v\n%s", err, out)
	}
	out, err = kubectl(t, "logs", "-n", "apps", "deploy/web")
	if err != nil || !strings.Contains(out, "web started") {
		t.Errorf("kubectl logs of web: %v\n%s", err, out)
	}
}

// assertNoCrimigPods checks that crimig left no pod behind anywhere.
func assertNoCrimigPods(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	waitFor(t, time.Minute, "no crimig pods left", func() (bool, error) {
		pods, err := cs.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=crimig"})
		if err != nil {
			return false, err
		}
		return len(pods.Items) == 0, nil
	})
}

// runState is the part of the crimig.io/state annotation the tests read.
type runState struct {
	RunID string `json:"runId"`
	Phase string `json:"phase"`
	Step  string `json:"step"`
}

func stateOf(t *testing.T, n *corev1.Node) runState {
	t.Helper()
	var s runState
	raw := n.Annotations["crimig.io/state"]
	if raw == "" {
		t.Fatalf("node %s has no crimig.io/state annotation", n.Name)
	}
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("crimig.io/state: %v", err)
	}
	return s
}

// assertRestored checks every file the run backed up against the manifest on
// the node: byte-identical (same sha256) where it existed, gone where it did
// not. It returns how many files it checked.
func assertRestored(t *testing.T, runID string) int {
	t.Helper()
	manifest, err := nodeFile(t, filepath.Join("/var/lib/crimig", runID, "backup", "manifest.tsv"))
	if err != nil {
		t.Fatalf("reading the backup manifest: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(manifest)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			continue
		}
		path, sum := f[0], f[1]
		body, err := nodeFile(t, path)
		checked++
		if sum == "absent" {
			if err == nil {
				t.Errorf("%s was absent before the migration and is still there after the rollback", path)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		got := sha256.Sum256(body)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s differs from its backup (sha256 %x, manifest %s)", path, got, sum)
		}
	}
	return checked
}
