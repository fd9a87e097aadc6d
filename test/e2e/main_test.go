package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// sandboxUpTimeout bounds hack/sandbox-up.sh; a cold tool build is longer and
// belongs in hack/build-sandbox-tools.sh, run before the tests.
const sandboxUpTimeout = 20 * time.Minute

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	started, err := ensureSandbox()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: the sandbox cluster is not available: %v\n", err)
		return 1
	}
	code := m.Run()
	if started && os.Getenv("CRIMIG_E2E_KEEP") != "1" {
		if err := runScript(5*time.Minute, "hack/sandbox-down.sh"); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping the sandbox: %v\n", err)
			code = 1
		}
	} else if started {
		fmt.Fprintf(os.Stderr, "e2e: CRIMIG_E2E_KEEP=1, sandbox left running; stop it with hack/sandbox-down.sh\n")
	}
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	return code
}

// ensureSandbox reuses a running sandbox or starts one; it reports whether
// it started it, so that only that one is torn down.
func ensureSandbox() (bool, error) {
	if sandboxReady() == nil {
		fmt.Fprintf(os.Stderr, "e2e: reusing the running sandbox (%s)\n", SandboxDir())
		return false, nil
	}
	fmt.Fprintf(os.Stderr, "e2e: starting the sandbox with hack/sandbox-up.sh\n")
	if err := runScript(sandboxUpTimeout, "hack/sandbox-up.sh"); err != nil {
		return true, fmt.Errorf("hack/sandbox-up.sh: %w (logs in %s)", err, filepath.Join(SandboxDir(), "logs"))
	}
	if err := sandboxReady(); err != nil {
		return true, fmt.Errorf("hack/sandbox-up.sh finished but the API server is not ready: %w", err)
	}
	return true, nil
}

// sandboxReady checks that the admin kubeconfig exists and the API server
// answers /readyz through it.
func sandboxReady() error {
	if _, err := os.Stat(Kubeconfig()); err != nil {
		return err
	}
	out, err := kubectlCommand(context.Background(), "get", "--raw", "/readyz").CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl get --raw /readyz: %w: %s", err, out)
	}
	return nil
}

// runScript runs a repo script with its output on our stderr, so progress
// shows up in go test -v.
func runScript(timeout time.Duration, script string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(), script), args...)
	cmd.Dir = RepoRoot()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s did not finish within %s", script, timeout)
	}
	return err
}
