package e2e

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

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// crimigTimeout bounds one run of the binary, so a hung exec fails the test
// instead of the whole suite.
const crimigTimeout = 5 * time.Minute

var (
	repoRootOnce sync.Once
	repoRoot     string

	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// RepoRoot is the root of the kubectl-crimig module (the directory holding
// hack/ and go.mod), found from this source file.
func RepoRoot() string {
	repoRootOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	})
	return repoRoot
}

// SandboxDir is where hack/sandbox-up.sh keeps its state; SANDBOX_DIR
// overrides it, as it does for the scripts (which run from the repo root, so
// a relative SANDBOX_DIR is relative to it).
func SandboxDir() string {
	if dir := os.Getenv("SANDBOX_DIR"); dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(RepoRoot(), dir)
		}
		return dir
	}
	return filepath.Join(RepoRoot(), ".sandbox")
}

// Kubeconfig is the sandbox's admin kubeconfig (system:masters).
func Kubeconfig() string {
	return filepath.Join(SandboxDir(), "kubeconfig")
}

// UserKubeconfig is the kubeconfig of one token-file user: crimig-planner,
// crimig-operator or nobody have no rights until a test binds them.
func UserKubeconfig(user string) string {
	return filepath.Join(SandboxDir(), "kubeconfigs", strings.TrimPrefix(user, "system:")+".kubeconfig")
}

// HostRoot is the simulated root filesystem of a node.
func HostRoot(node string) string {
	return filepath.Join(SandboxDir(), "hosts", node)
}

// AuditLog is the API server's audit log (level Metadata for every request).
func AuditLog() string {
	return filepath.Join(SandboxDir(), "logs", "audit.log")
}

// Clientset returns an admin client for the sandbox.
func Clientset(t testing.TB) *kubernetes.Clientset {
	t.Helper()
	return ClientsetAs(t, Kubeconfig())
}

// ClientsetAs returns a client for another kubeconfig, e.g. UserKubeconfig("nobody").
func ClientsetAs(t testing.TB, kubeconfig string) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("loading %s: %v", kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building a client for the sandbox: %v", err)
	}
	return cs
}

// KubectlBinary is the kubectl built with the sandbox (same version as the
// API server), as recorded by hack/sandbox-up.sh in SandboxDir()/env.
func KubectlBinary() string {
	if kubectl := SandboxEnv("KUBECTL"); kubectl != "" {
		return kubectl
	}
	return "kubectl-not-found-run-hack-sandbox-up.sh"
}

// SandboxEnv returns one KEY=value setting from SandboxDir()/env, the file
// hack/sandbox-up.sh writes for scripts and tests (KUBECTL, ports, paths);
// it returns "" when the key or the file is missing.
func SandboxEnv(key string) string {
	data, err := os.ReadFile(filepath.Join(SandboxDir(), "env"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k == key {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

func kubectlCommand(ctx context.Context, args ...string) *exec.Cmd {
	return kubectlCommandAs(ctx, Kubeconfig(), args...)
}

func kubectlCommandAs(ctx context.Context, kubeconfig string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, KubectlBinary(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// Kubectl runs the sandbox's kubectl as admin and returns its stdout; it
// fails the test, showing stderr, when kubectl fails.
func Kubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := TryKubectl(t, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// TryKubectl is Kubectl for commands that may fail: the error carries stderr.
func TryKubectl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return TryKubectlAs(t, Kubeconfig(), args...)
}

// TryKubectlAs runs kubectl with another kubeconfig, e.g.
// UserKubeconfig("crimig-planner"), for RBAC tests.
func TryKubectlAs(t testing.TB, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), crimigTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := kubectlCommandAs(ctx, kubeconfig, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// CrimigBinary builds ./cmd/kubectl-crimig once per test binary and returns
// its path. It is lazy so that sandbox-only tests run without the plugin.
func CrimigBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "crimig-e2e-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "kubectl-crimig")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/kubectl-crimig")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/kubectl-crimig: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("building the plugin: %v", binErr)
	}
	return binPath
}

// RunCrimig runs the built plugin against the sandbox as admin (KUBECONFIG is
// set) and returns its output and exit code. It fails the test only when the
// binary cannot be run at all or does not finish in time.
func RunCrimig(t testing.TB, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	return RunCrimigAs(t, Kubeconfig(), args...)
}

// RunCrimigAs is RunCrimig with another kubeconfig, e.g. UserKubeconfig("crimig-planner").
func RunCrimigAs(t testing.TB, kubeconfig string, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	bin := CrimigBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), crimigTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("kubectl crimig %s did not finish within %s\nstderr:\n%s", strings.Join(args, " "), crimigTimeout, errOut.String())
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		exitCode = exitErr.ExitCode()
	default:
		t.Fatalf("running kubectl crimig: %v", err)
	}
	return out.String(), errOut.String(), exitCode
}

// WaitFor polls cond every 200ms until it returns true, and fails the test
// after timeout. Errors from cond count as "not yet" (the API may be briefly
// unavailable); the last one is reported on timeout. Safe in t.Cleanup.
func WaitFor(t testing.TB, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok && err == nil {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s (last error: %v)", timeout, lastErr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
