package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
	users, err := useSandbox()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer users.Close()
	started, err := ensureSandbox()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: the sandbox cluster is not available: %v\n", err)
		return 1
	}
	code := m.Run()
	if started && !tearDown(users) {
		code = 1
	}
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	return code
}

// useSandbox takes a shared lock that every test run holds while it uses the
// sandbox, so that the run which started it does not pull it from under a
// concurrent run that reused it.
func useSandbox() (*os.File, error) {
	sum := sha256.Sum256([]byte(SandboxDir()))
	path := filepath.Join(os.TempDir(), fmt.Sprintf("crimig-sandbox-%x.users.lock", sum[:6]))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the sandbox users lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// tearDown stops the sandbox this run started, unless CRIMIG_E2E_KEEP=1 or
// another run is still using it; it reports false if stopping failed.
func tearDown(users *os.File) bool {
	if os.Getenv("CRIMIG_E2E_KEEP") == "1" {
		fmt.Fprintf(os.Stderr, "e2e: CRIMIG_E2E_KEEP=1, sandbox left running; stop it with hack/sandbox-down.sh\n")
		return true
	}
	if err := syscall.Flock(int(users.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: another test run is using the sandbox, leaving it running\n")
		return true
	}
	if err := runScript(5*time.Minute, io.Discard, "hack/sandbox-down.sh"); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: stopping the sandbox: %v\n", err)
		return false
	}
	return true
}

// ensureSandbox reuses a running sandbox or starts one; it reports whether
// it started it, so that only that one is torn down.
func ensureSandbox() (bool, error) {
	if sandboxReady() == nil {
		fmt.Fprintf(os.Stderr, "e2e: reusing the running sandbox (%s)\n", SandboxDir())
		return false, nil
	}
	fmt.Fprintf(os.Stderr, "e2e: starting the sandbox with hack/sandbox-up.sh\n")
	var out bytes.Buffer
	if err := runScript(sandboxUpTimeout, &out, "hack/sandbox-up.sh"); err != nil {
		return true, fmt.Errorf("hack/sandbox-up.sh: %w (logs in %s)", err, filepath.Join(SandboxDir(), "logs"))
	}
	if err := sandboxReady(); err != nil {
		return true, fmt.Errorf("hack/sandbox-up.sh finished but the API server is not ready: %w", err)
	}
	// A concurrent run may have started it between our check and the script.
	return !strings.Contains(out.String(), "sandbox already running"), nil
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
// shows up in go test -v, and also copied to capture.
func runScript(timeout time.Duration, capture io.Writer, script string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(), script), args...)
	cmd.Dir = RepoRoot()
	w := io.MultiWriter(os.Stderr, capture)
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s did not finish within %s", script, timeout)
	}
	return err
}
