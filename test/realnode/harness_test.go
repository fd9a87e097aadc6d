package realnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// NodeName is the real node's name (REALNODE_NAME in hack/realnode/lib.sh).
const NodeName = "rn-1"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// repoRoot is the checkout this file is in.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// stateDir is REALNODE_STATE, as hack/realnode/lib.sh defaults it.
func stateDir() string {
	if d := os.Getenv("REALNODE_STATE"); d != "" {
		return d
	}
	return filepath.Join(repoRoot(), ".realnode")
}

func kubeconfig() string { return filepath.Join(stateDir(), "sandbox", "kubeconfig") }

// script runs a hack/realnode script and returns its stdout; its stderr goes
// to the test log on failure.
func script(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(), "hack", "realnode", name), args...)
	cmd.Dir = repoRoot()
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("hack/realnode/%s %s: %v\n%s", name, strings.Join(args, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// freshNode boots the node from the pristine root, joined and Ready on
// docker, and returns a client for its cluster.
func freshNode(t *testing.T) kubernetes.Interface {
	t.Helper()
	start := time.Now()
	script(t, 20*time.Minute, "node-up.sh")
	t.Logf("fresh node Ready on docker in %s", time.Since(start).Round(100*time.Millisecond))
	return client(t)
}

func client(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig())
	if err != nil {
		t.Fatalf("loading %s: %v", kubeconfig(), err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// crimig builds the plugin once and returns its path.
func crimig(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crimig-realnode-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kubectl-crimig")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/kubectl-crimig")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/kubectl-crimig: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// result is what one plugin run printed and how it ended.
type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// run runs the plugin as the cluster's admin, the way an operator would.
func run(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, crimig(t), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig())
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("kubectl crimig %s did not finish within %s\nstderr:\n%s", strings.Join(args, " "), timeout, r.stderr)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("running kubectl crimig: %v", err)
	}
	t.Logf("kubectl crimig %s: exit %d in %s", strings.Join(args, " "), r.code, r.took.Round(100*time.Millisecond))
	return r
}

// mustSucceed fails the test, with the node's journal of crimig's units, when
// the run did not exit 0.
func mustSucceed(t *testing.T, r result, what string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s\nnode journal (crimig units):\n%s",
			what, r.code, r.stdout, r.stderr, onNodeQuiet("journalctl", "-b", "--no-pager", "-n", "80", "-u", "crimig-*"))
	}
}

// onNode runs a command in every namespace of the node's systemd.
func onNode(t *testing.T, args ...string) string {
	t.Helper()
	out, err := onNodeErr(args...)
	if err != nil {
		t.Fatalf("on the node: %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func onNodeQuiet(args ...string) string {
	out, _ := onNodeErr(args...)
	return out
}

func onNodeErr(args ...string) (string, error) {
	pid, err := os.ReadFile(filepath.Join(stateDir(), "node.pid"))
	if err != nil {
		return "", fmt.Errorf("the node is not running: %w", err)
	}
	full := append([]string{"-t", strings.TrimSpace(string(pid)), "-a", "--",
		"env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, args...)
	out, err := exec.Command("nsenter", full...).CombinedOutput()
	return string(out), err
}

// nodeFile reads a file of the node's root from the host side, which works
// while the node reboots too.
func nodeFile(t *testing.T, path string) ([]byte, error) {
	t.Helper()
	return os.ReadFile(filepath.Join(stateDir(), "root", path))
}

func getNode(t *testing.T, cs kubernetes.Interface) *corev1.Node {
	t.Helper()
	n, err := cs.CoreV1().Nodes().Get(context.Background(), NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting node %s: %v", NodeName, err)
	}
	return n
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitFor polls cond every 500 ms until it holds; errors count as "not yet".
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last error: %v)", what, timeout, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// kubectl runs the sandbox's kubectl (the same version as the API server).
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return kubectlEnv(t, nil, args...)
}

// kubectlEnv is kubectl with extra environment variables.
func kubectlEnv(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(cacheDir(), "crimig-sandbox", sandboxK8sVersion(t), "kubectl")
	cmd := exec.Command(bin, append([]string{"--kubeconfig", kubeconfig()}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func cacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache")
}

// sandboxK8sVersion reads the Kubernetes version hack/tools/go.mod pins.
func sandboxK8sVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "hack", "tools", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "k8s.io/kubernetes" || (f[0] == "require" && len(f) == 3 && f[1] == "k8s.io/kubernetes")) {
			return f[len(f)-1]
		}
	}
	t.Fatal("hack/tools/go.mod pins no k8s.io/kubernetes")
	return ""
}
