// Package simtest builds the crimig-sim binary and host roots for tests.
package simtest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim"
	"github.com/crimig/kubectl-crimig/test/sim/rootfs"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binary builds crimig-sim once per test process and returns its path and
// the directory holding the `nsenter` link to it.
func Binary(t testing.TB) (bin, nsenter string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the node simulator needs root (chroot, mknod)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("busybox-static is not installed (apt-get install -y busybox-static)")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "crimig-sim-bin-")
		if buildErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "crimig-sim"), "./cmd/crimig-sim")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if buildErr = cmd.Run(); buildErr != nil {
			buildErr = &buildError{out.String(), buildErr}
			return
		}
		buildErr = os.Symlink("crimig-sim", filepath.Join(binDir, "nsenter"))
	})
	if buildErr != nil {
		t.Fatalf("build crimig-sim: %v", buildErr)
	}
	return filepath.Join(binDir, "crimig-sim"), filepath.Join(binDir, "nsenter")
}

// Main runs a test package's tests and removes the built binary after them;
// call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	return code
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// Root builds and boots a host root for fixture under a temp dir and returns
// its path. Processes left in it are killed at cleanup.
func Root(t testing.TB, fixture, name string) string {
	t.Helper()
	return root(t, fixture, name, false)
}

// ControlPlaneRoot is Root for a kubeadm control-plane node (add-node
// --control-plane): static pod manifests in /etc/kubernetes/manifests.
func ControlPlaneRoot(t testing.TB, fixture, name string) string {
	t.Helper()
	return root(t, fixture, name, true)
}

func root(t testing.TB, fixture, name string, controlPlane bool) string {
	t.Helper()
	bin, _ := Binary(t)
	hosts := t.TempDir()
	dir := filepath.Join(hosts, name)
	fixtures, err := fs.Sub(sim.Fixtures, "fixtures")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rootfs.Build(rootfs.Options{Fixtures: fixtures, Fixture: fixture, Dir: dir, Name: name, Self: bin, ControlPlane: controlPlane}); err != nil {
		t.Fatalf("build root: %v", err)
	}
	t.Cleanup(func() { KillAll(dir) })
	return dir
}

// Exec runs argv through the nsenter stub against root, the way kwok does
// for a crimig pod, and returns stdout, stderr and the exit code.
func Exec(t testing.TB, root, stdin string, argv ...string) (string, string, int) {
	t.Helper()
	_, nsenter := Binary(t)
	cmd := exec.Command(nsenter, append([]string{"-t", "1", "-m", "-u", "-i", "-n", "-p", "--"}, argv...)...)
	cmd.Env = append(os.Environ(), "CRIMIG_SIM_ROOT="+root, "CRIMIG_SIM_POD=crimig-test", "CRIMIG_SIM_NODE="+filepath.Base(root))
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run nsenter: %v", err)
	}
	return out.String(), errb.String(), code
}

// Sh runs a shell script in root and fails the test on a non-zero exit.
func Sh(t testing.TB, root, script string) string {
	t.Helper()
	out, errOut, code := Exec(t, root, "", "/bin/sh", "-c", script)
	if code != 0 {
		t.Fatalf("script failed (exit %d):\n%s\nstdout:\n%s\nstderr:\n%s", code, script, out, errOut)
	}
	return out
}

// Start runs argv through the nsenter stub in the background.
func Start(t testing.TB, root string, argv ...string) *exec.Cmd {
	t.Helper()
	_, nsenter := Binary(t)
	cmd := exec.Command(nsenter, append([]string{"-t", "1", "-m", "-u", "-i", "-n", "-p", "--"}, argv...)...)
	cmd.Env = append(os.Environ(), "CRIMIG_SIM_ROOT="+root, "CRIMIG_SIM_POD=crimig-test")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	return cmd
}

// Eventually polls cond until it holds or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Console runs a shell script on the node's console (chrooted, in its own
// session, not an exec: it survives the runtime's stop) and returns its
// combined output.
func Console(t testing.TB, root, script string) string {
	t.Helper()
	bin, _ := Binary(t)
	out, err := exec.Command(bin, "console", root, "/bin/sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("console script failed: %v\n%s\noutput:\n%s", err, script, out)
	}
	return string(out)
}
